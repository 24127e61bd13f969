"""The public feedback form of the accessibility statement."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

MESSAGE_MAX_LENGTH = 5000


class FeedbackForm(forms.Form):
    """What is the barrier, where, and (optionally) how to answer."""

    message = forms.CharField(
        label=_("What did not work, or what do you need in another form?"),
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=MESSAGE_MAX_LENGTH,
        error_messages={
            "required": _("Please describe the barrier."),
            "max_length": _("Please keep the message under %(limit_value)d characters."),
        },
    )
    page = forms.CharField(
        label=_("Which page? (optional)"),
        required=False,
        max_length=300,
        error_messages={"max_length": _("Please shorten the page name or address.")},
    )
    name = forms.CharField(label=_("Your name (optional)"), required=False, max_length=150)
    email = forms.EmailField(
        label=_("Your e-mail address, if you want an answer (optional)"),
        required=False,
        error_messages={"invalid": _("Please enter a valid e-mail address, or leave it empty.")},
    )

    def full_clean(self) -> None:
        """Fields with an error point to it, so screen readers read the message with them."""
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                attrs["aria-invalid"] = "true"
                attrs["aria-describedby"] = f"id_{name}-error"

    def clean_message(self) -> str:
        message = str(self.cleaned_data["message"]).strip()
        if len(message) < 10:
            raise forms.ValidationError(
                _("Please describe the barrier in a few words (at least 10 characters).")
            )
        return message


class FeedbackAnswerForm(forms.Form):
    """Admins: what was done about a report."""

    note = forms.CharField(
        label=_("What was done"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=2000,
    )
