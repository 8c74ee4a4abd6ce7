"""Dates as every page writes them: weekday and year always (core.local_time).

    {% load dates %} {{ moment|day }}  -> Sat 1 Jan 2022
                     {{ moment|day_time }} -> Sat 1 Jan 2022, 08:00

Aware datetimes are shown on Seattle's clock (settings.TIME_ZONE), as Django's own
`date` filter does.
"""

from __future__ import annotations

from datetime import date, datetime

from django import template
from django.template.defaultfilters import date as date_filter

from core.local_time import DAY_FORMAT, DAY_TIME_FORMAT

register = template.Library()


def _read(value):
    """An ISO date or time given as text (as stored in JSON metrics) as one."""
    if isinstance(value, str):
        try:
            return (datetime if "T" in value else date).fromisoformat(value)
        except ValueError:
            return value
    return value


@register.filter(expects_localtime=True, is_safe=False)
def day(value) -> str:
    return date_filter(_read(value), DAY_FORMAT)


@register.filter(expects_localtime=True, is_safe=False)
def day_time(value) -> str:
    return date_filter(value, DAY_TIME_FORMAT)
