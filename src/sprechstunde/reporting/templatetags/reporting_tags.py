"""Formatting of shares and durations on the figures page."""

from __future__ import annotations

from django import template

from ..charts import minutes_text, percent_text

register = template.Library()


@register.filter
def percent(value: float | None) -> str:
    """0.8123 → "81,2 %" (in German); a dash when there is nothing to divide."""
    return "\u2013" if value is None else percent_text(value)


@register.filter
def minutes(value: float | None) -> str:
    """Average minutes with no decimals, or a dash."""
    if value is None:
        return "\u2013"
    return minutes_text(value)
