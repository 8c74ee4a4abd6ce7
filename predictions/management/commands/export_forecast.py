from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.local_time import SEATTLE
from predictions.management.commands._args import category, hours, iso_time
from predictions.services.forecast_store import NoForecast, load_forecast


class Command(BaseCommand):
    help = (
        "Write precomputed forecasts as CSV: cell_id,hour_start,expected_count "
        "(hour_start ISO 8601 with its UTC offset, Seattle local; expected incidents "
        "in that cell in that hour)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--start", required=True, help="ISO; naive = Seattle")
        parser.add_argument("--hours", type=int, required=True)
        parser.add_argument("--out", required=True)
        parser.add_argument("--model", type=int, help="model version (default active)")
        parser.add_argument(
            "--category", default="all", help="all (default), person or property"
        )

    def handle(self, *args, **opts):
        start = iso_time(opts["start"], "--start")
        n_hours = hours(opts["hours"])
        cat = category(opts["category"])
        out = Path(opts["out"])
        if not out.parent.is_dir():
            raise CommandError(f"--out: folder {out.parent} does not exist")
        try:
            week = load_forecast(cat, start, n_hours, opts["model"])
        except NoForecast as exc:
            raise CommandError(str(exc)) from None
        if week.hours < n_hours:
            missing = week.hour_starts[-1].astimezone(SEATTLE).isoformat()
            raise CommandError(
                f"only {week.hours} of {n_hours} hours are precomputed (last: "
                f"{missing}); run precompute_forecasts for the rest"
            )
        ids = [str(int(c)) for c in week.cell_ids]
        with out.open("w", newline="") as fh:
            fh.write("cell_id,hour_start,expected_count\n")
            for hour_start, row in zip(week.hour_starts, week.values, strict=True):
                stamp = hour_start.astimezone(SEATTLE).isoformat()
                fh.write(
                    "".join(
                        f"{cid},{stamp},{v:.6g}\n"
                        for cid, v in zip(ids, row.tolist(), strict=True)
                    )
                )
        self.stdout.write(
            f"{week.hours * len(ids)} rows ({week.hours} h x {len(ids)} cells, "
            f"model version {week.model_version_id}) -> {out}"
        )
