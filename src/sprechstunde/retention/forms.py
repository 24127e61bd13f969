"""Forms of the retention pages: a client's request, a legal hold."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .choices import RequestKind
from .services import REASON_MAX_LENGTH

MATTER_CHOICES = [
    ("", _("The whole client")),
    ("agreements.decision", _("One decision")),
    ("agreements.cooperationplan", _("One cooperation plan")),
    ("documents.document", _("One document")),
    ("appointments.appointment", _("One appointment")),
]


class RequestRecordForm(forms.Form):
    kind = forms.ChoiceField(label=_("The client asks for"), choices=RequestKind.choices)
    received_on = forms.DateField(
        label=_("Received on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    note = forms.CharField(label=_("Note (optional)"), max_length=500, required=False)


class LegalHoldForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (e.g. objection or court case file number)"), max_length=REASON_MAX_LENGTH
    )
    target_type = forms.ChoiceField(label=_("Hold"), choices=MATTER_CHOICES, required=False)
    target_id = forms.CharField(label=_("Number of the matter"), max_length=64, required=False)

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        target_type = data.get("target_type") or ""
        target_id = (data.get("target_id") or "").strip()
        if target_type and not target_id.isdigit():
            self.add_error("target_id", _("Enter the number of the matter."))
        if not target_type and target_id:
            self.add_error("target_type", _("Choose what the number names."))
        data["target_id"] = target_id
        return data
