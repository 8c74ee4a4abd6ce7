from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from predictions.management.commands._args import hours, iso_time
from predictions.services import forecasting


class Command(BaseCommand):
    help = (
        "Forecast the hours [start, start + hours) with a model version (default: the "
        "active one) using only incidents reported before start, and store the rows "
        "(a rerun replaces them)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--start", help="ISO time (default: the current hour)")
        parser.add_argument("--hours", type=int, default=168)
        parser.add_argument("--model", type=int, help="model version id")

    def handle(self, *args, **opts):
        start = iso_time(opts["start"], "--start") if opts["start"] else None
        try:
            run = forecasting.create_run(
                start=start, hours=hours(opts["hours"]), model_version_id=opts["model"]
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        try:
            run = forecasting.execute(run.pk)
        except Exception as exc:
            raise CommandError(f"forecast run {run.pk} failed: {exc}") from exc
        self.stdout.write(
            f"forecast run {run.pk}: version {run.model_version_id}, "
            f"{run.start.isoformat()} + {run.hours} h, {run.n_cells} cells, "
            f"{run.rows_written} rows in {run.seconds:.2f}s "
            f"({run.rows_written / max(run.seconds, 1e-9):.0f} rows/s)"
        )
