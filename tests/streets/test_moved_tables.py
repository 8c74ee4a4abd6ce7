"""The street network moved from commutes to streets without losing a row.

Migrates a filled database back to before the move (commutes 0005, no streets) and
forward again, inside the test's transaction: the move only changes Django's state,
so rows, ids and the content types (with their permissions) must come through.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from streets.models import StreetEdge, StreetLine, StreetNetworkLoad
from tests.reference_data import ensure_streets

pytestmark = pytest.mark.django_db

BEFORE = [("commutes", "0005_street_line_big_roads"), ("streets", None)]


def _migrate(targets) -> object:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state([t for t in targets if t[1]]).apps


def _leaves() -> list[tuple[str, str]]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def _fingerprint(edge, line, load) -> tuple:
    return (
        edge.objects.count(),
        sorted(edge.objects.values_list("id", flat=True))[::997],
        line.objects.count(),
        list(load.objects.order_by("id").values_list("id", "sha256")),
    )


def test_the_move_keeps_every_row_and_content_type():
    ensure_streets()
    edge_type = ContentType.objects.get_for_model(StreetEdge)
    assert edge_type.app_label == "streets"
    permission = Permission.objects.get(
        content_type=edge_type, codename="view_streetedge"
    )
    new = _fingerprint(StreetEdge, StreetLine, StreetNetworkLoad)
    assert new[0] > 35_000

    old_apps = _migrate(BEFORE)
    # Before the move the models are commutes' and read the same rows.
    old = [
        old_apps.get_model("commutes", name) for name in ("StreetEdge", "StreetLine")
    ]
    old_load = old_apps.get_model("commutes", "StreetNetworkLoad")
    assert _fingerprint(*old, old_load) == new
    assert ContentType.objects.get(pk=edge_type.pk).app_label == "commutes"
    # A row written under the old state is there after the move.
    added = old_load.objects.create(source_file="before-the-move.json", sha256="0" * 64)

    _migrate(_leaves())
    assert StreetNetworkLoad.objects.get(pk=added.pk).source_file == (
        "before-the-move.json"
    )
    StreetNetworkLoad.objects.filter(pk=added.pk).delete()
    assert _fingerprint(StreetEdge, StreetLine, StreetNetworkLoad) == new
    moved = ContentType.objects.get(pk=edge_type.pk)
    assert (moved.app_label, moved.model) == ("streets", "streetedge")
    assert Permission.objects.get(pk=permission.pk).content_type_id == edge_type.pk
