"""A covering index for the history aggregations (issue 3).

Every history query filters on offense_start and then groups or filters by a few small
columns. With those columns in the index's INCLUDE list, a citywide year is an
index-only scan (no heap visits), which keeps a cold grid well under 300 ms on the
full 2012-2021 data. Written as SQL so the model state (and makemigrations) is not
touched: the index is a physical detail of these queries, not part of the model.
"""

from django.db import migrations

INDEX = "incident_history_cover"


class Migration(migrations.Migration):
    dependencies = [("crimes", "0002_load_boundaries")]

    operations = [
        migrations.RunSQL(
            sql=f"""
                CREATE INDEX IF NOT EXISTS {INDEX} ON crimes_incident (offense_start)
                INCLUDE (x_utm, y_utm, local_hour, local_dow, crime_against,
                         offense_parent_group, offense_code, beat, mcpp);
            """,
            reverse_sql=f"DROP INDEX IF EXISTS {INDEX};",
        ),
    ]
