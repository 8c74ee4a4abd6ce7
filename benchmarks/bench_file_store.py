"""Files in PostgreSQL (core.file_store): speed and memory of a big upload.

Stores a file of --mb random megabytes the way an admin upload is stored (Django's
default storage from the upload's temporary file), fetches it back to a local file
(what an import worker does) and deletes it; the reference, in the same run, is a
plain copy of the same file on the local disk (what the site did before). Prints
seconds, MB/s, the ratio to the disk copy, and the process's peak resident memory
growth (ru_maxrss) in each step: the file never sits whole in memory.

    DATABASE_URL=postgis://postgres@127.0.0.1:5432/cp_h16b \\
        .venv/bin/python benchmarks/bench_file_store.py --mb 500
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crimepredict_site.settings")
os.environ.setdefault("DEBUG", "1")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.files.storage import default_storage
    from django.core.files.uploadedfile import TemporaryUploadedFile

    from core import file_store

    size = args.mb * 1024 * 1024
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "upload.csv"
        with open(source, "wb") as fh:
            for _ in range(args.mb):
                fh.write(os.urandom(1024 * 1024))
        rows = []
        start_peak = peak_mb()

        t0 = time.perf_counter()
        shutil.copyfile(source, Path(tmp) / "copy.csv")
        disk = time.perf_counter() - t0
        rows.append(("disk copy (reference)", disk, peak_mb() - start_peak))

        upload = TemporaryUploadedFile("upload.csv", "text/csv", size, None)
        upload.close()  # reopen the spooled file on our bytes
        upload.file = open(source, "rb")  # noqa: SIM115 - closed below
        before = peak_mb()
        t0 = time.perf_counter()
        name = default_storage.save("imports/bench/upload.csv", upload)
        rows.append(("store (upload)", time.perf_counter() - t0, peak_mb() - before))
        upload.file.close()

        before = peak_mb()
        t0 = time.perf_counter()
        with file_store.local_copy(name) as path:
            fetched = time.perf_counter() - t0
            assert path.stat().st_size == size
        rows.append(("fetch (import worker)", fetched, peak_mb() - before))

        t0 = time.perf_counter()
        default_storage.delete(name)
        rows.append(("delete", time.perf_counter() - t0, peak_mb() - before))

    load = os.getloadavg()
    print(f"{args.mb} MB, chunks of {file_store.CHUNK_BYTES // 1024} KiB, load {load}")
    print(f"{'step':24} {'s':>7} {'MB/s':>7} {'x disk':>7} {'peak RSS +MB':>13}")
    for step, seconds, grown in rows:
        print(
            f"{step:24} {seconds:7.2f} {args.mb / seconds:7.0f} "
            f"{seconds / disk:7.1f} {grown:13.0f}"
        )


if __name__ == "__main__":
    main()
