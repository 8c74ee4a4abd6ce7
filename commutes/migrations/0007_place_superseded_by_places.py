# commutes.Place was the typeahead's table; the places app's index (places.Place,
# built from the incidents and the street network) superseded it in issue 17, and
# since the network moved to streets nothing writes or reads it. Derived data only.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('commutes', '0006_street_network_moved_to_streets'),
    ]

    operations = [
        migrations.DeleteModel(
            name='Place',
        ),
    ]
