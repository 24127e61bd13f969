"""The filter form of the trail page and its CSV export."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class AuditFilterForm(forms.Form):
    """Filters for the trail; every field is optional and they combine with AND."""

    actor = forms.CharField(
        label=_("Actor (e-mail)"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "email"}),
    )
    action = forms.CharField(
        label=_("Action"),
        required=False,
        max_length=60,
        help_text=_('An area such as "client", or an exact action such as "client.read".'),
        widget=forms.TextInput(attrs={"list": "audit-actions", "autocomplete": "off"}),
    )
    client = forms.IntegerField(
        label=_("Client number"),
        required=False,
        min_value=1,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    target_type = forms.CharField(
        label=_("Object type"),
        required=False,
        max_length=60,
        help_text=_('For example "clients.client".'),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("Until"), required=False, widget=DateInput())

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from and date_to and date_from > date_to:
            self.add_error("date_to", _("The end date must not be before the start date."))
        return cleaned

    def filters(self) -> dict[str, Any]:
        """The cleaned values as keyword arguments for `audit_entry_list`."""
        data = self.cleaned_data
        return {
            "actor_email": data.get("actor") or "",
            "action": data.get("action") or "",
            "client_id": data.get("client"),
            "target_type": data.get("target_type") or "",
            "date_from": data.get("date_from"),
            "date_to": data.get("date_to"),
        }
