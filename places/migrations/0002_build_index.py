from django.db import migrations


class Migration(migrations.Migration):
    # The index is built by 0004, after the columns its builders write exist.
    dependencies = [
        ("places", "0001_initial"),
        ("commutes", "0005_street_line_big_roads"),
        ("crimes", "0005_importrun_is_a_run"),
    ]

    operations = []
