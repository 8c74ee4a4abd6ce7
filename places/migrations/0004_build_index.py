from django.db import migrations


def build(apps, schema_editor):
    # The same builders back `refresh_places`: the incidents (none on a fresh
    # database), the street network (commutes 0003), the areas (crimes 0002) and
    # data/places.
    from places.services.index import build_all

    build_all()


def unbuild(apps, schema_editor):
    apps.get_model("places", "Place").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("places", "0003_index_of_every_kind"),
        # Areas are named from their labels (crimes 0006).
        ("crimes", "0006_area_labels"),
    ]

    operations = [migrations.RunPython(build, unbuild)]
