"""Counts as every page writes them: "71,121", whatever language is active (Django's
floatformat "g" follows the active locale, which a page must not depend on).

    {% load counts %} {{ summary.total|count }}
"""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter(is_safe=True)
def count(value) -> str:
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return ""
