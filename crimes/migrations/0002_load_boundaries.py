from django.conf import settings
from django.db import migrations


def load(apps, schema_editor):
    from crimes.boundaries import load_boundaries

    load_boundaries(apps.get_model("crimes", "Area"), settings.BOUNDARIES_DIR)


def unload(apps, schema_editor):
    apps.get_model("crimes", "Area").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("crimes", "0001_initial")]

    operations = [migrations.RunPython(load, unload)]
