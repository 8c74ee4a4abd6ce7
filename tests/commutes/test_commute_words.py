"""A commute's figures in words (commutes.services.commute_words)."""

from __future__ import annotations

from datetime import datetime

import pytest

from commutes.services import commute_words as words
from core.local_time import SEATTLE

EIGHT = datetime(2021, 12, 21, 8, 0, tzinfo=SEATTLE)


def test_standing_says_quieter_or_busier_than_similar_trips_at_the_hour():
    similar = {"percentile": 30, "n": 250, "median_expected": 0.02}
    assert (
        words.standing(similar, "bike", EIGHT.replace(minute=20))
        == "quieter than 70% of similar bike trips leaving at 8 am"
    )
    assert (
        words.standing({**similar, "percentile": 82}, "walk", EIGHT.replace(hour=17))
        == "busier than 82% of similar walks leaving at 5 pm"
    )
    assert words.standing({**similar, "percentile": 52}, "drive", EIGHT).startswith(
        "about as busy as most similar drives"
    )
    assert words.standing({**similar, "percentile": None}, "bike", EIGHT) is None
    assert words.standing(None, "bike", EIGHT) is None


def test_one_in_n_trips_rounds_to_numbers_people_say():
    assert words.one_in_n(1 / 37) == (
        "About 1 reported incident within 100 m of your way in every 37 trips like this"
    ) or words.one_in_n(1 / 37).endswith("every 37 trips like this")
    assert words.one_in_n(1 / 123).endswith("every 120 trips like this")
    assert words.one_in_n(1 / 4.4).endswith("every 4 trips like this")
    assert words.one_in_n(0.9).endswith("on each trip like this")
    assert words.one_in_n(3.2).startswith("About 3 reported incidents")
    assert words.one_in_n(0.0) is None


def test_alternative_names_what_it_avoids():
    assert (
        words.alternative(3.2, "Broadway", 31)
        == "+3 min, avoids the busiest blocks of Broadway"
    )
    assert (
        words.alternative(6.0, None, 24.6)
        == "+6 min, 25% fewer expected reported incidents"
    )


def test_best_time_is_a_choice_only_beyond_the_model_error():
    later = EIGHT.replace(minute=40)
    assert (
        words.best_time(later, 0.08, EIGHT, 0.1, 0.05)
        == "Leave at 8:40 am rather than 8 am: 20% fewer"
    )
    close = words.best_time(later, 0.098, EIGHT, 0.1, 0.05)
    assert close.startswith("Any time in your window is about the same")
    assert "within the model's measured error (about 5%)" in close
    # With no measured error the difference is given as it is.
    assert words.best_time(later, 0.098, EIGHT, 0.1, None).endswith(": 2% fewer")
    assert words.clock(EIGHT.replace(hour=0)) == "midnight"
    assert words.clock(EIGHT.replace(hour=12)) == "noon"


def test_the_measured_error_is_the_model_cards_calibration_error():
    from types import SimpleNamespace

    from predictions.services.headline_metrics import measured_error

    cal = {"mean_pred": [0.1, 0.3], "mean_obs": [0.12, 0.27], "n": [10, 10]}
    version = SimpleNamespace(
        kind="neural",
        metrics={"backtest": {"calibration": {"150m": {"24h": {"neural": cal}}}}},
    )
    # |1.0 - 1.2| + |3.0 - 2.7| over 3.9 observed
    assert measured_error(version) == pytest.approx(0.5 / 3.9)
    assert measured_error(SimpleNamespace(kind="neural", metrics={})) is None
