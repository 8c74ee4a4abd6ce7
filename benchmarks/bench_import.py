"""Import benchmark (issue 2, section 6).

Creates a scratch database, migrates it, then on the full 2012-2021 file
(679,727 rows, ../shared/data/spd/spd_crime_2012_2021.csv.gz):

1. the reference: a plain COPY of the same rows (the decompressed CSV streamed to
   ``COPY ... (FORMAT csv, HEADER)``) into an unindexed table of text columns, no
   validation; best of two runs;
2. the import through the import service (parse + validate in Python, COPY into a
   staging table, one upsert into the indexed Incident table);
3. the same import again (everything unchanged).

Prints rows/s, the ratio against the reference, the re-import time and the peak
memory (ru_maxrss) of this process; then drops the scratch database.
Targets: import >= 0.5x the reference's rows/s; re-import no slower than the import;
peak memory < 300 MB.

    .venv/bin/python benchmarks/bench_import.py [--keep] [--db cp_import_bench]
"""

from __future__ import annotations

import argparse
import gzip
import logging
import os
import resource
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DATA = (
    Path(os.environ.get("SHARED_DATA", REPO.parent / "shared" / "data"))
    / "spd/spd_crime_2012_2021.csv.gz"
)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="cp_import_bench")
    parser.add_argument("--keep", action="store_true", help="keep the scratch DB")
    parser.add_argument("--file", type=Path, default=DATA)
    args = parser.parse_args()

    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/x")
    url = urlparse(base)
    server = f"{url.scheme}://{url.netloc}"
    os.environ["DATABASE_URL"] = f"{server}/{args.db}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crimepredict_site.settings")
    os.environ.setdefault(
        "SECRET_KEY", "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
    )
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/2")
    os.environ.setdefault("LOG_LEVEL", "WARNING")

    import psycopg

    admin_dsn = f"postgresql://{url.netloc}/postgres"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.db}"')
        conn.execute(f'CREATE DATABASE "{args.db}"')

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from crimes.services.importing import import_file

    log = logging.getLogger("crimes.services.importing")
    log.setLevel(logging.INFO)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("    %(message)s"))
    log.addHandler(handler)
    log.propagate = False

    try:
        call_command("migrate", verbosity=0)
        print(f"file: {args.file} ({args.file.stat().st_size / 2**20:.1f} MiB gz)")
        print(
            f"scratch database: {args.db}; cores: {os.cpu_count()}, "
            f"load average: {os.getloadavg()[0]:.1f}"
        )
        print(f"memory after Django setup + migrate: {_peak_mb():.0f} MB")

        copy_times = []
        cols = ", ".join(f"c{i} text" for i in range(17))
        for _ in range(2):
            with connection.cursor() as cursor:
                cursor.execute("DROP TABLE IF EXISTS bench_raw_copy")
                cursor.execute(f"CREATE TABLE bench_raw_copy ({cols})")
                started = time.monotonic()
                with (
                    gzip.open(args.file, "rb") as f,
                    cursor.copy(
                        "COPY bench_raw_copy FROM STDIN (FORMAT csv, HEADER true)"
                    ) as copy,
                ):
                    while chunk := f.read(1 << 20):
                        copy.write(chunk)
                copy_times.append(time.monotonic() - started)
                cursor.execute("SELECT count(*) FROM bench_raw_copy")
                copied = cursor.fetchone()[0]
                cursor.execute("DROP TABLE bench_raw_copy")
        t_copy = min(copy_times)
        print(
            f"raw COPY (reference): {copied} rows in {t_copy:.2f}s = "
            f"{copied / t_copy:,.0f} rows/s (runs: "
            f"{', '.join(f'{t:.2f}s' for t in copy_times)})"
        )

        print("import:")
        started = time.monotonic()
        run = import_file(args.file)
        t_import = time.monotonic() - started
        accounted = run.inserted + run.updated + run.unchanged + run.rejected
        print(
            f"import: {run.rows_read} rows in {t_import:.2f}s = "
            f"{run.rows_read / t_import:,.0f} rows/s; inserted {run.inserted}, "
            f"rejected {run.rejected}, without location {run.without_location}; "
            f"accounted for {accounted}/{run.rows_read}"
        )
        print(
            f"ratio import / raw COPY (rows/s): {t_copy / t_import:.2f} (target >= 0.5)"
        )
        print("re-import:")
        started = time.monotonic()
        again = import_file(args.file)
        t_again = time.monotonic() - started
        print(
            f"re-import: {t_again:.2f}s ({again.unchanged} unchanged, "
            f"{again.inserted} inserted, {again.updated} updated); "
            f"re-import / import time: {t_again / t_import:.2f} (target <= 1)"
        )
        print(
            f"peak memory (ru_maxrss of this process): {_peak_mb():.0f} MB "
            "(target < 300 MB)"
        )
    finally:
        connection.close()
        if not args.keep:
            with psycopg.connect(admin_dsn, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{args.db}"')


if __name__ == "__main__":
    main()
