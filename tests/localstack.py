"""Throwaway local services for fault tests, probes and load benchmarks.

A PostgreSQL cluster and a Redis server of their own (on free ports, in temporary
folders), gunicorn, a Celery worker and beat: each is a process this module started,
in its own process group, and stops again. Nothing here touches the PostgreSQL on
5432 or the Redis on 6379 that the developer, CI and the rest of the team use.

PostgreSQL refuses to run as root, so as root (CI containers) the cluster runs as the
``postgres`` system user that the Debian package creates (``runuser``).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
# A key that passes the production checks; only for these throwaway deployments.
LOCAL_SECRET_KEY = "localstack-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def wait_until(predicate, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"{what}: not within {timeout:.0f}s")


class Proc:
    """A subprocess in its own session (so a stop reaches its children too)."""

    def __init__(self, args: list[str], env: dict, log: Path, cwd: Path = REPO):
        self.args = args
        self.log = log
        self._out = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (a Celery worker and its children)."""
        try:
            os.killpg(self.popen.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self, timeout: float = 15) -> None:
        if self.alive():
            self.kill(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill(signal.SIGKILL)
                self.popen.wait(timeout=5)
        else:
            self.kill(signal.SIGKILL)  # stray children of a dead leader
        self._out.close()

    def tail(self, chars: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


# --- Redis -----------------------------------------------------------------------


class OwnRedis:
    """A redis-server on a free port, no persistence of its own; stop() and start()
    again (``stop(keep_data=True)``: back with the same keys). ``conf``: a
    configuration file (docker/redis/*.conf); ``config``: options over it, e.g.
    ``{"maxmemory": "8mb"}``."""

    def __init__(
        self,
        workdir: Path,
        port: int | None = None,
        conf: Path | None = None,
        config: dict | None = None,
    ):
        self.port = port or free_port()
        self.conf = conf
        self.config = dict(config or {})
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc: Proc | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> OwnRedis:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (scripts/setup.sh)")
        self.proc = Proc(
            [
                binary,
                *([str(self.conf)] if self.conf else []),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
                *(arg for k, v in self.config.items() for arg in (f"--{k}", v)),
            ],
            dict(os.environ),
            self.workdir / "redis.log",
        )
        wait_until(lambda: port_open(self.port), 20, f"redis on {self.port}")
        return self

    def stop(self, keep_data: bool = False) -> None:
        """Stop the server. ``keep_data``: write its keys to disk first, so the next
        start() comes back with them (a restart with persistence, or a network blip);
        otherwise the next start() is empty."""
        dump = self.workdir / "dump.rdb"
        if self.proc is not None:
            if keep_data:
                import redis

                # SHUTDOWN SAVE: the server writes dump.rdb, which start() loads.
                redis.Redis.from_url(self.url()).shutdown(save=True)
                self.proc.popen.wait(timeout=20)
            self.proc.stop()
            self.proc = None
        wait_until(lambda: not port_open(self.port), 20, f"redis {self.port} down")
        if not keep_data:
            dump.unlink(missing_ok=True)


# --- PostgreSQL --------------------------------------------------------------------


def _pg_bindir() -> Path:
    def version(initdb: Path) -> int:
        name = initdb.parent.parent.name
        return int(name) if name.isdigit() else 0

    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=version)
    if not versions:
        found = shutil.which("initdb")
        if found is None:
            raise RuntimeError("PostgreSQL server binaries (initdb) are not installed")
        return Path(found).resolve().parent
    return versions[-1].parent


def _as_db_owner(args: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


class OwnPostgres:
    """A PostgreSQL cluster of its own: initdb in a temporary folder, a free port,
    trust authentication for ``postgres`` on 127.0.0.1 only, no fsync (throwaway)."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.bindir = _pg_bindir()
        # Not under a root-only pytest tmp folder: the server user must reach it.
        self.root = Path(tempfile.mkdtemp(prefix="cp-own-pg-"))
        self.datadir = self.root / "data"
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self.log = self.root / "server.log"
        self.running = False

    def url(self, dbname: str, scheme: str = "postgis") -> str:
        return f"{scheme}://postgres@127.0.0.1:{self.port}/{dbname}"

    def _run(self, *args: str, timeout: float = 120) -> str:
        result = subprocess.run(
            _as_db_owner(list(args)),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
            )
        return result.stdout

    def init(self) -> OwnPostgres:
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.datadir),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
        )
        return self

    def start(self) -> OwnPostgres:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c shared_buffers=32MB -c max_connections=60"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.datadir),
            "-l",
            str(self.log),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )
        self.running = True
        return self

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server; "immediate" is what a crash looks like to clients."""
        if not self.running:
            return
        pg_ctl = str(self.bindir / "pg_ctl")
        self._run(pg_ctl, "-D", str(self.datadir), "-m", mode, "-w", "stop")
        self.running = False

    def psql(self, dbname: str, sql: str) -> str:
        return self._run(
            str(self.bindir / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            dbname,
            "-v",
            "ON_ERROR_STOP=1",
            "-qAtc",
            sql,
        )

    def create_database(self, name: str) -> str:
        self.psql("postgres", f"CREATE DATABASE {name}")
        self.psql(
            name, "CREATE EXTENSION postgis; CREATE EXTENSION IF NOT EXISTS pg_trgm"
        )
        return self.url(name)

    def destroy(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


# --- the site's processes ---------------------------------------------------------


def site_env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """The environment of a local production-mode deployment (plain HTTP)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST", "DJANGO_ALLOW_ASYNC"))
        # Both default to REDIS_URL; a caller that wants them apart names them.
        and k not in {"CACHE_REDIS_URL", "CELERY_BROKER_URL"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="crimepredict_site.settings",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SECRET_KEY=env.get("SECRET_KEY") or LOCAL_SECRET_KEY,
        DEBUG="0",
        HTTPS="0",
        STATIC_MANIFEST="0",
        MAP_TILES_URL="",
        OMP_NUM_THREADS="1",
        PYTHONUNBUFFERED="1",
    )
    if len(env["SECRET_KEY"]) < 50:
        env["SECRET_KEY"] = LOCAL_SECRET_KEY
    env.update(extra)
    return env


GUNICORN_CONF = REPO / "crimepredict_site" / "gunicorn.conf.py"


def layout(workers: int | None, threads: int | None) -> str:
    """The web server's layout in words (None: the deployed default)."""
    workers = int(os.environ.get("WEB_WORKERS", "2")) if workers is None else workers
    threads = int(os.environ.get("WEB_THREADS", "12")) if threads is None else threads
    if threads:
        return f"{workers} gthread workers x {threads} threads"
    return f"{workers} sync workers"


def gunicorn(
    env: dict,
    port: int,
    log: Path,
    workers: int | None = 2,
    timeout: int = 60,
    threads: int | None = 0,
    code: Path = REPO,
) -> Proc:
    """gunicorn with the deployed configuration (crimepredict_site/gunicorn.conf.py);
    ``workers`` and ``threads`` override it (None: as deployed; threads 0: sync
    workers, the layout these probes and tests were written against); ``code``:
    the checkout to serve (a benchmark's "before")."""
    env = dict(env)
    if workers is not None:
        env["WEB_WORKERS"] = str(workers)
    if threads is not None:
        env["WEB_THREADS"] = str(threads)
    proc = Proc(
        [
            PYTHON,
            "-m",
            "gunicorn",
            "-c",
            str(GUNICORN_CONF),
            "crimepredict_site.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "--timeout",
            str(timeout),
            "--graceful-timeout",
            "5",
        ],
        env,
        log,
        cwd=code,
    )
    try:
        wait_until(lambda: port_open(port) or not proc.alive(), 60, "gunicorn")
    finally:
        if not proc.alive():
            raise RuntimeError(f"gunicorn exited:\n{proc.tail()}")
    return proc


def celery_worker_argv(queues: str = "default,gpu", name: str = "local") -> list[str]:
    """The one way tests start a worker: one child process, replaced after every task
    (so a task that is killed takes nothing else with it), no gossip or mingle (a
    lone worker needs neither, and they slow its start)."""
    return [
        PYTHON,
        "-m",
        "celery",
        "-A",
        "crimepredict_site",
        "worker",
        "-Q",
        queues,
        "-c",
        "1",
        "--pool",
        "prefork",
        "--max-tasks-per-child",
        "1",
        "-n",
        f"{name}-{os.getpid()}@%h",
        "--loglevel",
        "INFO",
        "--without-gossip",
        "--without-mingle",
    ]


def celery_worker(
    env: dict, log: Path, queues: str = "default,gpu", name: str = "local"
) -> Proc:
    proc = Proc(celery_worker_argv(queues, name), env, log)
    wait_until(
        lambda: b"ready." in log.read_bytes() or not proc.alive(), 90, "celery worker"
    )
    if not proc.alive():
        raise RuntimeError(f"celery worker exited:\n{proc.tail()}")
    return proc


def celery_beat(env: dict, log: Path, schedule: Path) -> Proc:
    return Proc(
        [
            PYTHON,
            "-m",
            "celery",
            "-A",
            "crimepredict_site",
            "beat",
            "--loglevel",
            "INFO",
            "-s",
            str(schedule),
        ],
        env,
        log,
    )


def manage(env: dict, *args: str, timeout: float = 600) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        )
    return result.stdout
