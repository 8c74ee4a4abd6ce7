"""The SPD domain: reported incidents, where they came from, and the city's areas."""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Func

from core.cache import TrackedQuerySet
from core.models import Run
from ml.events import PLACEHOLDER_LOCAL_TIMES_S
from ml.timeutil import TZ_NAME


class CrimeAgainst(models.TextChoices):
    PERSON = "PERSON", "Person"
    PROPERTY = "PROPERTY", "Property"
    SOCIETY = "SOCIETY", "Society"
    NOT_A_CRIME = "NOT_A_CRIME", "Not a crime"
    OTHER = "OTHER", "Other / unknown"


# Offenses against PERSON and PROPERTY are what a commuter cares about and what we
# forecast by default (see DESIGN, "Targets").
DEFAULT_TARGET_CATEGORIES = (CrimeAgainst.PERSON, CrimeAgainst.PROPERTY)


def placeholder_sql(start: str = "offense_start", end: str = "offense_end") -> str:
    """ml.events.is_placeholder as SQL over two timestamptz columns: a start at a
    placeholder Seattle clock time with no end, or an end not after the start."""
    times = ", ".join(str(int(s)) for s in PLACEHOLDER_LOCAL_TIMES_S)
    return (
        f"(extract(epoch FROM ({start} AT TIME ZONE '{TZ_NAME}')::time) IN ({times})"
        f" AND ({end} IS NULL OR {end} <= {start}))"
    )


class _LocalPart(Func):
    """EXTRACT(<part> FROM ts AT TIME ZONE <Seattle>) as a smallint.

    Written as SQL so it can be a stored generated column: every row gets the same
    Seattle-clock hour and weekday whether it came from the importer or the ORM.
    """

    output_field = models.SmallIntegerField()

    def __init__(self, expression, part: str, offset: int = 0):
        self.part = part
        self.offset = offset
        super().__init__(expression)

    def as_sql(self, compiler, connection, **extra):
        inner, params = compiler.compile(self.source_expressions[0])
        sql = (
            f"(EXTRACT({self.part} FROM ({inner}) AT TIME ZONE '{TZ_NAME}')"
            f" + {self.offset})::smallint"
        )
        return sql, params


class _UtmCoordinate(Func):
    """ST_X / ST_Y of the location projected to the analysis SRID (metres)."""

    output_field = models.FloatField()

    def __init__(self, expression, axis: str):
        self.axis = axis
        super().__init__(expression)

    def as_sql(self, compiler, connection, **extra):
        inner, params = compiler.compile(self.source_expressions[0])
        srid = settings.ANALYSIS_SRID
        return f"ST_{self.axis}(ST_Transform({inner}, {srid}))", params


class Incident(models.Model):
    """One SPD offense record (one row of tazs-3rd5), keyed on its Offense ID."""

    offense_id = models.BigIntegerField(unique=True)
    report_number = models.CharField(max_length=32)
    offense_start = models.DateTimeField(null=True, blank=True)
    offense_end = models.DateTimeField(null=True, blank=True)
    reported_at = models.DateTimeField()
    group_a_b = models.CharField("group A/B", max_length=2, blank=True)
    crime_against = models.CharField(
        max_length=16, choices=CrimeAgainst.choices, default=CrimeAgainst.OTHER
    )
    offense_parent_group = models.CharField(max_length=96, blank=True)
    offense = models.CharField(max_length=128, blank=True)
    offense_code = models.CharField(max_length=8, blank=True)
    precinct = models.CharField(max_length=16, blank=True)
    sector = models.CharField(max_length=16, blank=True)
    beat = models.CharField(max_length=16, blank=True)
    mcpp = models.CharField("MCPP / neighborhood", max_length=64, blank=True)
    block_address = models.CharField("100 block address", max_length=128, blank=True)
    # Only in the 2025 NIBRS republish.
    shooting_type_group = models.CharField(max_length=64, blank=True)
    reporting_area = models.CharField(max_length=16, blank=True)
    # NULL when the record has no usable location (0,0, REDACTED, -1): such rows count
    # in totals and time series but never on maps.
    location = models.PointField(srid=4326, null=True, blank=True)

    # Derived, stored by PostgreSQL itself so the importer and the ORM always agree.
    x_utm = models.GeneratedField(
        expression=_UtmCoordinate("location", "X"),
        output_field=models.FloatField(null=True),
        db_persist=True,
    )
    y_utm = models.GeneratedField(
        expression=_UtmCoordinate("location", "Y"),
        output_field=models.FloatField(null=True),
        db_persist=True,
    )
    local_hour = models.GeneratedField(
        expression=_LocalPart("offense_start", "HOUR"),
        output_field=models.SmallIntegerField(null=True),
        db_persist=True,
    )
    # 0 = Monday ... 6 = Sunday (ISO day of week minus one).
    local_dow = models.GeneratedField(
        expression=_LocalPart("offense_start", "ISODOW", offset=-1),
        output_field=models.SmallIntegerField(null=True),
        db_persist=True,
    )

    source = models.CharField(max_length=16, blank=True)
    import_run = models.ForeignKey(
        "crimes.ImportRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    imported_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Its writes without signals bump the data's cache version (core.cache).
    objects = TrackedQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["offense_start"], name="incident_offense_start"),
            models.Index(fields=["reported_at"], name="incident_reported_at"),
            models.Index(
                fields=["crime_against", "offense_start"], name="incident_cat_start"
            ),
            models.Index(
                fields=["offense_parent_group", "offense_start"],
                name="incident_group_start",
            ),
            models.Index(fields=["beat"], name="incident_beat"),
            models.Index(fields=["mcpp"], name="incident_mcpp"),
        ]

    def __str__(self) -> str:
        return f"{self.report_number} {self.offense} ({self.offense_id})"


class ImportRun(Run):
    """One import of one file or one SODA sync, with everything it did.

    ``progress`` is the fraction of the file's bytes read (1.0 once it succeeded).
    """

    class Source(models.TextChoices):
        COMMAND = "command", "Command line"
        UPLOAD = "upload", "Admin upload"
        SODA = "soda", "SODA API sync"

    # What an import counts, in the order the admin and its status JSON show them.
    COUNT_FIELDS = (
        "rows_read",
        "inserted",
        "updated",
        "unchanged",
        "rejected",
        "without_location",
    )

    source = models.CharField(max_length=16, choices=Source.choices)
    file_name = models.CharField(max_length=255, blank=True)
    upload = models.FileField(upload_to="imports/%Y/%m/", blank=True)
    file_format = models.CharField(max_length=32, blank=True)
    dry_run = models.BooleanField(default=False)
    bytes_total = models.BigIntegerField(default=0)
    bytes_done = models.BigIntegerField(default=0)
    rows_read = models.IntegerField(default=0)
    inserted = models.IntegerField(default=0)
    updated = models.IntegerField(default=0)
    unchanged = models.IntegerField(default=0)
    rejected = models.IntegerField(default=0)
    without_location = models.IntegerField(default=0)

    class Meta(Run.Meta):
        pass

    def __str__(self) -> str:
        return f"Import #{self.pk} {self.file_name or self.source} ({self.status})"


class RejectedRow(models.Model):
    """A row an import refused, with where it was and why."""

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="rejects")
    line_number = models.IntegerField()
    reason = models.CharField(max_length=255)
    raw = models.TextField(blank=True)

    class Meta:
        ordering = ["run", "line_number"]

    def __str__(self) -> str:
        return f"line {self.line_number}: {self.reason}"


class Area(models.Model):
    """City limits, precincts, beats, MCPP areas, neighborhoods (data/boundaries)."""

    class Kind(models.TextChoices):
        CITY = "city", "City limits"
        PRECINCT = "precinct", "SPD precinct"
        BEAT = "beat", "SPD beat"
        MCPP = "mcpp", "MCPP neighborhood"
        NEIGHBORHOOD = "neighborhood", "Neighborhood"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    # The value the SPD records use (beat code, MCPP name as in the data, ...).
    code = models.CharField(max_length=96)
    # The name people know (a beat's neighbourhoods, an MCPP area in title case) and
    # the label every list shows; both made when the boundaries load (crimes.names).
    name = models.CharField(max_length=128)
    label = models.CharField(max_length=200, blank=True)
    # SPD precinct code (N, E, S, W, SW) of a beat or MCPP area.
    precinct = models.CharField(max_length=4, blank=True)
    # A buffer or water beat: listed under "outside a beat / location unknown".
    outside = models.BooleanField(default=False)
    geom = models.MultiPolygonField(srid=4326)

    objects = TrackedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "code"], name="area_kind_code_unique"
            )
        ]
        ordering = ["kind", "code"]

    def __str__(self) -> str:
        return self.label or f"{self.get_kind_display()} {self.name}"
