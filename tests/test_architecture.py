"""The dependency arrows of the code base, checked by walking every import (AST).

    ml/  (Django-free)
      ^
    core  <-  crimes  <-  predictions  <-  commutes  <-  places  <-  alerts
    crimepredict_site = wiring only (settings, urls, celery, wsgi, asgi)

An app may import ml and any app to its left, never one to its right; ml imports no
Django, no Celery and no app; no app imports the wiring; the wiring package holds
only its wiring modules, and they define no functions or classes (behaviour lives in
an app). Inside an app, models.py is the bottom layer: it imports nothing else of its
app (a model calling into its services was a cycle). Imports inside functions count
too: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Left to right: each may import those before it.
APPS = ("core", "crimes", "predictions", "commutes", "places", "alerts")
ML = "ml"
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
# What "Django-free" means for ml/: no web framework, no task queue, no app.
ML_FORBIDDEN = {
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
    rank = {app: i for i, app in enumerate(APPS)}
    for top in (*APPS, ML, WIRING):
        folder = root / top
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.py")):
            where = path.relative_to(root).as_posix()
            for line, module in imported_modules(path, _package_of(path, root)):
                target = module.split(".")[0]
                if target == top:
                    if path.name == "models.py" and top in rank:
                        if module.split(".")[:2] != [top, "models"]:
                            problems.append(
                                f"{where}:{line}: {top}'s models import {module}"
                            )
                    continue
                if top == ML:
                    if target in ML_FORBIDDEN:
                        problems.append(f"{where}:{line}: ml imports {module}")
                elif top in rank:
                    if target == WIRING:
                        problems.append(f"{where}:{line}: {top} imports the wiring")
                    elif target in rank and rank[target] > rank[top]:
                        problems.append(
                            f"{where}:{line}: {top} imports {module} (arrow runs "
                            f"{target} -> {top} only)"
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
            "crimepredict_site/__init__.py": "",
            "crimepredict_site/settings.py": "from core.env import env_bool\n",
            "crimepredict_site/urls.py": "def handler(request):\n    pass\n",
            "crimepredict_site/cache_versions.py": "",
        },
    )
    assert sorted(violations(tmp_path)) == sorted(
        [
            "core/cache.py:1: core imports crimes.models (arrow runs crimes -> core "
            "only)",
            "crimes/services/a.py:2: crimes imports predictions.models (arrow runs "
            "predictions -> crimes only)",
            "crimes/views.py:1: crimes imports the wiring",
            "predictions/models.py:3: predictions's models import predictions.services",
            "predictions/api.py:1: predictions imports commutes.services (arrow runs "
            "commutes -> predictions only)",
            "ml/events.py:2: ml imports django.db",
            "ml/grid.py:1: ml imports crimes.models",
            "ml/train.py:2: ml imports celery",
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
