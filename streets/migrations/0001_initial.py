# The street network moves from the commutes app to streets (issue 21). Only
# Django's state moves: the tables keep their names (Meta.db_table), so every row,
# id, index and sequence stays where it is. commutes 0006 drops the models from
# commutes' state. The content types follow, so permissions keep pointing at them.

import django.contrib.gis.db.models.fields
import django.contrib.postgres.fields
import django.contrib.postgres.indexes
from django.db import migrations, models



MODELS = ("streetedge", "streetline", "streetnetworkload")


def move_content_types(from_app: str, to_app: str):
    def move(apps, schema_editor):
        ContentType = apps.get_model("contenttypes", "ContentType")
        ContentType.objects.filter(app_label=from_app, model__in=MODELS).update(
            app_label=to_app
        )

    return move


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("commutes", "0005_street_line_big_roads"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='StreetNetworkLoad',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('source_file', models.CharField(max_length=255)),
                        ('sha256', models.CharField(max_length=64)),
                        ('osm_base', models.CharField(blank=True, max_length=32)),
                        ('edges', models.IntegerField(default=0)),
                        ('vertices', models.IntegerField(default=0)),
                        ('inserted', models.IntegerField(default=0)),
                        ('updated', models.IntegerField(default=0)),
                        ('deleted', models.IntegerField(default=0)),
                        ('unchanged', models.IntegerField(default=0)),
                        ('cells_computed', models.IntegerField(default=0)),
                        ('connected_share', models.FloatField(default=0.0, help_text='Share of vertices in the largest connected piece.')),
                        ('grid_signature', models.CharField(blank=True, max_length=64)),
                        ('seconds', models.FloatField(default=0.0)),
                        ('loaded_at', models.DateTimeField(auto_now_add=True)),
                    ],
                    options={
                        'db_table': 'commutes_streetnetworkload',
                        'ordering': ['-id'],
                        'get_latest_by': 'id',
                    },
                ),
                migrations.CreateModel(
                    name='StreetEdge',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('way_id', models.BigIntegerField(help_text='OpenStreetMap way id')),
                        ('part', models.SmallIntegerField(default=0, help_text='Occurrence of the same node pair within the way')),
                        ('source', models.BigIntegerField(db_index=True)),
                        ('target', models.BigIntegerField(db_index=True)),
                        ('name', models.CharField(blank=True, max_length=200)),
                        ('label', models.CharField(blank=True, max_length=200)),
                        ('highway', models.CharField(max_length=32)),
                        ('oneway', models.SmallIntegerField(default=0, help_text='1 one-way along the geometry, -1 against, 0 both ways')),
                        ('maxspeed_kmh', models.FloatField(blank=True, null=True)),
                        ('speed_kmh', models.FloatField(help_text="Driving speed: maxspeed or the class's")),
                        ('bridge', models.BooleanField(default=False)),
                        ('tunnel', models.BooleanField(default=False)),
                        ('length_m', models.FloatField(help_text='Length in EPSG:32610 metres')),
                        ('walk_s', models.FloatField(null=True)),
                        ('walk_back_s', models.FloatField(null=True)),
                        ('bike_s', models.FloatField(null=True)),
                        ('bike_back_s', models.FloatField(null=True)),
                        ('drive_s', models.FloatField(null=True)),
                        ('drive_back_s', models.FloatField(null=True)),
                        ('connected', models.BooleanField(default=True, help_text='In the largest connected piece (routes snap to it)')),
                        ('geom', django.contrib.gis.db.models.fields.LineStringField(srid=4326)),
                        ('geom_mercator', django.contrib.gis.db.models.fields.LineStringField(srid=3857)),
                        ('cell_ids', django.contrib.postgres.fields.ArrayField(base_field=models.BigIntegerField(), blank=True, null=True, size=None)),
                    ],
                    options={
                        'db_table': 'commutes_streetedge',
                        'indexes': [models.Index(fields=['highway'], name='street_edge_highway')],
                        'constraints': [models.UniqueConstraint(fields=('way_id', 'source', 'target', 'part'), name='street_edge_osm_key')],
                    },
                ),
                migrations.CreateModel(
                    name='StreetLine',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('label', models.CharField(blank=True, max_length=200)),
                        ('highway', models.CharField(max_length=32)),
                        ('rank', models.SmallIntegerField(help_text='0 motorway .. 8 living street')),
                        ('geom_mercator', django.contrib.gis.db.models.fields.LineStringField(srid=3857)),
                    ],
                    options={
                        'db_table': 'commutes_streetline',
                        'indexes': [django.contrib.postgres.indexes.GistIndex(condition=models.Q(('rank__lte', 3)), fields=['geom_mercator'], name='street_line_big_roads')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(
            move_content_types("commutes", "streets"),
            move_content_types("streets", "commutes"),
        ),
    ]
