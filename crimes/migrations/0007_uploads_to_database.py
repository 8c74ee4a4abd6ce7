"""Admin uploads move from MEDIA_ROOT into PostgreSQL (core.file_store), under the same
names, so that workers on other machines can read them. The files on disk are left
where they are (delete them once the migration has run everywhere). An upload this
machine does not have is still read from the MEDIA_ROOT of the machine that does
(crimes.tasks.import_upload)."""

import logging
from pathlib import Path

from django.conf import settings
from django.db import migrations

log = logging.getLogger(__name__)


def move_uploads(apps, schema_editor):
    from core import file_store

    ImportRun = apps.get_model("crimes", "ImportRun")
    names = ImportRun.objects.exclude(upload="").values_list("upload", flat=True)
    for name in names.iterator():
        if not file_store.adopt(name, Path(settings.MEDIA_ROOT) / name):
            log.warning(
                "upload %s is not in %s: left where it is", name, settings.MEDIA_ROOT
            )


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_stored_files"),
        ("crimes", "0006_area_labels"),
    ]

    operations = [migrations.RunPython(move_uploads, migrations.RunPython.noop)]
