"""Forecast benchmark (issue 5): precompute speed and the forecast endpoint vs a static
file of the same bytes served by the same server, measured in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cp_full \
        .venv/bin/python benchmarks/bench_forecast.py [--start 2021-12-01T00:00] [-n 40]

Needs an active model version (train_model --activate).
1) precompute 168 hours for every cell and the three categories (time, rows/s);
2) start gunicorn (1 sync worker) with STATIC_ROOT holding a file with exactly the
endpoint's bytes, time warm requests of both, alternating, and report p50/p95 and the
throughput ratio endpoint/static (goal >= 0.5).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from benchmarks.common import percentile, timed_get  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crimepredict_site.settings")
os.environ.setdefault(
    "SECRET_KEY", "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
)
os.environ.setdefault("HTTPS", "0")
os.environ.setdefault("STATIC_MANIFEST", "0")
os.environ.setdefault("API_ANON_RATE", "1000000/minute")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str) -> tuple[float, int]:
    elapsed, body = timed_get(port, path, {"Host": "localhost"})
    return elapsed, len(body)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--start", default="2021-12-01T00:00")
    parser.add_argument("-n", type=int, default=40, help="requests per variant")
    args = parser.parse_args()

    import django

    django.setup()
    from datetime import datetime

    from django.db import connection

    from core.local_time import as_aware
    from predictions.services import forecasting
    from predictions.services.forecast_store import active_version

    version = active_version()
    if version is None:
        print("no active model version: run train_model --activate first")
        return 1
    start = as_aware(datetime.fromisoformat(args.start))
    print(
        f"database {connection.settings_dict['NAME']}, model version {version.pk} "
        f"({version.kind}), start {start.isoformat()}"
    )

    # 1) precompute: 168 h x every cell x 3 categories (the model is loaded first, so
    # this measures forecasting + writing, as a warm worker does every hour).
    forecasting.load_model(version)
    run = forecasting.create_run(start=start, hours=168, model_version_id=version.pk)
    t0 = time.perf_counter()
    run = forecasting.execute(run.pk)
    total = time.perf_counter() - t0
    values = run.rows_written * run.n_cells
    print(
        f"precompute: {run.rows_written} rows ({run.n_cells} cells x 168 h x 3 "
        f"categories) in {total:.2f}s = {run.rows_written / total:.0f} rows/s, "
        f"{values / total / 1e6:.2f} M cell-values/s"
    )

    # 2) endpoint vs static file of the same bytes, same gunicorn.
    from django.test import Client

    client = Client(HTTP_HOST="localhost")
    variants = {
        "compact float": f"/api/v1/forecasts/?start={args.start}&hours=168",
        "compact q8 (page)": f"/api/v1/forecasts/?start={args.start}&hours=168"
        "&encoding=q8",
    }
    static_dir = Path(tempfile.mkdtemp(prefix="bench_static_"))
    for i, path in enumerate(variants.values()):
        body = client.get(path).content
        (static_dir / f"same_bytes_{i}.json").write_bytes(body)
    port = free_port()
    env = dict(os.environ, STATIC_ROOT=str(static_dir), DEBUG="0", LOG_LEVEL="WARNING")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "crimepredict_site.wsgi",
            "-w",
            "1",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=REPO,
        env=env,
    )
    try:
        deadline = time.time() + 60
        while True:
            try:
                get(port, "/static/same_bytes_0.json")
                break
            except (OSError, RuntimeError):
                if time.time() > deadline:
                    raise
                time.sleep(0.3)
        for i, (name, path) in enumerate(variants.items()):
            static = f"/static/same_bytes_{i}.json"
            get(port, path)  # warm: the body is built and cached once per run
            api, stat = [], []
            size = 0
            for _ in range(args.n):
                dt, size = get(port, path)
                api.append(dt)
                dt, _ = get(port, static)
                stat.append(dt)
            ratio = statistics.mean(stat) / statistics.mean(api)
            api_p95, stat_p95 = percentile(api, 95) * 1000, percentile(stat, 95) * 1000
            print(
                f"endpoint [{name}] {size / 1e6:.2f} MB: p50 "
                f"{statistics.median(api) * 1000:.1f} ms, p95 {api_p95:.1f}"
                f" ms, {1 / statistics.mean(api):.1f} req/s | static same bytes: p50 "
                f"{statistics.median(stat) * 1000:.1f} ms, p95 "
                f"{stat_p95:.1f} ms, {1 / statistics.mean(stat):.1f} req/s"
                f" | throughput ratio endpoint/static {ratio:.2f} (goal >= 0.5)"
            )
    finally:
        server.terminate()
        server.wait(timeout=20)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
