"""Benchmark: Lighthouse 12.2.3 (mobile) on the map pages, served as in production.

    DATABASE_URL=postgis://... .venv/bin/python benchmarks/bench_lighthouse.py \\
        [--runs 3] [--pages / /commute/ /forecast/ /history/] [--before REF]

Targets (issue 18): performance at least 90 and accessibility 100 on /, /commute/,
/forecast/ and /history/. The site runs as deployed: ``collectstatic`` into a
temporary folder (hashed, gzipped files: whitenoise), gunicorn with DEBUG off, the
site's own base map (MAP_TILES_URL empty). Lighthouse (npm, package.json
devDependencies) drives the system Chromium (CHROME_PATH=/usr/bin/chromium) with its
default mobile emulation and simulated throttling. Each page is measured ``--runs``
times; the median performance run is reported with its metrics. The reference in the
same run is the model card (text, no map): what the machine's load alone costs.

``--before REF`` also serves the site as it was at git REF (a temporary worktree,
the same database, its own static files and port) and measures each page there and
here in turn, so a change is compared under the same load.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LIGHTHOUSE = REPO / "node_modules" / ".bin" / "lighthouse"
PAGES = ["/", "/commute/", "/forecast/", "/history/"]
REFERENCE = "/model-card/"
METRICS = (
    "first-contentful-paint",
    "largest-contentful-paint",
    "total-blocking-time",
    "cumulative-layout-shift",
    "speed-index",
)


def _env(static_root: str) -> dict:
    env = dict(os.environ)
    env.update(
        DEBUG="0",
        HTTPS="0",
        MAP_TILES_URL="",
        STATIC_ROOT=static_root,
        # The model card's plots: the same files for a --before tree as for this one.
        ARTIFACTS_DIR=env.get("ARTIFACTS_DIR", str(REPO / "var" / "artifacts")),
        SECRET_KEY=env.get(
            "SECRET_KEY", "lighthouse-bench-secret-key-0123456789-abcdefghijklmnop"
        ),
        CHROME_PATH="/usr/bin/chromium",
    )
    return env


def start_site(env: dict, port: int, tree: Path = REPO) -> subprocess.Popen:
    python = sys.executable
    subprocess.run(
        [python, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=tree,
        env=env,
        check=True,
    )
    subprocess.run([python, "manage.py", "build_glyphs"], cwd=tree, env=env, check=True)
    gunicorn = Path(python).with_name("gunicorn")
    proc = subprocess.Popen(
        [str(gunicorn), "crimepredict_site.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2"],
        cwd=tree,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)
            return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("gunicorn did not answer")


def lighthouse(url: str, env: dict, out: Path, keep: Path | None = None) -> dict:
    subprocess.run(
        [
            str(LIGHTHOUSE),
            url,
            "--quiet",
            "--only-categories=performance,accessibility",
            "--output=json",
            f"--output-path={out}",
            "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
            *(["--save-assets"] if keep is not None else []),
        ],
        env=env,
        check=True,
    )
    report = json.loads(out.read_text())
    if keep is not None:  # every report, for what made a score (LCP element, shifts)
        keep.mkdir(parents=True, exist_ok=True)
        name = url.split("//", 1)[1].replace("/", "_").replace(":", "-")
        stamp = time.time_ns()
        shutil.copy(out, keep / f"{name}-{stamp}.json")
        trace = out.with_name(out.stem + "-0.trace.json")
        if trace.exists():  # --save-assets: the trace (layout shifts, long tasks)
            shutil.move(trace, keep / f"{name}-{stamp}.trace.json")
    return {
        "performance": round(report["categories"]["performance"]["score"] * 100),
        "accessibility": round(report["categories"]["accessibility"]["score"] * 100),
        **{m: report["audits"][m]["numericValue"] for m in METRICS},
    }


def report_row(name: str, runs: list[dict]) -> str:
    scores = [r["performance"] for r in runs]
    median = sorted(runs, key=lambda r: r["performance"])[len(runs) // 2]
    return (
        f"{name:<22}{median['performance']:>6}{median['accessibility']:>6}"
        f"{median['first-contentful-paint']:>9.0f}"
        f"{median['largest-contentful-paint']:>9.0f}"
        f"{median['total-blocking-time']:>9.0f}"
        f"{median['cumulative-layout-shift']:>7.3f}"
        f"{median['speed-index']:>9.0f}  {scores} "
        f"(spread {statistics.pstdev(scores):.1f})"
    )


def before_tree(ref: str, tmp: Path) -> Path:
    """A detached worktree of ``ref`` (removed by ``drop_tree``)."""
    tree = tmp / "before"
    subprocess.run(
        ["git", "worktree", "add", "--detach", "-q", str(tree), ref],
        cwd=REPO,
        check=True,
    )
    return tree


def drop_tree(tree: Path) -> None:
    subprocess.run(
        ["git", "worktree", "remove", "--force", str(tree)], cwd=REPO, check=False
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--port", type=int, default=8191)
    parser.add_argument("--pages", nargs="*", default=PAGES)
    parser.add_argument("--before", help="git ref to measure too, page by page")
    parser.add_argument("--keep", type=Path, help="folder to keep every JSON report in")
    args = parser.parse_args()
    if not LIGHTHOUSE.exists():
        sys.exit(f"{LIGHTHOUSE} missing: npm ci (scripts/setup.sh) installs it")
    tmp = Path(tempfile.mkdtemp(prefix="lighthouse-"))
    env = _env(str(tmp / "static"))
    sites = {"": (start_site(env, args.port), args.port)}
    tree = None
    try:
        if args.before:
            tree = before_tree(args.before, tmp)
            before_env = _env(str(tmp / "static-before"))
            sites = {
                f" (before, {args.before})": (
                    start_site(before_env, args.port + 1, tree),
                    args.port + 1,
                ),
                **sites,
            }
        print(f"load average: {os.getloadavg()[0]:.1f}; {args.runs} runs per page")
        print(
            f"{'page':<22}{'perf':>6}{'a11y':>6}{'FCP ms':>9}{'LCP ms':>9}"
            f"{'TBT ms':>9}{'CLS':>7}{'SI ms':>9}  (median run; perf of every run)"
        )
        for path in [REFERENCE, *args.pages]:
            runs = {label: [] for label in sites}
            for _ in range(args.runs):  # in turn: both see the same load
                for label, (_, port) in sites.items():
                    url = f"http://127.0.0.1:{port}{path}"
                    runs[label].append(lighthouse(url, env, tmp / "r.json", args.keep))
            for label in sites:
                name = path + (" (ref)" if path == REFERENCE else "") + label
                print(report_row(name, runs[label]), flush=True)
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    finally:
        for site, _ in sites.values():
            site.send_signal(signal.SIGTERM)
            site.wait(timeout=20)
        if tree is not None:
            drop_tree(tree)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
