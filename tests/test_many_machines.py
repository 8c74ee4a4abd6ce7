"""More than one machine (issue 16): web, trainer and forecast worker share PostgreSQL
and Redis only, never a disk.

Each process gets its own ARTIFACTS_DIR, MEDIA_ROOT, upload and temporary folders, as
if on three machines (and a fourth, "ops", that migrates and starts the training):
an SPD file uploaded through the admin is imported by the default-queue worker, a
tiny model trained by the `gpu` worker, its forecast computed by the default-queue
worker and served by the web. A PostgreSQL cluster and a Redis of their own
(tests/localstack.py). Cost: about two minutes on a quiet 2-core machine.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import psycopg
import pytest
import requests

from core.local_time import SEATTLE
from tests import localstack
from tests.spd_rows import read_portal_rows, reported_between, write_portal_csv

pytestmark = pytest.mark.worker
ADMIN = ("machines-admin", "machines-admin-password-7f1d")
UNTIL = datetime(2021, 11, 1, tzinfo=SEATTLE)
TRAIN = """
from datetime import datetime
from core.local_time import SEATTLE
from predictions.services import training
from predictions.tasks import train_model
run = training.create_run(
    until=datetime(2021, 11, 1, tzinfo=SEATTLE), preset="tiny", activate=True,
    config={"_backtest_weeks": 0},
)
train_model.delay(run.pk)
print(run.pk)
"""
FORECAST = """
from datetime import datetime
from core.local_time import SEATTLE
from predictions.services import forecasting
from predictions.tasks import precompute_forecasts
run = forecasting.create_run(start=datetime(2021, 11, 1, tzinfo=SEATTLE), hours=24)
precompute_forecasts.delay(run.pk)
print(run.pk)
"""


def _files(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_upload_import_train_forecast_and_serve_across_three_machines(tmp_path):
    pg = localstack.OwnPostgres()
    redis = localstack.OwnRedis(tmp_path / "redis")
    procs: list[localstack.Proc] = []
    try:
        pg.init().start()
        url = pg.create_database("machines")
        redis.start()

        def machine(name: str, **extra: str) -> tuple[dict, dict]:
            home = tmp_path / name
            dirs = {
                key: home / key
                for key in ("MEDIA_ROOT", "ARTIFACTS_DIR", "UPLOAD_TEMP_DIR", "TMPDIR")
            }
            for folder in dirs.values():
                folder.mkdir(parents=True)
            env = localstack.site_env(
                url,
                redis.url(0),
                **{k: str(v) for k, v in dirs.items()},
                API_ANON_RATE="100000/minute",
                LOG_LEVEL="INFO",
                **extra,
            )
            return env, dirs

        ops, _ = machine("ops")
        web_env, web = machine("web")
        trainer_env, trainer = machine("trainer")
        worker_env, worker = machine("worker")
        localstack.manage(ops, "migrate", "--noinput")
        localstack.manage(
            ops,
            "shell",
            "-c",
            "from django.contrib.auth import get_user_model; get_user_model()"
            f".objects.create_superuser('{ADMIN[0]}', 'a@localhost', '{ADMIN[1]}')",
        )
        port = localstack.free_port()
        procs.append(localstack.gunicorn(web_env, port, tmp_path / "web.log"))
        procs.append(
            localstack.celery_worker(trainer_env, tmp_path / "trainer.log", "gpu", "t")
        )
        procs.append(
            localstack.celery_worker(worker_env, tmp_path / "worker.log", "default")
        )
        base = f"http://127.0.0.1:{port}"

        def sql(query: str, params=()) -> list[tuple]:
            with psycopg.connect(pg.url("machines", scheme="postgresql")) as conn:
                return conn.execute(query, params).fetchall()

        def finished(table: str, run_id: int, timeout: float) -> tuple:
            localstack.wait_until(
                lambda: (
                    sql(f"SELECT status FROM {table} WHERE id = %s", [run_id])[0][0]
                    in ("succeeded", "failed")
                ),
                timeout,
                f"{table} {run_id}",
                interval=0.5,
            )
            return sql(f"SELECT status, error FROM {table} WHERE id = %s", [run_id])[0]

        # 1. Upload through the admin (web), import on the worker.
        autumn = reported_between(datetime(2021, 9, 15, tzinfo=SEATTLE), UNTIL)
        upload = write_portal_csv(
            tmp_path / "autumn_2021.csv", read_portal_rows(keep=autumn)
        )
        session = requests.Session()
        login = base + "/admin/login/"
        session.get(login, timeout=30)
        session.post(
            login,
            data={
                "username": ADMIN[0],
                "password": ADMIN[1],
                "csrfmiddlewaretoken": session.cookies["csrftoken"],
            },
            headers={"Referer": login},
            timeout=30,
        )
        add = base + "/admin/crimes/importrun/add/"
        with upload.open("rb") as fh:
            response = session.post(
                add,
                data={"csrfmiddlewaretoken": session.cookies["csrftoken"]},
                files={"upload": (upload.name, fh)},
                headers={"Referer": add},
                timeout=60,
                allow_redirects=False,
            )
        assert response.status_code == 302, response.text[:500]
        import_id = sql("SELECT max(id) FROM crimes_importrun")[0][0]
        assert finished("crimes_importrun", import_id, 180) == ("succeeded", "")
        assert sql("SELECT count(*) FROM crimes_incident")[0][0] > 5000

        # 2. Train on the trainer (started from a fourth machine).
        train_id = int(localstack.manage(ops, "shell", "-c", TRAIN).split()[-1])
        status, error = finished("predictions_trainingrun", train_id, 300)
        assert status == "succeeded", error
        name, size, sha = sql(
            "SELECT v.checkpoint, f.size, f.sha256 FROM predictions_modelversion v"
            " JOIN core_storedfile f ON f.name = v.checkpoint WHERE v.is_active"
        )[0]

        # 3. Forecast on the worker, which fetches the checkpoint from PostgreSQL.
        forecast_id = int(localstack.manage(ops, "shell", "-c", FORECAST).split()[-1])
        status, error = finished("predictions_forecastrun", forecast_id, 180)
        assert status == "succeeded", error
        fetched = worker["ARTIFACTS_DIR"] / "checkpoints" / f"{sha}.pt"
        assert fetched.stat().st_size == size
        assert hashlib.sha256(fetched.read_bytes()).hexdigest() == sha

        # 4. Served by the web.
        answer = requests.get(
            base + "/api/v1/forecasts/",
            params={"start": "2021-11-01T00:00", "hours": 24},
            timeout=60,
        )
        assert answer.status_code == 200, answer.text[:300]
        assert answer.json()["forecast_run"] == forecast_id

        # No file went through a disk: the upload and the checkpoint are nowhere but
        # in PostgreSQL and the worker's checkpoint cache.
        for dirs in (web, trainer, worker):
            assert _files(dirs["MEDIA_ROOT"]) == []
            assert _files(dirs["UPLOAD_TEMP_DIR"]) == []
        assert _files(web["ARTIFACTS_DIR"]) == []
        assert _files(trainer["ARTIFACTS_DIR"]) == []
        assert _files(worker["ARTIFACTS_DIR"]) == [f"checkpoints/{sha}.pt"]
        assert name.startswith("models/") and name.endswith(".pt")
        assert [f for f in _files(worker["TMPDIR"]) if f.startswith("cp-")] == []
        stored = sql("SELECT name FROM core_storedfile ORDER BY name")
        assert [n for (n,) in stored if n.startswith("imports/")] != []
    finally:
        for proc in procs:
            proc.stop()
        try:
            redis.stop()
        finally:
            pg.destroy()
