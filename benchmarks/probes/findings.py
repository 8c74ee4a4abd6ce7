"""Probes of issue 10's findings against a live local deployment (deployment.py).

Each probe does what the finding says was done and returns what it saw, one
``Result`` per observation: what was sent, what came back, and whether that is the
answer the site must give. ``python -m benchmarks.probes.run`` runs them.
"""

from __future__ import annotations

import bz2
import concurrent.futures as futures
import csv as csvmod
import gzip
import io
import json
import math
import select
import socket
import subprocess
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import redis
import requests

from benchmarks.probes.deployment import Deployment
from tests import localstack

REPO = Path(__file__).resolve().parent.parent.parent
RATE = 600  # the deployment's API_ANON_RATE per minute (run.py sets it)


def _most(seconds: float) -> int:
    """The most the throttle may let one client through in `seconds`: no window of one
    minute holds more than RATE (core.throttling's sliding-window counter), so RATE
    for anything up to a minute (a fixed window: 2 x RATE around a boundary; GCRA,
    tried before, up to 2 x RATE - 1 after an idle spell)."""
    return RATE * max(1, math.ceil(seconds / 60))


YEAR = "start=2021-01-01&end=2021-12-31"
ROUTE = {"start": [-122.3331, 47.6097], "end": [-122.3035, 47.6553], "mode": "bike"}


@dataclass
class Result:
    finding: str
    observed: str
    ok: bool


def _flush(dep: Deployment) -> None:
    redis.Redis.from_url(dep.redis.url(0)).flushdb()


def _axes_reset(dep: Deployment) -> None:
    """Lift the admin login lockouts (best effort: a probe goes on without it)."""
    subprocess.run(
        [localstack.PYTHON, "manage.py", "axes_reset"],
        cwd=REPO,
        env=dep.env,
        capture_output=True,
        check=False,
    )


def reset(dep: Deployment) -> None:
    """Forget throttle counts and login lockouts left by an earlier probe."""
    _flush(dep)
    _axes_reset(dep)


def _status(
    dep: Deployment, method: str, path: str, timeout: float = 60, **kwargs
) -> int:
    try:
        response = requests.request(method, dep.base + path, timeout=timeout, **kwargs)
    except requests.RequestException as exc:
        return -1 if "timed out" not in str(exc) else -2
    return response.status_code


def _burst(dep: Deployment, paths: list[str], threads: int, headers=None) -> list[int]:
    def one(path: str) -> int:
        return _status(dep, "GET", path, headers=headers(path) if headers else None)

    with futures.ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, paths))


# --- rate limit ---------------------------------------------------------------------


def throttle(dep: Deployment) -> list[Result]:
    out = []
    _flush(dep)
    counter = iter(range(10**6))
    began = time.monotonic()
    codes = _burst(
        dep,
        ["/api/v1/meta/"] * 700,
        4,
        headers=lambda _p: {"X-Forwarded-For": f"10.9.{next(counter) % 250}.{7}"},
    )
    most = _most(time.monotonic() - began)
    passed = codes.count(200)
    out.append(
        Result(
            "throttle: 700 requests with made-up X-Forwarded-For",
            f"{passed} x 200, {codes.count(429)} x 429 (limit {RATE}/min: {most} "
            "in this time)",
            passed <= most,
        )
    )

    _flush(dep)
    history = [f"/api/v1/history/profile/?{YEAR}"] * RATE
    others = ["/api/v1/models/"] * RATE
    began = time.monotonic()
    codes = _burst(dep, history, 4) + _burst(dep, others, 4)
    most = _most(time.monotonic() - began)
    passed = codes.count(200)
    out.append(
        Result(
            "throttle: 600 history + 600 models/ requests (two buckets?)",
            f"{passed} of {len(codes)} got 200 (one bucket: at most {most})",
            passed <= most,
        )
    )

    _flush(dep)
    began = time.monotonic()
    codes = _burst(dep, ["/api/v1/models/"] * 1000, 8)
    most = _most(time.monotonic() - began)
    passed = codes.count(200)
    out.append(
        Result(
            "throttle: 8 threads, 1000 requests to models/ (race)",
            f"{passed} got 200 (at most {most})",
            passed <= most,
        )
    )

    _flush(dep)
    # Start 2 s before a minute boundary and send as fast as 8 threads can for 4 s.
    time.sleep((60 - time.time() % 60 - 2) % 60)
    began = time.monotonic()
    stop = began + 4
    results: list[int] = []
    lock = threading.Lock()

    def hammer():
        while time.monotonic() < stop:
            code = _status(dep, "GET", "/api/v1/meta/")
            with lock:
                results.append(code)

    workers = [threading.Thread(target=hammer) for _ in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    most = _most(time.monotonic() - began)
    passed = results.count(200)
    out.append(
        Result(
            "throttle: 4 s around a minute boundary",
            f"{passed} of {len(results)} got 200 (at most {most})",
            passed <= most,
        )
    )
    return out


# --- uploads ----------------------------------------------------------------------


BOUNDARY = "probe"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
MULTIPART_HEAD = (
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="f"; '
    'filename="a.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'
).encode()


def _early_reply(sock: socket.socket) -> bytes:
    """An answer the server sent before the body was complete (a 413), if any."""
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return b""
    try:
        return sock.recv(200)
    except OSError:
        return b""


def _send_body(
    port: int, path: str, total: int, send: int, content_type: str, stall_s: float
) -> tuple[int | None, float]:
    """Announce ``total`` bytes, send ``send`` of them, wait ``stall_s``, then read.

    Returns (status or None, seconds until the server answered or gave up)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=120)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {total}\r\nConnection: close\r\n\r\n"
    ).encode() + MULTIPART_HEAD
    t0 = time.monotonic()
    data = b""
    try:
        sock.sendall(head)
        chunk = b"x" * (1 << 20)
        sent = 0
        while sent < send and not data:
            piece = chunk[: min(len(chunk), send - sent)]
            sock.sendall(piece)
            sent += len(piece)
            data = _early_reply(sock)
        if not data:
            time.sleep(stall_s)
            sock.settimeout(10)
            data = sock.recv(200)
    except OSError:
        pass
    finally:
        sock.close()
    status = int(data.split()[1]) if data.startswith(b"HTTP/") else None
    return status, time.monotonic() - t0


# Longer than gunicorn's worker timeout (60 s): a worker killed mid-upload is what
# used to leave its temp file behind.
STALL_S = 70


def uploads(dep: Deployment, mb: int = 200, stall_mb: int = 50) -> list[Result]:
    out = []
    boundary = "probe"
    ctype = f"multipart/form-data; boundary={boundary}"
    peak = [0]
    done = threading.Event()

    def watch():
        while not done.is_set():
            peak[0] = max(peak[0], dep.temp_bytes())
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    # A well-formed multipart body: one file part of mb MB.
    sock = socket.create_connection(("127.0.0.1", dep.port), timeout=300)
    head_part = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="f"; '
        f'filename="a.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'
    ).encode()
    tail_part = f"\r\n--{boundary}--\r\n".encode()
    size = mb << 20
    total = len(head_part) + size + len(tail_part)
    t0 = time.monotonic()
    try:
        sock.sendall(
            (
                f"POST /api/v1/commutes/score/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Content-Type: {ctype}\r\nContent-Length: {total}\r\n"
                "Connection: close\r\n\r\n"
            ).encode()
            + head_part
        )
        chunk = b"y" * (1 << 20)
        reply = b""
        for _ in range(mb):
            sock.sendall(chunk)
            reply = _early_reply(sock)
            if reply:
                break
        if not reply:
            sock.sendall(tail_part)
            sock.settimeout(60)
            reply = sock.recv(200)
    except OSError as exc:
        reply = f"connection closed by server ({type(exc).__name__})".encode()
    finally:
        sock.close()
    elapsed = time.monotonic() - t0
    done.set()
    watcher.join()
    status = reply.split(b"\r\n")[0].decode(errors="replace")
    out.append(
        Result(
            f"uploads: {mb} MB multipart to commutes/score/",
            f"{status!r} after {elapsed:.1f}s; peak temp files {peak[0] >> 20} MB",
            peak[0] < (1 << 20) and " 5" not in status[:12],
        )
    )

    # Two clients announce and send stall_mb MB, then stall; can others get in?
    stalls = []
    for _ in range(2):
        thread = threading.Thread(
            target=lambda: stalls.append(
                _send_body(
                    dep.port,
                    "/api/v1/commutes/score/",
                    (stall_mb * 2) << 20,
                    stall_mb << 20,
                    ctype,
                    STALL_S,
                )
            )
        )
        thread.start()
    time.sleep(3)
    waits = []
    for _ in range(3):
        t0 = time.monotonic()
        code = _status(dep, "GET", "/", timeout=15)
        waits.append((code, time.monotonic() - t0))
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and thread.name != "MainThread":
            thread.join(timeout=STALL_S + 30)
    time.sleep(2)
    leftover = dep.temp_bytes()
    answered = all(code == 200 and t < 5 for code, t in waits)
    out.append(
        Result(
            f"uploads: 2 clients send {stall_mb} MB then stall {STALL_S} s",
            "GET / meanwhile: "
            + ", ".join(f"{c} in {t:.1f}s" for c, t in waits)
            + f"; stalled clients got {[s for s, _ in stalls]}"
            + f"; temp files left: {leftover >> 20} MB",
            answered and leftover < (1 << 20),
        )
    )
    return out


# --- 500s on input ----------------------------------------------------------------

HISTORY = [
    "/api/v1/incidents/",
    "/api/v1/history/grid/",
    "/api/v1/history/timeseries/",
    "/api/v1/history/profile/",
    "/api/v1/history/groups/",
    "/api/v1/areas/",
    "/api/v1/export/incidents.csv",
    "/api/v1/export/incidents.geojson",
    "/history/",
    "/history/area/beat/K1/",
]
POINT = "/api/v1/forecasts/point/?lat=47.61&lon=-122.33"
FORECASTS = "/api/v1/forecasts/"
GRID = "/api/v1/history/grid/"


def hostile_cases() -> list[tuple[str, str, str, dict]]:
    """(label, method, path, requests kwargs): the nasty inputs of the issue."""
    cases = [(f"dow=² on {p}", "GET", p + "?dow=%C2%B2", {}) for p in HISTORY]
    cases += [
        ("model=² on forecasts/", "GET", "/api/v1/forecasts/?model=%C2%B2", {}),
        ("model=² on forecasts/point/", "GET", POINT + "&model=%C2%B2", {}),
        ("model=10**20", "GET", "/api/v1/forecasts/?model=" + "9" * 20, {}),
        ("start=9999-12-31T23:00", "GET", FORECASTS + "?start=9999-12-31T23:00", {}),
        ("start=0001-01-01T00:00", "GET", FORECASTS + "?start=0001-01-01T00:00", {}),
        ("point start=9999", "GET", POINT + "&start=9999-12-31T23:00", {}),
        ("hours=10**400", "GET", "/api/v1/forecasts/?hours=" + "9" * 400, {}),
        ("lat=1e400", "GET", "/api/v1/forecasts/point/?lat=1e400&lon=-122.3", {}),
        ("q=NUL on places/", "GET", "/api/v1/places/?q=a%00b", {}),
        ("group=NUL", "GET", "/api/v1/history/grid/?group=%00", {}),
        ("category=NUL on forecasts/", "GET", "/api/v1/forecasts/?category=%00", {}),
        ("hour_from=٣ (Arabic-Indic 3)", "GET", GRID + "?hour_from=%D9%A3", {}),
        ("page=10**400", "GET", "/api/v1/incidents/?page=" + "9" * 400, {}),
    ]
    deep = "[" * 1000 + "]" * 1000
    body = [
        ("deep JSON (1,000 levels)", deep),
        (
            "400-digit integer as a coordinate",
            '{"start": [' + "9" * 400 + ', 47.6], "end": [-122.30, 47.65]}',
        ),
        ("NUL in mode", json.dumps({**ROUTE, "mode": "walk\u0000"})),
        ("100 KB string as mode", json.dumps({**ROUTE, "mode": "w" * 100_000})),
        ("40 KB string as mode", json.dumps({**ROUTE, "mode": "w" * 40_000})),
        ("not JSON", "{"),
        ("JSON null", "null"),
        ("NaN coordinate", '{"start": [NaN, 47.6], "end": [-122.30, 47.65]}'),
        ("window of numbers", json.dumps({**ROUTE, "window": {"start": 7}})),
        ("days of objects", json.dumps({**ROUTE, "window": {"days": [{}]}})),
    ]
    cases += [
        (
            f"commutes/score/ {label}",
            "POST",
            "/api/v1/commutes/score/",
            {"data": text.encode(), "headers": {"Content-Type": "application/json"}},
        )
        for label, text in body
    ]
    return cases


def inputs(dep: Deployment) -> list[Result]:
    _flush(dep)
    out = []
    for label, method, path, kwargs in hostile_cases():
        code = _status(dep, method, path, **kwargs)
        out.append(Result(f"input: {label}", f"HTTP {code}", 0 < code < 500))
    return out


# --- bodies in odd charsets, NUL in paths, chunked bodies (issue 16) --------------


def bz2_bomb(expanded: int) -> bytes:
    """bz2 of "[" and `expanded` spaces (1.08 GB: 794 bytes)."""
    compressor = bz2.BZ2Compressor(9)
    out = compressor.compress(b"[")
    chunk = b" " * 10_000_000
    for _ in range(expanded // len(chunk)):
        out += compressor.compress(chunk)
    return out + compressor.flush()


def _peak_rss_mb(dep: Deployment) -> float:
    """The largest peak resident size (VmHWM) among the gunicorn workers, in MB."""
    leader = dep.procs["web"].pid
    children = Path(f"/proc/{leader}/task/{leader}/children").read_text().split()
    peaks = []
    for pid in children:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return max(peaks, default=0.0)


def _raw(dep: Deployment, head: str, body: bytes, timeout: float = 30) -> int:
    """The status of a request written by hand (a chunked body); -1 on no answer."""
    with socket.create_connection(("127.0.0.1", dep.port), timeout=timeout) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except OSError:
            pass
    parts = answer.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else -1


def bodies(dep: Deployment, forms: int = 300) -> list[Result]:
    out = []
    score = "/api/v1/commutes/score/"
    bomb = bz2_bomb(1_080_000_000)
    before = _peak_rss_mb(dep)
    t0 = time.monotonic()
    code = _status(
        dep,
        "POST",
        score,
        timeout=120,
        data=bomb,
        headers={"Content-Type": "application/json; charset=bz2"},
    )
    took = time.monotonic() - t0
    after = _peak_rss_mb(dep)
    out.append(
        Result(
            f"bodies: a {len(bomb)}-byte JSON body with charset=bz2 (1.08 GB expanded)",
            f"HTTP {code} in {took:.1f}s; workers' peak RSS {before:.0f} -> "
            f"{after:.0f} MB",
            code == 415 and after - before < 100,
        )
    )
    malformed = {"zlib": zlib.compress(b"{"), "rot13": b"{", "bz2": bz2.compress(b"{")}
    for charset, body in malformed.items():
        code = _status(
            dep,
            "POST",
            score,
            data=body,
            headers={"Content-Type": f"application/json; charset={charset}"},
        )
        out.append(
            Result(
                f"bodies: a malformed JSON body with charset={charset}",
                f"HTTP {code}",
                code == 415,
            )
        )
    log = dep.procs["web"].log
    size = log.stat().st_size
    # As a browser sends it: with the CSRF cookie and token, to the login URL.
    session = requests.Session()
    session.get(dep.base + "/admin/login/", timeout=30)
    token = session.cookies.get("csrftoken", "")
    form = f"csrfmiddlewaretoken={token}&username=a&password=b&next=/admin/"
    codes = []
    for _ in range(forms):
        try:
            response = session.post(
                dep.base + "/admin/login/?next=/admin/",
                data=form.encode("utf-16"),
                headers={
                    "Content-Type": "application/x-www-form-urlencoded; charset=utf-16",
                    "Referer": dep.base + "/admin/login/",
                },
                timeout=30,
            )
            codes.append(response.status_code)
        except requests.RequestException:
            codes.append(-1)
    grew = log.stat().st_size - size
    out.append(
        Result(
            f"bodies: {forms} admin login forms in utf-16",
            f"{sorted(set(codes))}; the server log grew {grew:,} bytes",
            set(codes) == {400} and grew < 250 * forms,
        )
    )
    code = _status(dep, "GET", "/history/area/beat/%00/")
    out.append(
        Result("bodies: GET /history/area/beat/%00/", f"HTTP {code}", code == 404)
    )
    code = _status(dep, "GET", "/history/?start=%00")
    out.append(Result("bodies: GET /history/?start=%00", f"HTTP {code}", code == 400))
    code = _raw(
        dep,
        f"POST {score} HTTP/1.1\nHost: 127.0.0.1\nContent-Type: application/json\n"
        "Transfer-Encoding: chunked\nConnection: close\n",
        b"2\r\n{}\r\n0\r\n\r\n",
    )
    out.append(
        Result(
            "bodies: a chunked JSON body (no Content-Length)",
            f"HTTP {code}",
            code == 411,
        )
    )
    return out


# --- Redis down ------------------------------------------------------------------

READS = [
    "/",
    "/history/",
    "/forecast/",
    "/commute/",
    "/model-card/",
    "/api/v1/meta/",
    f"/api/v1/history/grid/?{YEAR}&cell_size=600",
    f"/api/v1/history/timeseries/?{YEAR}",
    f"/api/v1/history/profile/?{YEAR}",
    f"/api/v1/history/groups/?{YEAR}",
    f"/api/v1/areas/?{YEAR}&geometry=false",
    f"/api/v1/incidents/?{YEAR}",
    "/api/v1/forecasts/?hours=24&encoding=q8",
    "/api/v1/forecasts/grid/",
    POINT + "&hours=24",
    "/api/v1/models/",
    "/api/v1/places/?q=pine",
]


def _upload_file(path: Path) -> None:
    path.write_text(
        (REPO / "tests" / "fixtures" / "spd" / "nibrs_2025_sample.csv").read_text()
    )


def redis_down(dep: Deployment) -> list[Result]:
    out = []
    session = dep.admin_session()
    dep.redis.stop()
    try:
        codes = []
        for _ in range(150 // len(READS) + 1):
            codes += [_status(dep, "GET", p, timeout=30) for p in READS]
        codes += [
            _status(
                dep,
                "POST",
                "/api/v1/commutes/score/",
                json=ROUTE,
                timeout=30,
            )
        ]
        errors = sum(1 for c in codes if c >= 500 or c < 0)
        out.append(
            Result(
                "redis down: pages and API reads",
                f"{errors} of {len(codes)} answered 5xx or failed "
                f"({sorted(set(codes))})",
                errors == 0,
            )
        )
        upload = dep.tmp / "sample.csv"
        _upload_file(upload)
        t0 = time.monotonic()
        try:
            with upload.open("rb") as fh:
                response = session.post(
                    dep.base + "/admin/crimes/importrun/add/",
                    data={"csrfmiddlewaretoken": session.cookies.get("csrftoken")},
                    files={"upload": fh},
                    headers={"Referer": dep.base + "/admin/crimes/importrun/add/"},
                    timeout=120,
                    allow_redirects=False,
                )
            code, retry = response.status_code, response.headers.get("Retry-After")
        except requests.RequestException as exc:
            code, retry = -1, str(exc)
        took = time.monotonic() - t0
        latest = dep.shell(
            "from crimes.models import ImportRun; "
            "r = ImportRun.objects.order_by('-pk').first(); "
            "print(r and (r.pk, r.status, r.upload.name, r.error[:80]))"
        )
        out.append(
            Result(
                "redis down: admin upload",
                f"HTTP {code} after {took:.1f}s (Retry-After {retry}); "
                f"newest run: {latest}",
                code == 503 and retry is not None and "'failed'" in latest,
            )
        )
    finally:
        dep.redis.start()
    time.sleep(1)
    codes = [_status(dep, "GET", p) for p in READS]
    out.append(
        Result(
            "redis back: pages and API reads",
            f"statuses {sorted(set(codes))}",
            all(c == 200 for c in codes),
        )
    )
    return out


# --- PostgreSQL down ---------------------------------------------------------------


def postgres_down(dep: Deployment) -> list[Result]:
    assert dep.pg is not None, "run with own_postgres=True"
    out = []
    uncached = [
        "/",
        "/history/",
        "/forecast/",
        "/commute/",
        "/model-card/",
        "/api/v1/history/grid/?start=2021-02-01&end=2021-02-28&cell_size=600",
        "/api/v1/models/",
        "/api/v1/places/?q=pine",
        POINT,
        "/admin/login/",
    ]
    dep.pg.stop()
    try:
        answers = []
        for path in uncached:
            try:
                r = dep.get(path, timeout=30)
                answers.append((path, r.status_code, r.headers.get("Retry-After")))
            except requests.RequestException:
                answers.append((path, -1, None))
        try:
            r = requests.post(
                dep.base + "/api/v1/commutes/score/", json=ROUTE, timeout=30
            )
            retry = r.headers.get("Retry-After")
            answers.append(("commutes/score/", r.status_code, retry))
        except requests.RequestException:
            answers.append(("commutes/score/", -1, None))
        # A page that needs no database (the commute shell, the login form) may
        # answer 200; anything else must be a 503 with Retry-After, never a 500.
        bad = [
            a
            for a in answers
            if not (a[1] == 503 and a[2] is not None)
            and not (a[1] == 200 and a[0] in ("/commute/", "/admin/login/"))
        ]
        out.append(
            Result(
                "postgres down: uncached pages and APIs",
                "; ".join(f"{p.split('?')[0]} {c} RA={ra}" for p, c, ra in answers),
                not bad,
            )
        )
    finally:
        dep.pg.start()
    time.sleep(1)
    codes = [_status(dep, "GET", p) for p in uncached[:5]]
    out.append(
        Result(
            "postgres back: pages",
            f"statuses {codes}",
            all(c == 200 for c in codes),
        )
    )
    return out


# --- exports -----------------------------------------------------------------------


def _timed(dep: Deployment, path: str) -> tuple[float, int, int]:
    t0 = time.perf_counter()
    r = dep.get(path, timeout=120, headers={"Accept-Encoding": "identity"})
    return time.perf_counter() - t0, r.status_code, len(r.content)


def exports(dep: Deployment, seconds: float = 20) -> list[Result]:
    _flush(dep)
    out = []
    path = f"/api/v1/export/incidents.geojson?{YEAR}"
    first = _timed(dep, path)
    again = _timed(dep, path)
    out.append(
        Result(
            "exports: one geojson export",
            f"{first[0]:.2f}s then {again[0]:.2f}s, {first[2] / 1e6:.1f} MB, HTTP "
            f"{first[1]}/{again[1]}",
            again[0] < 1.0,
        )
    )
    stop = time.monotonic() + seconds
    pulled: list[int] = []

    def pull(i: int):
        while time.monotonic() < stop:
            # Different selections, like different visitors.
            month = i % 12 + 1
            _, code, _ = _timed(
                dep,
                f"/api/v1/export/incidents.geojson?start=2021-{month:02d}-01"
                f"&end=2021-12-31",
            )
            pulled.append(code)

    pullers = [threading.Thread(target=pull, args=(i,)) for i in range(4)]
    for t in pullers:
        t.start()
    page_times = []
    while time.monotonic() < stop:
        page_times.append(_timed(dep, "/history/")[0])
        time.sleep(0.2)
    for t in pullers:
        t.join()
    page_times.sort()
    p95 = page_times[int(0.95 * (len(page_times) - 1))]
    out.append(
        Result(
            "exports: /history/ while 4 clients pull exports",
            f"p95 {p95:.2f}s over {len(page_times)} loads; exports answered "
            f"{sorted(set(pulled))} ({len(pulled)} pulls)",
            p95 < 1.0,
        )
    )
    return out


# --- CSV formula injection -----------------------------------------------------------

FORMULA = '=HYPERLINK("http://example.invalid","x")'


def csv_injection(dep: Deployment) -> list[Result]:
    """Import a row whose text fields are formulas, and a file with a rejected
    formula line, through the admin; read both CSVs back."""
    out = []
    probe_dir = dep.tmp / "csv"
    probe_dir.mkdir(exist_ok=True)
    with gzip.open(REPO / "data" / "spd" / "spd_2021.csv.gz", "rt") as fh:
        header = fh.readline().rstrip("\n")
        row = next(csvmod.reader([fh.readline()]))
    names = next(csvmod.reader([header.lstrip("\ufeff")]))
    fields = dict(zip(names, row, strict=True))
    fields["Offense ID"] = "990000000001"
    fields["Report Number"] = "=1+1"
    fields["100 Block Address"] = FORMULA
    fields["Offense"] = "@SUM(1+1)*cmd|' /C calc'!A0"
    fields["MCPP"] = "+CAPITOL HILL"
    good = probe_dir / "formula.csv"
    text = io.StringIO()
    csvmod.writer(text).writerows([names, list(fields.values())])
    good.write_text("\ufeff" + text.getvalue())
    bad = probe_dir / "rejected.csv"
    bad.write_text(header + "\n" + '=1+2,"-3",+4\n')
    session = dep.admin_session()
    for path in (good, bad):
        with path.open("rb") as fh:
            session.post(
                dep.base + "/admin/crimes/importrun/add/",
                data={"csrfmiddlewaretoken": session.cookies.get("csrftoken")},
                files={"upload": fh},
                headers={"Referer": dep.base + "/admin/crimes/importrun/add/"},
                timeout=120,
            )
    localstack.wait_until(
        lambda: (
            dep.shell(
                "from crimes.models import ImportRun; print(ImportRun.objects.filter("
                "status__in=['pending','running']).count())"
            )
            == "0"
        ),
        120,
        "csv probe imports",
    )
    run_id = dep.shell(
        "from crimes.models import ImportRun; print(ImportRun.objects.filter("
        "file_name='rejected.csv').order_by('-pk').first().pk)"
    )
    rejects = session.get(
        dep.base + f"/admin/crimes/importrun/{run_id}/rejects.csv", timeout=60
    ).text
    export = dep.get(
        "/api/v1/export/incidents.csv?start=2020-12-01&end=2021-01-02", timeout=120
    ).text
    dangerous = ("=", "+", "-", "@", "\t", "\r")
    for label, body in (("public CSV export", export), ("rejected-rows CSV", rejects)):
        cells = [c for line in csvmod.reader(io.StringIO(body)) for c in line]
        risky = [c for c in cells if c[:1] in dangerous and not _number(c)]
        out.append(
            Result(
                f"csv: {label}",
                f"{len(risky)} cells start with = + - @ (e.g. {risky[:2]})",
                not risky and len(cells) > 3,
            )
        )
    dep.shell(
        "from crimes.models import Incident; "
        "Incident.objects.filter(offense_id=990000000001).delete()"
    )
    return out


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


# --- dead runs ---------------------------------------------------------------------


def _run_status(dep: Deployment, table: str, run_id: int) -> str:
    import psycopg

    url = dep.database_url.replace("postgis://", "postgresql://", 1)
    with psycopg.connect(url) as conn:
        row = conn.execute(f"SELECT status FROM {table} WHERE id = %s", [run_id])
        return row.fetchone()[0]


def dead_runs(dep: Deployment, wait_s: float = 330) -> list[Result]:
    """Kill the worker mid-import; is the run failed within wait_s, nobody looking?
    Then the only worker killed mid-training, and none started again (issue 16:
    only beat is alive)."""
    return [
        _kill_mid_import(dep, wait_s),
        _kill_only_worker_mid_training(dep, wait_s),
    ]


def _kill_only_worker_mid_training(dep: Deployment, wait_s: float) -> Result:
    """The only worker killed while a training run sleeps in its progress hook (an
    import of the bundled extract can finish before the kill lands), and none is
    started again: only beat is left to notice."""
    previous = dep.procs.pop("worker", None)
    if previous is not None:
        previous.stop()
    dep.start_worker()  # the only one, on both queues
    run_id = int(
        dep.shell(
            "from predictions.services import training\n"
            "from predictions.tasks import train_model\n"
            "run = training.create_run(until=None, preset='tiny',"
            " config={'_sleep_in_progress_s': 60, '_backtest_weeks': 0})\n"
            "train_model.delay(run.pk)\n"
            "print(run.pk)"
        ).split()[-1]
    )
    localstack.wait_until(
        lambda: _run_status(dep, "predictions_trainingrun", run_id) == "running",
        120,
        "training running",
        interval=0.05,
    )
    dep.procs.pop("worker").kill()
    t0 = time.monotonic()
    status = "running"
    while time.monotonic() - t0 < wait_s and status == "running":
        time.sleep(2)
        status = _run_status(dep, "predictions_trainingrun", run_id)
    took = time.monotonic() - t0
    return Result(
        "runs: the only worker killed mid-training, no worker alive",
        f"training run {run_id} is {status} {took:.0f}s after the kill",
        status == "failed",
    )


def _kill_mid_import(dep: Deployment, wait_s: float) -> Result:
    """A dry run of the full 2012-2021 file (about a minute; nothing is written) when
    ../shared has it, else of the bundled 2021 extract."""
    if "worker" not in dep.procs:
        dep.start_worker()
    full = REPO.parent / "shared" / "data" / "spd" / "spd_crime_2012_2021.csv.gz"
    spd = full if full.exists() else REPO / "data" / "spd" / "spd_2021.csv.gz"
    session = dep.admin_session()
    with spd.open("rb") as fh:
        session.post(
            dep.base + "/admin/crimes/importrun/add/",
            data={
                "csrfmiddlewaretoken": session.cookies.get("csrftoken"),
                "dry_run": "on",
            },
            files={"upload": fh},
            headers={"Referer": dep.base + "/admin/crimes/importrun/add/"},
            timeout=300,
        )
    run_id = int(
        dep.shell(
            "from crimes.models import ImportRun; "
            "print(ImportRun.objects.order_by('-pk').first().pk)"
        )
    )
    localstack.wait_until(
        lambda: _run_status(dep, "crimes_importrun", run_id) == "running",
        120,
        "import running",
        interval=0.05,
    )
    time.sleep(1)
    dep.procs.pop("worker").kill()
    # Another worker is alive (e.g. the default queue's), nobody opens the admin.
    dep.start_worker("default")
    t0 = time.monotonic()
    status = "running"
    while time.monotonic() - t0 < wait_s and status == "running":
        time.sleep(2)
        status = _run_status(dep, "crimes_importrun", run_id)
    took = time.monotonic() - t0
    return Result(
        "runs: worker killed mid-import",
        f"run {run_id} is {status} {took:.0f}s after the kill",
        status == "failed",
    )


# --- training without --until --------------------------------------------------------


def training_until(dep: Deployment) -> list[Result]:
    result = subprocess.run(
        [
            localstack.PYTHON,
            "manage.py",
            "train_model",
            "--preset",
            "tiny",
            "--config",
            '{"_backtest_weeks": 0}',
        ],
        cwd=REPO,
        env={**dep.env, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    text = (result.stdout + result.stderr).strip().splitlines()
    said = " | ".join(line for line in text if line.strip())[-300:]
    ok = "concatenate" not in said and (
        result.returncode == 0
        and "newest report" in said
        or result.returncode != 0
        and "newest report" in said
    )
    return [Result("training without --until", f"rc={result.returncode}: {said}", ok)]


# --- smaller ----------------------------------------------------------------------


def smaller(dep: Deployment) -> list[Result]:
    out = []
    session = requests.Session()
    session.get(dep.base + "/admin/login/", timeout=30)
    codes = []
    t0 = time.monotonic()
    for i in range(100):
        r = session.post(
            dep.base + "/admin/login/",
            data={
                "username": "probe-admin",
                "password": f"wrong-{i}",
                "csrfmiddlewaretoken": session.cookies.get("csrftoken", ""),
            },
            headers={"Referer": dep.base + "/admin/login/"},
            timeout=30,
        )
        codes.append(r.status_code)
    took = time.monotonic() - t0
    refused = sum(1 for c in codes if c in (403, 429))
    out.append(
        Result(
            "admin login: 100 wrong passwords",
            f"{codes.count(200)} answered with the form, {refused} locked out, "
            f"in {took:.0f}s",
            refused >= 90,
        )
    )
    # The lockout must not lock the real admin out for ever: reset it for later probes.
    _axes_reset(dep)

    env = {**dep.env, "SECRET_KEY": "k" * 8 + "0123456789abcdefghijklmnopqrstuv"[:24]}
    check = subprocess.run(
        [localstack.PYTHON, "manage.py", "check"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    out.append(
        Result(
            "SECRET_KEY of 32 characters",
            "accepted" if check.returncode == 0 else check.stderr.strip()[-120:],
            check.returncode != 0,
        )
    )
    pages = ("/", "/history/", "/forecast/", "/commute/", "/model-card/")
    heads = {p: _status(dep, "HEAD", p) for p in pages}
    out.append(
        Result("HEAD on HTML pages", str(heads), all(c == 200 for c in heads.values()))
    )
    r = dep.get(
        f"/api/v1/history/grid/?{YEAR}&cell_size=150",
        headers={"Accept-Encoding": "gzip"},
        stream=True,
    )
    raw = r.raw.read()
    out.append(
        Result(
            "gzip of history/grid/",
            f"Content-Encoding {r.headers.get('Content-Encoding')}, {len(raw)} bytes "
            "on the wire"
            + (
                f" ({len(gzip.decompress(raw))} unpacked)"
                if r.headers.get("Content-Encoding") == "gzip"
                else ""
            ),
            r.headers.get("Content-Encoding") == "gzip",
        )
    )
    compose = (REPO / "docker" / "compose.yaml").read_text()
    proxy = any(name in compose for name in ("nginx", "caddy"))
    web_published = "\n  web:" in compose and '"8000:8000"' in compose
    out.append(
        Result(
            "docker: a proxy in front of gunicorn",
            f"proxy service: {proxy}; gunicorn published: {web_published}",
            proxy and not web_published,
        )
    )
    consumer = "gpu" in compose.split("\n  worker:")[-1].split("\n  beat:")[0] or (
        "TRAINING_QUEUE" in compose
    )
    out.append(
        Result(
            "docker: training without the gpu profile",
            "a default-profile worker consumes the training queue"
            if consumer
            else "nothing outside the gpu profile consumes the gpu queue",
            consumer,
        )
    )
    return out


# --- behind the proxy (nginx, when installed) -------------------------------------


def _nginx_conf(root: Path, upstream: str, http_port: int, https_port: int) -> Path:
    """docker/nginx's template, filled in for a local nginx (plain paths, free ports;
    `http2 on` dropped for nginx < 1.25, the image has 1.27)."""
    src = (REPO / "docker" / "nginx" / "default.conf.template").read_text()
    for name, value in {
        "${UPSTREAM}": upstream,
        "${SERVER_NAME}": "localhost",
        "${IMPORT_UPLOAD_MAX_MB}": "513",
        "/etc/nginx/conf.d/proxy_headers.inc": str(
            REPO / "docker" / "nginx" / "proxy_headers.inc"
        ),
        "/etc/nginx/certs/": f"{root}/certs/",
        "/app/var/static/": f"{REPO}/static/",
        "/var/cache/nginx/uploads": f"{root}/uploads",
        "/var/www/certbot": f"{root}/certbot",
        "    http2 on;\n": "",
        "listen 80;": f"listen {http_port};",
        "listen [::]:80;": f"listen [::]:{http_port};",
        "listen 443 ssl;": f"listen {https_port} ssl;",
        "listen [::]:443 ssl;": f"listen [::]:{https_port} ssl;",
    }.items():
        src = src.replace(name, value)
    (root / "certs").mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=localhost",
            "-keyout", str(root / "certs" / "privkey.pem"),
            "-out", str(root / "certs" / "fullchain.pem"),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    conf = root / "nginx.conf"
    conf.write_text(
        f"pid {root}/nginx.pid;\nerror_log {root}/error.log;\n"
        "events { worker_connections 256; }\n"
        f"http {{\n include /etc/nginx/mime.types;\n access_log {root}/access.log;\n"
        f" client_body_temp_path {root}/body;\n proxy_temp_path {root}/proxy;\n"
        f"{src}\n}}\n"
    )
    return conf


def _https_get(port: int, path: str, headers: dict | None = None) -> int:
    try:
        return requests.get(
            f"https://127.0.0.1:{port}{path}",
            headers={"Host": "localhost", **(headers or {})},
            verify=False,  # noqa: S501 - the probe's own self-signed certificate
            timeout=15,
        ).status_code
    except requests.RequestException:
        return -1


def proxy(dep: Deployment) -> list[Result]:
    """The same attacks through nginx (docker/nginx), with BEHIND_PROXY=1."""
    import shutil

    import urllib3

    urllib3.disable_warnings()
    if shutil.which("nginx") is None:
        return [Result("proxy: nginx", "not installed here: skipped", True)]
    root = dep.tmp / "nginx"
    root.mkdir()
    http_port, https_port = localstack.free_port(), localstack.free_port()
    conf = _nginx_conf(root, f"127.0.0.1:{dep.port}", http_port, https_port)
    subprocess.run(["nginx", "-t", "-c", str(conf), "-p", str(root)], check=True)
    subprocess.run(["nginx", "-c", str(conf), "-p", str(root)], check=True)
    out = []
    try:
        localstack.wait_until(lambda: localstack.port_open(https_port), 20, "nginx")
        _flush(dep)
        codes = [
            _https_get(https_port, "/api/v1/meta/", {"X-Forwarded-For": f"10.9.{i}.7"})
            for i in range(RATE + 100)
        ]
        out.append(
            Result(
                f"proxy: {RATE + 100} requests with made-up X-Forwarded-For",
                f"{codes.count(200)} x 200, {codes.count(429)} x 429",
                codes.count(200) <= RATE,
            )
        )
        _flush(dep)
        # Two clients announce a small JSON body, send 1 KB and stall: nginx holds
        # them (and cuts them off after client_body_timeout); gunicorn never waits.
        import ssl

        stalled = []
        for _ in range(2):
            raw = socket.create_connection(("127.0.0.1", https_port))
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            sock = ctx.wrap_socket(raw, server_hostname="localhost")
            sock.sendall(
                b"POST /api/v1/commutes/score/ HTTP/1.1\r\nHost: localhost\r\n"
                b"Content-Type: application/json\r\nContent-Length: 30000\r\n\r\n"
                + b"{"
                + b" " * 1000
            )
            stalled.append(sock)
        time.sleep(2)
        waits = []
        for _ in range(5):
            t0 = time.monotonic()
            waits.append((_https_get(https_port, "/"), time.monotonic() - t0))
        t0 = time.monotonic()
        cut = []
        for sock in stalled:
            sock.settimeout(30)
            try:
                cut.append(sock.recv(100)[:12])
            except OSError as exc:
                cut.append(type(exc).__name__.encode())
        cut_after = time.monotonic() - t0 + 2
        out.append(
            Result(
                "proxy: 2 clients stall mid-body; GET / meanwhile",
                ", ".join(f"{c} in {t:.2f}s" for c, t in waits)
                + f"; stalled clients cut off after ~{cut_after:.0f}s ({cut})",
                all(c == 200 and t < 2 for c, t in waits),
            )
        )
        big = requests.post(
            f"https://127.0.0.1:{https_port}/api/v1/commutes/score/",
            data=b"x" * (2 << 20),
            headers={"Host": "localhost", "Content-Type": "application/json"},
            verify=False,  # noqa: S501
            timeout=30,
        )
        packed = requests.get(
            f"https://127.0.0.1:{https_port}/api/v1/history/grid/?{YEAR}&cell_size=150",
            headers={"Host": "localhost", "Accept-Encoding": "gzip"},
            verify=False,  # noqa: S501
            timeout=30,
        )
        plain = _https_get(http_port, "/")
        out.append(
            Result(
                "proxy: 2 MB body, gzip, plain HTTP",
                f"2 MB POST -> {big.status_code}; grid Content-Encoding "
                f"{packed.headers.get('Content-Encoding')}; http:// -> "
                f"{requests.get(f'http://127.0.0.1:{http_port}/', allow_redirects=False, headers={'Host': 'localhost'}, timeout=10).status_code}",  # noqa: E501
                big.status_code == 413
                and packed.headers.get("Content-Encoding") == "gzip"
                and plain != 500,
            )
        )
    finally:
        subprocess.run(["nginx", "-s", "stop", "-c", str(conf), "-p", str(root)])
    return out
