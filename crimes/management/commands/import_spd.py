"""manage.py import_spd PATH [--dry-run]: a thin wrapper over the import service."""

from __future__ import annotations

import sys
import time

from django.core.management.base import BaseCommand, CommandError

from crimes.models import ImportRun
from crimes.services.importing import ImportFailed, import_file


class ProgressBar:
    """A plain text bar on stderr (no dependency); redrawn at most 10 times a second."""

    def __init__(self, stream=sys.stderr, width: int = 40):
        self.stream = stream
        self.width = width
        self.started = time.monotonic()
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._last < 0.1 and done < total:
            return
        self._last = now
        fraction = min(1.0, done / total) if total else 0.0
        filled = int(self.width * fraction)
        bar = "#" * filled + "-" * (self.width - filled)
        mib = done / 2**20
        self.stream.write(
            f"\r[{bar}] {fraction:6.1%} {mib:8.1f} MiB {now - self.started:6.1f}s"
        )
        self.stream.flush()

    def finish(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


def summary_table(run: ImportRun) -> str:
    rows = [
        ("file", run.file_name),
        ("format", run.file_format),
        ("dry run", "yes (nothing written)" if run.dry_run else "no"),
        ("rows read", run.rows_read),
        ("inserted", run.inserted),
        ("updated", run.updated),
        ("unchanged", run.unchanged),
        ("rejected", run.rejected),
        ("  of stored: without location", run.without_location),
        ("seconds", f"{run.duration_seconds or 0:.1f}"),
    ]
    width = max(len(label) for label, _ in rows)
    lines = [f"{label:<{width}}  {value}" for label, value in rows]
    if run.rejected:
        lines.append(
            f"Rejected rows with line and reason: admin, import run #{run.pk} "
            "(or crimes_rejectedrow)."
        )
    return "\n".join(lines)


class Command(BaseCommand):
    help = (
        "Import an SPD crime file (portal CSV, 2025 NIBRS CSV or SODA JSON; "
        ".csv/.json, optionally .gz) into Incident. Idempotent: importing the same "
        "file again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="parse, validate and count, but write nothing to Incident",
        )

    def handle(self, *args, path: str, dry_run: bool, **options):
        bar = ProgressBar(self.stderr._out)
        try:
            run = import_file(path, dry_run=dry_run, progress=bar)
        except ImportFailed as exc:
            bar.finish()
            raise CommandError(f"import failed: {exc}") from None
        bar.finish()
        self.stdout.write(summary_table(run))
        accounted = run.inserted + run.updated + run.unchanged + run.rejected
        self.stdout.write(
            self.style.SUCCESS(
                f"{run.rows_read} rows read, {accounted} accounted for "
                f"(stored, unchanged or rejected)."
            )
        )
