"""Forms of the documents app: the upload (the file inputs themselves are read from
request.FILES), a document request, and the e-file mark."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .services.requests import NOTE_MAX_LENGTH, TITLE_MAX_LENGTH


class DocumentUploadForm(forms.Form):
    """The title of a document; files come as `files` (no JavaScript) or as finished
    resumable uploads `upload_ids` (in page order, from upload.js)."""

    title = forms.CharField(
        label=_("What is it? (optional)"),
        max_length=200,
        required=False,
        help_text=_("For example: payslip March"),
    )


class DateInput(forms.DateInput):
    """The browser's own date picker; the value travels as YYYY-MM-DD."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class DocumentRequestForm(forms.Form):
    """What the case manager asks for, by when, and a note for the client. The service
    checks the rules again (date not in the past, lengths); this form gives the messages."""

    title = forms.CharField(
        label=_("Which document?"),
        max_length=TITLE_MAX_LENGTH,
        help_text=_("For example: payslip for March"),
        error_messages={"required": _("Please say which document you need.")},
    )
    due_on = forms.DateField(
        label=_("Due on"),
        widget=DateInput(),
        error_messages={
            "required": _("Please enter a due date."),
            "invalid": _("Please enter a valid date."),
        },
    )
    note = forms.CharField(
        label=_("Note for the client (optional)"),
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        self.fields["due_on"].widget.attrs["min"] = today.isoformat()

    def clean_due_on(self) -> Any:
        due_on = self.cleaned_data["due_on"]
        if due_on < timezone.localdate():
            raise forms.ValidationError(_("The due date cannot be in the past."))
        return due_on


class EfileMarkForm(forms.Form):
    """Mark a document as taken into the e-file ("1"), or take the mark back ("0")."""

    in_efile = forms.TypedChoiceField(
        choices=[("1", "1"), ("0", "0")], coerce=lambda value: value == "1"
    )
