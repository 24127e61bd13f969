"""Forms of the video call pages."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .choices import InterpreterKind
from .services import LANGUAGE_MAX_LENGTH, NAME_MAX_LENGTH


class InterpreterInviteForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind of interpreting"), choices=InterpreterKind.choices, widget=forms.RadioSelect
    )
    language = forms.CharField(
        label=_("Language (optional)"), max_length=LANGUAGE_MAX_LENGTH, required=False
    )


class InterpreterNameForm(forms.Form):
    display_name = forms.CharField(
        label=_("Your name, as the others will see it"),
        max_length=NAME_MAX_LENGTH,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
