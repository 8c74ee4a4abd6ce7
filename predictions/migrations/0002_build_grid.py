from django.db import migrations


def build(apps, schema_editor):
    # Needs the city limits (crimes 0002); the same function backs `build_grid`.
    from predictions.services.cells import build_cells

    with schema_editor.connection.cursor() as cursor:
        build_cells(cursor)


def unbuild(apps, schema_editor):
    apps.get_model("predictions", "Cell").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("predictions", "0001_initial"),
        ("crimes", "0002_load_boundaries"),
    ]

    operations = [migrations.RunPython(build, unbuild)]
