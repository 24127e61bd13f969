"""The filter of the figures page and its CSV export: a date range, and a team for admins."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sprechstunde.accounts.selectors import team_choices

# Longer ranges make the month chart unreadable and are better served by several exports.
MAX_DAYS = 3 * 366


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


def default_range(today: datetime.date | None = None) -> tuple[datetime.date, datetime.date]:
    """Twelve whole months: the current one and the eleven before it.

    The current month is taken to its end: appointments later this month that were already
    cancelled count, those still booked do not (they are neither held nor missed yet).
    """
    today = today or timezone.localdate()
    first = today.replace(day=1)
    last = (first + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)
    for _month in range(11):
        first = (first - datetime.timedelta(days=1)).replace(day=1)
    return first, last


class FiguresFilterForm(forms.Form):
    """Date range (both days included) and, for administrators, one team or all teams."""

    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("Until"), required=False, widget=DateInput())
    team = forms.TypedChoiceField(
        label=_("Team"), required=False, coerce=int, empty_value=None, choices=()
    )

    def __init__(self, *args: Any, can_choose_team: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if can_choose_team:
            team_field = self.fields["team"]
            assert isinstance(team_field, forms.TypedChoiceField)
            team_field.choices = [
                ("", _("All teams")),
                *((team.pk, team.name) for team in team_choices()),
            ]
        else:
            del self.fields["team"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        default_from, default_to = default_range()
        date_from = cleaned.get("date_from") or default_from
        date_to = cleaned.get("date_to") or default_to
        if "date_from" in self.errors or "date_to" in self.errors:
            return cleaned
        if date_from > date_to:
            self.add_error("date_to", _("The end date must not be before the start date."))
        elif (date_to - date_from).days >= MAX_DAYS:
            self.add_error("date_to", _("Choose a range of at most three years."))
        cleaned["date_from"], cleaned["date_to"] = date_from, date_to
        return cleaned

    def filters(self) -> dict[str, Any]:
        """Keyword arguments for `figures_report`: `end` is the day after the last one."""
        data = self.cleaned_data
        return {
            "start": data["date_from"],
            "end": data["date_to"] + datetime.timedelta(days=1),
            "team_id": data.get("team"),
        }
