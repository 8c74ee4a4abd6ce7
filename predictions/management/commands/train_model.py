from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from predictions.management.commands._args import iso_time
from predictions.services import training
from predictions.services.headline_metrics import headline
from predictions.services.training_presets import PRESETS


class Command(BaseCommand):
    help = (
        "Train a forecaster on incidents reported before --until (default: up to "
        "the newest report), "
        "backtest it against the baselines, register a model version and print its "
        "id and headline metrics. Runs in this process (the admin and the beat "
        "schedule use the Celery gpu queue instead)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--until",
            help="ISO time; naive = Seattle local (default: after the newest report)",
        )
        parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
        parser.add_argument(
            "--activate", action="store_true", help="make it the active version"
        )
        parser.add_argument(
            "--preset",
            default="default",
            choices=sorted(PRESETS),
            help="default (production), quick (demo: minutes on CPU), tiny (tests)",
        )
        parser.add_argument(
            "--quick", action="store_true", help="same as --preset quick"
        )
        parser.add_argument(
            "--config", default="{}", help="JSON overrides of the preset's config"
        )

    def handle(self, *args, **opts):
        until = iso_time(opts["until"], "--until") if opts["until"] else None
        if opts["device"] == "cuda":
            import torch

            if not torch.cuda.is_available():
                raise CommandError("--device cuda: no CUDA device is available here")
        try:
            config = json.loads(opts["config"])
            if not isinstance(config, dict):
                raise ValueError("not an object")
        except ValueError as exc:
            raise CommandError(f"--config must be a JSON object: {exc}") from None
        preset = "quick" if opts["quick"] else opts["preset"]
        try:
            run = training.create_run(
                until=until,
                device=opts["device"],
                activate=opts["activate"],
                preset=preset,
                config=config,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"training run {run.pk}: until {run.until.isoformat()}")
        if run.message:
            self.stdout.write(run.message)
        try:
            version = training.execute(run.pk)
        except Exception as exc:
            raise CommandError(f"training run {run.pk} failed: {exc}") from exc
        self.stdout.write(
            f"model version {version.pk} ({version.kind}, {version.device}, "
            f"{version.training_seconds:.0f}s fit)"
            + (" ACTIVE" if opts["activate"] else "")
        )
        if version.notes:
            self.stdout.write(f"note: {version.notes}")
        for key, value in headline(version).items():
            shown = f"{value:.4f}" if isinstance(value, float) else value
            self.stdout.write(f"  {key}: {shown}")
        self.stdout.write(str(version.pk))
