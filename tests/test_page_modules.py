"""The pages' ES modules (static/js/lib, static/js/pages): their unit tests under
Node, every import resolving, the app shell holding the commute page's modules, and
the hashed names of a STATIC_MANIFEST deploy imported by their hashed names."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STATIC = REPO / "static"
MODULE_DIRS = ("js", "js/lib", "js/pages")
# import ... from "./x.js", export ... from "../y.js", import("./z.js")
RELATIVE_IMPORT = re.compile(
    r"""(?:\bimport|\bexport)\b[^;'"]*?\bfrom\s*["'](\.\.?/[^"']+)["']"""
    r"""|\bimport\s*["'](\.\.?/[^"']+)["']"""
    r"""|\bimport\(\s*["'](\.\.?/[^"']+)["']\s*\)"""
)


def _modules() -> list[Path]:
    return sorted(p for d in MODULE_DIRS for p in (STATIC / d).glob("*.js"))


def _imports(path: Path) -> list[str]:
    return [
        next(filter(None, m.groups()))
        for m in RELATIVE_IMPORT.finditer(path.read_text())
    ]


def _closure(entry: str) -> set[str]:
    """The static paths an entry module needs: itself and everything it imports."""
    seen, todo = set(), [entry]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = STATIC / name
        for spec in _imports(path):
            todo.append((path.parent / spec).resolve().relative_to(STATIC).as_posix())
    return seen


def test_the_javascript_unit_tests_pass():
    node = shutil.which("node")
    assert node, "node is needed for the page modules' unit tests (scripts/setup.sh)"
    run = subprocess.run(
        [node, "--test", "tests/js/"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = run.stdout + run.stderr
    assert run.returncode == 0, report[-6000:]
    passed = re.search(r"^# pass (\d+)$", report, re.MULTILINE)
    assert passed and int(passed.group(1)) >= 10, report[-2000:]


def test_every_relative_import_of_a_page_module_is_a_file():
    assert _modules(), "no page modules found"
    for module in _modules():
        for spec in _imports(module):
            assert spec.endswith(".js"), f"{module}: import {spec!r} names no file"
            assert (module.parent / spec).is_file(), f"{module}: {spec} is missing"


def test_the_app_shell_holds_the_commute_page_and_all_it_imports():
    from alerts.views import SHELL_STATIC

    needed = _closure("js/pages/commute.js")
    assert needed >= {"js/lib/map.js", "js/lib/api.js", "js/lib/typeahead.js"}
    assert needed <= set(SHELL_STATIC), needed - set(SHELL_STATIC)
    for name in SHELL_STATIC:
        assert (STATIC / name).is_file(), name


def test_hashed_modules_import_the_hashed_names(tmp_path):
    """collectstatic as a deploy runs it: a hashed module importing an unhashed name
    would be served stale from a far-future cache after the next release."""
    env = {
        **os.environ,
        "STATIC_MANIFEST": "1",
        "STATIC_ROOT": str(tmp_path),
    }
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    paths = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    hashed_names = set(paths.values())
    checked = 0
    for module in _modules():
        name = module.relative_to(STATIC).as_posix()
        hashed = tmp_path / paths[name]
        for spec in _imports(hashed):
            target = (hashed.parent / spec).resolve().relative_to(tmp_path).as_posix()
            assert target in hashed_names, f"{paths[name]} imports {spec}, unhashed"
            assert (tmp_path / target).is_file(), target
            checked += 1
    assert checked >= 5
