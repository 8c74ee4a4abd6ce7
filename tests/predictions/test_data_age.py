"""Dates and data age (issue 19): every page writes a day with its weekday and year,
says which forecast week it shows and how far the data goes, and counts the same
records on Home and History."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.gis.geos import Point
from django.urls import reverse

from core.local_time import SEATTLE, day_words
from crimes.models import Incident
from predictions.services.data_age import forecast_age
from tests.predictions.conftest import store_synthetic_week

pytestmark = pytest.mark.django_db

# The bundled extract's shape: reports through 31 Dec 2021, a forecast from 1 Jan.
WEEK_START = dt.datetime(2022, 1, 1, 0, 0, tzinfo=SEATTLE)
LAST_REPORT = dt.datetime(2021, 12, 31, 22, 15, tzinfo=SEATTLE)
WORDS = "forecast week: Sat 1 Jan 2022 to Fri 7 Jan 2022; data through Fri 31 Dec 2021"


def _incident(offense_id: int, offense: dt.datetime, reported: dt.datetime) -> None:
    Incident.objects.create(
        offense_id=offense_id,
        report_number=f"2021-{offense_id:06d}",
        offense_start=offense,
        reported_at=reported,
        crime_against="PROPERTY",
        offense_parent_group="LARCENY-THEFT",
        offense="Theft From Motor Vehicle",
        location=Point(-122.33, 47.61, srid=4326),
    )


@pytest.fixture
def old_week(grid):
    """1,234 reports (one of an offense from 2019), and the week after them."""
    _incident(1, dt.datetime(2019, 6, 1, 9, tzinfo=SEATTLE), LAST_REPORT)
    for i in range(2, 1235):
        when = dt.datetime(2021, 6, 1, 9, tzinfo=SEATTLE)
        _incident(i, when, when)
    store_synthetic_week(WEEK_START, hours=168)


def test_a_day_is_written_with_its_weekday_and_year():
    assert day_words(dt.date(2022, 1, 1)) == "Sat 1 Jan 2022"
    # An instant is read on Seattle's clock: 07:00 UTC on 1 Jan is 31 Dec there.
    assert day_words(dt.datetime(2022, 1, 1, 7, tzinfo=dt.UTC)) == "Fri 31 Dec 2021"


def test_an_old_week_says_which_week_and_how_far_the_data_goes(old_week):
    age = forecast_age(now=dt.datetime(2026, 12, 4, 16, 30, tzinfo=dt.UTC))
    assert age.words == WORDS
    assert age.old
    assert age.first_hour == WEEK_START
    config = age.as_config()
    assert config["firstHour"] == "2022-01-01T00:00:00-08:00"
    assert config["old"] is True


def test_a_current_week_starts_at_this_hour_and_is_not_old(grid):
    now = dt.datetime(2022, 1, 3, 8, 20, tzinfo=SEATTLE)
    _incident(1, now - dt.timedelta(days=1), now - dt.timedelta(hours=20))
    store_synthetic_week(WEEK_START, hours=168)
    age = forecast_age(now=now)
    assert age.first_hour == dt.datetime(2022, 1, 3, 8, tzinfo=SEATTLE)
    assert not age.old
    assert age.words.startswith("forecast week: Mon 3 Jan 2022 to ")


def test_no_forecast_no_words(grid):
    assert forecast_age() is None
    assert b'id="forecast-age"' not in reverse_get("commutes:home")


def reverse_get(name: str) -> bytes:
    from django.test import Client

    response = Client().get(reverse(name))
    assert response.status_code == 200
    return response.content


@pytest.mark.parametrize(
    "name",
    [
        "commutes:home",
        "commutes:commute",
        "predictions:forecast",
        "predictions:model-card",
    ],
)
def test_every_forecast_page_says_the_week_and_the_data_age(old_week, name):
    body = reverse_get(name).decode()
    assert 'id="forecast-age" class="forecast-age old"' in body
    assert WORDS[0].upper() + WORDS[1:] + "." in body
    assert '"today" here means Sat 1 Jan 2022' in body


def test_home_and_history_count_the_same_records_and_say_what_history_leaves_out(
    old_week,
):
    home = reverse_get("commutes:home").decode()
    history = reverse_get("crimes:history").decode()
    assert 'id="incident-count" data-count="1234">1,234<' in home
    assert "Built from\n    1,234 incidents" in home
    assert "(1,234 records," in history
    # History's selection is the last 12 months of offenses: the 2019 one is left
    # out, and the page says so next to the same total.
    assert "All 1,234 records are" in history
    assert "by default the last 12 months of data" in history
    # ... ending with the newest offense (1 Jun 2021), so the 2019 one is outside.
    assert "Tue 2 Jun 2020 to Tue 1 Jun 2021" in " ".join(history.split())


def test_template_filters_write_days_and_counts_one_way():
    from django.utils import translation

    from core.templatetags.counts import count
    from core.templatetags.dates import day

    assert day("2021-12-13") == "Mon 13 Dec 2021"  # a date kept as text (metrics)
    for language in ("en", "de", "fr"):  # whatever language is active
        with translation.override(language):
            assert count(71121) == "71,121"
