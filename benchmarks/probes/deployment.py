"""A local deployment to probe: gunicorn (2 workers), a Celery worker (and beat), on
the database in DATABASE_URL and a Redis server of its own (so a probe may stop it).

With ``own_postgres=True`` the database is first copied (pg_dump | pg_restore) into a
PostgreSQL cluster of its own on another port, so a probe may stop that too. The
shared PostgreSQL on 5432 and Redis on 6379 are never stopped.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests import localstack

DEFAULT_DATABASE_URL = "postgis://crimepredict:crimepredict@127.0.0.1:5432/crimepredict"
ADMIN_USER = "probe-admin"
ADMIN_PASSWORD = "probe-admin-password-8c1f"  # noqa: S105 - throwaway local user


@dataclass
class Deployment:
    database_url: str = field(
        default_factory=lambda: os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    port: int = 0
    workers: int = 2
    # 0: sync workers (the layout issue 10's probes were written against); None: the
    # deployed layout (crimepredict_site/gunicorn.conf.py).
    threads: int | None = 0
    own_postgres: bool = False
    beat: bool = False
    celery: bool = True
    extra_env: dict = field(default_factory=dict)

    def __post_init__(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="cp-probe-"))
        self.port = self.port or localstack.free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        # Uploads that Django spools to disk land here, so a probe can measure them.
        self.upload_tmp = self.tmp / "tmp"
        self.upload_tmp.mkdir()
        self.redis = localstack.OwnRedis(self.tmp / "redis")
        self.pg: localstack.OwnPostgres | None = None
        self.procs: dict[str, localstack.Proc] = {}

    # --- lifecycle ---------------------------------------------------------------
    def __enter__(self) -> Deployment:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        self.redis.start()
        if self.own_postgres:
            self.pg = localstack.OwnPostgres().init().start()
            self.pg.psql("postgres", "CREATE DATABASE probe")
            source = self.database_url.replace("postgis://", "postgresql://", 1)
            dump = subprocess.Popen(["pg_dump", "-Fc", source], stdout=subprocess.PIPE)
            subprocess.run(
                [
                    "pg_restore",
                    "--no-owner",
                    "-d",
                    self.pg.url("probe", scheme="postgresql"),
                ],
                stdin=dump.stdout,
                check=False,
                capture_output=True,
            )
            dump.wait()
            self.database_url = self.pg.url("probe")
        self.env = localstack.site_env(
            self.database_url,
            self.redis.url(0),
            MEDIA_ROOT=str(self.tmp / "media"),
            ARTIFACTS_DIR=os.environ.get("ARTIFACTS_DIR", str(self.tmp / "artifacts")),
            TMPDIR=str(self.upload_tmp),
            LOG_LEVEL="WARNING",
            **self.extra_env,
        )
        localstack.manage(
            self.env,
            "shell",
            "-c",
            "from django.contrib.auth import get_user_model; U = get_user_model(); "
            f"u = U.objects.filter(username='{ADMIN_USER}').first() or "
            f"U.objects.create_superuser('{ADMIN_USER}', 'probe@localhost', "
            f"'{ADMIN_PASSWORD}'); u.set_password('{ADMIN_PASSWORD}'); u.save()",
        )
        self.procs["web"] = localstack.gunicorn(
            self.env,
            self.port,
            self.tmp / "web.log",
            workers=self.workers,
            threads=self.threads,
        )
        if self.celery:
            self.start_worker()
        if self.beat:
            self.procs["beat"] = localstack.celery_beat(
                self.env, self.tmp / "beat.log", self.tmp / "beat-schedule"
            )
        localstack.wait_until(lambda: self.get("/").status_code == 200, 60, "site up")

    def start_worker(self, queues: str = "default,gpu") -> localstack.Proc:
        self.procs["worker"] = localstack.celery_worker(
            self.env, self.tmp / f"worker-{time.time():.0f}.log", queues, "probe"
        )
        return self.procs["worker"]

    def stop(self) -> None:
        for name in list(self.procs):
            self.procs.pop(name).stop()
        try:
            self.redis.stop()
        except Exception:  # noqa: BLE001 - best effort on the way out
            pass
        if self.pg is not None:
            self.pg.destroy()
            self.pg = None

    # --- requests ---------------------------------------------------------------
    def get(self, path: str, timeout: float = 30, **kwargs) -> requests.Response:
        return requests.get(self.base + path, timeout=timeout, **kwargs)

    def admin_session(self) -> requests.Session:
        session = requests.Session()
        session.get(self.base + "/admin/login/", timeout=30)
        response = session.post(
            self.base + "/admin/login/?next=/admin/",
            data={
                "username": ADMIN_USER,
                "password": ADMIN_PASSWORD,
                "csrfmiddlewaretoken": session.cookies.get("csrftoken", ""),
                "next": "/admin/",
            },
            headers={"Referer": self.base + "/admin/login/"},
            timeout=30,
        )
        if "sessionid" not in session.cookies:
            raise RuntimeError(f"admin login failed: HTTP {response.status_code}")
        return session

    def shell(self, code: str) -> str:
        """Run Python in `manage.py shell`; its last line of output."""
        lines = localstack.manage(self.env, "shell", "-c", code).strip().splitlines()
        return lines[-1] if lines else ""

    def temp_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.upload_tmp.rglob("*") if p.is_file())
