# The street network now lives in the streets app (streets 0001 takes the models
# into its state on the same tables): drop them from commutes' state only. No
# table, row or index is touched.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("commutes", "0005_street_line_big_roads"),
        ("streets", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="StreetEdge"),
                migrations.DeleteModel(name="StreetLine"),
                migrations.DeleteModel(name="StreetNetworkLoad"),
            ],
            database_operations=[],
        ),
    ]
