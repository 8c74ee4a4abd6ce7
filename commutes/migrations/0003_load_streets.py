from django.db import migrations


def load(apps, schema_editor):
    # Needs the city limits (crimes 0002, for clipping) and the grid (predictions
    # 0002, for each edge's cells); the same function backs `load_streets`. The base
    # map's lines come in 0004, with their table.
    from streets.services.street_network import load_network

    load_network(base_map=False)


def unload(apps, schema_editor):
    apps.get_model("commutes", "StreetEdge").objects.all().delete()
    apps.get_model("commutes", "StreetNetworkLoad").objects.all().delete()
    apps.get_model("commutes", "Place").objects.filter(source="streets").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("commutes", "0002_street_network"),
        ("crimes", "0002_load_boundaries"),
        ("predictions", "0002_build_grid"),
    ]

    operations = [migrations.RunPython(load, unload)]
