"""Forms clients fill in (the cancel form also serves staff and the reminder links): their
labels and errors exist in every client language (core/i18n_scope.py)."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sprechstunde.appointments.choices import Channel


class AppointmentCancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )


class ProposalAcceptForm(forms.Form):
    slot = forms.IntegerField(widget=forms.HiddenInput)


class ClientMoveForm(forms.Form):
    """A client's pick of a new time for their appointment: "office hours id|ISO start"."""

    slot = forms.CharField(max_length=80)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        office_hours, _sep, starts = str(cleaned.get("slot", "")).partition("|")
        try:
            cleaned["office_hours"] = int(office_hours)
            starts_at = datetime.datetime.fromisoformat(starts)
        except ValueError as error:
            raise forms.ValidationError(_("Please choose one of the offered times.")) from error
        if timezone.is_naive(starts_at):
            raise forms.ValidationError(_("Please choose one of the offered times."))
        cleaned["starts_at"] = starts_at
        return cleaned


class OfficeHoursBookForm(forms.Form):
    """A client's pick of one free office-hours slot."""

    office_hours = forms.IntegerField(widget=forms.HiddenInput)
    starts_at = forms.DateTimeField(widget=forms.HiddenInput)
    channel = forms.ChoiceField(choices=Channel.choices)
