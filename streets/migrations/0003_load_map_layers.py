from django.db import migrations


def load(apps, schema_editor):
    # The base map's water, parks and names, from the files in data/ (a later
    # `manage.py load_map_layers` replaces them the same way).
    from streets.services.basemap_layers import load_basemap_layers

    load_basemap_layers()


class Migration(migrations.Migration):
    dependencies = [("streets", "0002_map_areas_and_labels")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
