"""The dependency arrows of the code base, checked by walking every import (AST).

    ml/   osm/  (Django-free)
      ^
    core  <-  crimes  <-  predictions  <-  commutes  <-  alerts
      ^          ^                            |
      +-- streets <---------------------------+
                 ^   ^
                 places (on crimes and streets)
    crimepredict_site = wiring only (settings, urls, celery, wsgi, asgi)

An app may import the Django-free packages and the apps its arrows reach (directly
or through another app), never any other; a Django-free package imports no Django,
no Celery, no app and not the other Django-free package; no app imports the wiring;
the wiring package holds only its wiring modules, and they define no functions or
classes (behaviour lives in an app). Inside an app, models.py is the bottom layer:
it imports nothing else of its app (a model calling into its services was a cycle).
Imports inside functions count too: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Each app and the apps it builds on directly (what they build on counts too).
ARROWS = {
    "core": (),
    "crimes": ("core",),
    "predictions": ("crimes",),
    "streets": ("core",),
    "places": ("crimes", "streets"),
    "commutes": ("predictions", "streets"),
    "alerts": ("commutes",),
}
APPS = tuple(ARROWS)
# Packages that import no Django, no Celery and no app (docs/TEAM_NOTES.md).
PURE = ("ml", "osm")
WIRING = "crimepredict_site"
WIRING_MODULES = {
    "__init__.py",
    "settings.py",
    "urls.py",
    "celery.py",
    "wsgi.py",
    "asgi.py",
    "gunicorn.conf.py",
}
# What "Django-free" means: no web framework, no task queue, no app.
PURE_FORBIDDEN = {
    "django",
    "celery",
    "kombu",
    "rest_framework",
    "rest_framework_gis",
    "drf_spectacular",
    "leaflet",
    WIRING,
    *APPS,
}


def reachable(app: str) -> set[str]:
    """Every app ``app`` may import: its arrows, followed to the end."""
    found: set[str] = set()
    todo = list(ARROWS[app])
    while todo:
        other = todo.pop()
        if other not in found:
            found.add(other)
            todo += ARROWS[other]
    return found


def imported_modules(path: Path, package: str) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in a file, lazy ones included.

    ``package`` is the file's dotted package, used to resolve relative imports."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
    return found


def _package_of(path: Path, root: Path) -> str:
    # A module's package and an __init__'s package are both its folder.
    return ".".join(path.relative_to(root).parent.parts)


def violations(root: Path) -> list[str]:
    """Every broken rule under ``root``, as 'path:line: what' (empty when clean)."""
    problems: list[str] = []
    for top in (*APPS, *PURE, WIRING):
        folder = root / top
        if not folder.is_dir():
            continue
        allowed = reachable(top) if top in ARROWS else set()
        for path in sorted(folder.rglob("*.py")):
            where = path.relative_to(root).as_posix()
            for line, module in imported_modules(path, _package_of(path, root)):
                target = module.split(".")[0]
                if target == top:
                    if path.name == "models.py" and top in ARROWS:
                        if module.split(".")[:2] != [top, "models"]:
                            problems.append(
                                f"{where}:{line}: {top}'s models import {module}"
                            )
                    continue
                if top in PURE:
                    if target in PURE_FORBIDDEN or target in PURE:
                        problems.append(f"{where}:{line}: {top} imports {module}")
                elif top in ARROWS:
                    if target == WIRING:
                        problems.append(f"{where}:{line}: {top} imports the wiring")
                    elif target in ARROWS and target not in allowed:
                        problems.append(
                            f"{where}:{line}: {top} imports {module} (no arrow "
                            f"{target} -> {top})"
                        )
        if top == WIRING:
            problems += _wiring_problems(folder, root)
    return problems


def _wiring_problems(folder: Path, root: Path) -> list[str]:
    problems = []
    for path in sorted(folder.rglob("*.py")):
        where = path.relative_to(root).as_posix()
        if path.parent != folder or path.name not in WIRING_MODULES:
            problems.append(f"{where}: not a wiring module ({sorted(WIRING_MODULES)})")
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                problems.append(
                    f"{where}:{node.lineno}: defines {node.name} (behaviour belongs "
                    "in an app)"
                )
    return problems


def test_the_code_base_keeps_the_arrows():
    assert violations(REPO) == []


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def test_the_checker_finds_every_kind_of_wrong_arrow(tmp_path):
    _write(
        tmp_path,
        {
            "core/__init__.py": "",
            "core/cache.py": "from crimes.models import Incident\n",
            "crimes/__init__.py": "",
            "crimes/services/__init__.py": "",
            "crimes/services/a.py": "def f():\n    import predictions.models\n",
            "crimes/services/b.py": "from . import a\nfrom ..models import X\n",
            "crimes/models.py": "from core.models import Run\nimport ml.grid\n",
            "predictions/models.py": (
                "from predictions.models import X\n"
                "def f():\n    from predictions.services import store\n"
            ),
            "crimes/views.py": "from crimepredict_site.settings import DEBUG\n",
            "predictions/__init__.py": "",
            "predictions/api.py": "from commutes.services import scoring\n",
            "commutes/__init__.py": "",
            "commutes/x.py": "from predictions import api\nfrom crimes import models\n",
            "ml/__init__.py": "",
            "ml/events.py": "import numpy\nfrom django.db import connection\n",
            "ml/train.py": "def f():\n    from celery import shared_task\n",
            "ml/grid.py": "from crimes.models import Incident\nfrom ml import events\n",
            "osm/names.py": "import re\nfrom osm import extract\nimport django.conf\n",
            "osm/junctions.py": "from ml.grid import GridSpec\n",
            "streets/__init__.py": "",
            "streets/graph.py": "from core import cache\nfrom predictions import m\n",
            "streets/views.py": "from osm.names import name\nfrom commutes import x\n",
            "places/index.py": "from streets.models import E\nfrom crimes import m\n",
            "places/api.py": "from predictions.models import Cell\n",
            "alerts/tasks.py": "from commutes.services import a\nfrom core import b\n",
            "alerts/more.py": "from places import index\n",
            "crimepredict_site/__init__.py": "",
            "crimepredict_site/settings.py": "from core.env import env_bool\n",
            "crimepredict_site/urls.py": "def handler(request):\n    pass\n",
            "crimepredict_site/cache_versions.py": "",
        },
    )
    assert sorted(violations(tmp_path)) == sorted(
        [
            "core/cache.py:1: core imports crimes.models (no arrow crimes -> core)",
            "crimes/services/a.py:2: crimes imports predictions.models (no arrow "
            "predictions -> crimes)",
            "crimes/views.py:1: crimes imports the wiring",
            "predictions/models.py:3: predictions's models import predictions.services",
            "predictions/api.py:1: predictions imports commutes.services (no arrow "
            "commutes -> predictions)",
            "ml/events.py:2: ml imports django.db",
            "ml/grid.py:1: ml imports crimes.models",
            "ml/train.py:2: ml imports celery",
            "osm/names.py:3: osm imports django.conf",
            "osm/junctions.py:1: osm imports ml.grid",
            "streets/graph.py:2: streets imports predictions (no arrow predictions "
            "-> streets)",
            "streets/views.py:2: streets imports commutes (no arrow commutes -> "
            "streets)",
            "places/api.py:1: places imports predictions.models (no arrow "
            "predictions -> places)",
            "alerts/more.py:1: alerts imports places (no arrow places -> alerts)",
            "crimepredict_site/urls.py:1: defines handler (behaviour belongs in an "
            "app)",
            "crimepredict_site/cache_versions.py: not a wiring module "
            f"({sorted(WIRING_MODULES)})",
        ]
    )


def test_relative_imports_resolve_to_their_package(tmp_path):
    _write(
        tmp_path,
        {
            "crimes/services/b.py": "from . import a\nfrom ..models import X\n",
            "core/x.py": "from .y import z\n",
        },
    )
    assert imported_modules(tmp_path / "crimes/services/b.py", "crimes.services") == [
        (1, "crimes.services"),
        (2, "crimes.models"),
    ]
    assert imported_modules(tmp_path / "core/x.py", "core") == [(1, "core.y")]
