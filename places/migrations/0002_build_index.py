from django.db import migrations


def build(apps, schema_editor):
    # The same builders back `refresh_places`; they read the incidents (none on a
    # fresh database) and the street network (loaded by commutes 0003).
    from places.services.index import build_all

    build_all()


def unbuild(apps, schema_editor):
    apps.get_model("places", "Place").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("places", "0001_initial"),
        ("commutes", "0005_street_line_big_roads"),
        ("crimes", "0005_importrun_is_a_run"),
    ]

    operations = [migrations.RunPython(build, unbuild)]
