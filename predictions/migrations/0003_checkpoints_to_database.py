"""Model checkpoints move from ARTIFACTS_DIR into PostgreSQL (core.file_store), under
their names (the path relative to ARTIFACTS_DIR), so that forecast workers on other
machines can load them. The files on disk are left where they are. A checkpoint
this machine does not have is stored by the first process that has it and loads it
(predictions.services.checkpoints)."""

import logging

from django.conf import settings
from django.db import migrations, models

log = logging.getLogger(__name__)


def move_checkpoints(apps, schema_editor):
    from core import file_store

    ModelVersion = apps.get_model("predictions", "ModelVersion")
    names = ModelVersion.objects.exclude(checkpoint="").values_list(
        "checkpoint", flat=True
    )
    for name in names.iterator():
        if not file_store.adopt(name, settings.ARTIFACTS_DIR / name):
            log.warning("checkpoint %s is not in %s", name, settings.ARTIFACTS_DIR)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_stored_files"),
        ("predictions", "0002_build_grid"),
    ]

    operations = [
        migrations.AlterField(
            model_name="modelversion",
            name="checkpoint",
            field=models.CharField(
                help_text="Name of the checkpoint stored in PostgreSQL "
                "(core.file_store).",
                max_length=255,
            ),
        ),
        migrations.RunPython(move_checkpoints, migrations.RunPython.noop),
    ]
