from django.conf import settings
from django.db import migrations, models


def label(apps, schema_editor):
    from crimes.boundaries import label_areas

    label_areas(apps.get_model("crimes", "Area"), settings.BOUNDARIES_DIR)


class Migration(migrations.Migration):
    """Areas named as people say them (crimes.names), computed once here and at
    every boundary load, never per request."""

    dependencies = [("crimes", "0005_importrun_is_a_run")]

    operations = [
        migrations.AddField(
            model_name="area",
            name="label",
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddField(
            model_name="area",
            name="precinct",
            field=models.CharField(blank=True, max_length=4),
        ),
        migrations.AddField(
            model_name="area",
            name="outside",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(label, migrations.RunPython.noop),
    ]
