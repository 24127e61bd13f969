"""Forms for the client pages. They parse input; the rules live in services.py."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from sprechstunde.accounts.models import User
from sprechstunde.core.sms import sms_enabled

from .choices import REQUIRED_PURPOSES, ConsentPurpose, InterpreterNeed
from .models import ConsentText


class CaseManagerChoiceField(forms.ModelChoiceField[User]):
    def label_from_instance(self, obj: User) -> str:
        return obj.display_name


class ClientSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Search by name, customer number, BG number, e-mail or phone"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )


class ClientCreateForm(forms.Form):
    first_name = forms.CharField(
        label=_("First name"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    last_name = forms.CharField(
        label=_("Last name"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    email = forms.EmailField(
        label=_("E-mail address"),
        required=False,
        help_text=_("Needed for the invitation by e-mail."),
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    mobile_number = forms.CharField(
        label=_("Mobile number"),
        required=False,
        max_length=32,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )
    preferred_language = forms.ChoiceField(
        label=_("Preferred language"),
        choices=settings.LANGUAGES,
        initial=settings.LANGUAGE_CODE,
        help_text=_("Invitation and portal are shown in this language."),
    )
    interpreter = forms.ChoiceField(
        label=_("Interpreter"),
        choices=InterpreterNeed.choices,
        required=False,
        help_text=_("Booking a video appointment then offers the interpreter link."),
    )
    interpreter_language = forms.CharField(
        label=_("Interpreting language"),
        required=False,
        max_length=60,
        help_text=_("For example Arabic (Syrian), Dari, Kurmanji. Empty: the preferred language."),
    )
    customer_number = forms.CharField(
        label=_("Customer number (optional)"),
        required=False,
        max_length=20,
        help_text=_("Three digits, a letter and six digits, for example 123D456789."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    bg_number = forms.CharField(
        label=_("BG number (optional)"),
        required=False,
        max_length=24,
        help_text=_("Office number, BG and seven digits, for example 12345BG0012345."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    case_manager = CaseManagerChoiceField(
        label=_("Case manager"), queryset=User.objects.none(), empty_label=None
    )
    send_invitation = forms.BooleanField(
        label=_("Send the invitation by e-mail right away"), required=False, initial=True
    )

    def __init__(self, *args: Any, case_managers: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["case_manager"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = case_managers
        if case_managers.count() <= 1:
            # Nothing to choose: the client joins the only caseload on offer.
            del self.fields["case_manager"]


class ClientUpdateForm(forms.Form):
    """Name, contact data and language of an existing client."""

    first_name = ClientCreateForm.base_fields["first_name"]
    last_name = ClientCreateForm.base_fields["last_name"]
    email = ClientCreateForm.base_fields["email"]
    mobile_number = ClientCreateForm.base_fields["mobile_number"]
    preferred_language = ClientCreateForm.base_fields["preferred_language"]
    interpreter = ClientCreateForm.base_fields["interpreter"]
    interpreter_language = ClientCreateForm.base_fields["interpreter_language"]
    customer_number = ClientCreateForm.base_fields["customer_number"]
    bg_number = ClientCreateForm.base_fields["bg_number"]
    # The postal address for decisions and letters by post; optional, all or nothing.
    postal_street = forms.CharField(
        label=_("Street and house number"),
        required=False,
        max_length=60,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    postal_supplement = forms.CharField(
        label=_("Address supplement (optional)"),
        required=False,
        max_length=60,
        help_text=_("For example c/o name, flat or back building."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    postal_code = forms.CharField(
        label=_("Postcode"),
        required=False,
        max_length=5,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )
    postal_city = forms.CharField(
        label=_("City"),
        required=False,
        max_length=50,
        help_text=_(
            "Decisions and letters by post go to this address. Leave all empty if unknown."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args: Any, email_locked: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if email_locked:
            field = self.fields["email"]
            field.disabled = True
            field.help_text = _("The client logs in to the portal with this address.")


class InvitationAcceptForm(forms.Form):
    """One unticked checkbox per purpose, plus the id of the text version shown for it; for a
    client invited by letter with nothing on record for login codes (`needs_contact`), her
    e-mail address, or her mobile number when text messages are set up."""

    def __init__(
        self,
        *args: Any,
        texts: dict[str, ConsentText],
        needs_contact: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.texts = texts
        self.needs_contact = needs_contact
        if needs_contact:
            # Checked by the service (clients.services._contact_given), as staff entries are.
            self.fields["email"] = forms.CharField(
                label=_("Your e-mail address"),
                required=False,
                max_length=254,
                widget=forms.TextInput(
                    attrs={"type": "email", "autocomplete": "email", "inputmode": "email"}
                ),
            )
            if sms_enabled():
                self.fields["mobile_number"] = forms.CharField(
                    label=_("or your mobile number"),
                    required=False,
                    max_length=32,
                    widget=forms.TextInput(
                        attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}
                    ),
                )
        for purpose in ConsentPurpose:
            if purpose not in texts:
                continue
            self.fields[f"consent_{purpose}"] = forms.BooleanField(
                label=purpose.label, required=False
            )
            self.fields[f"text_{purpose}"] = forms.IntegerField(
                widget=forms.HiddenInput, initial=texts[purpose].pk, required=False
            )

    def choices(self) -> list[dict[str, Any]]:
        """What the template shows per purpose: text, checkbox, whether it is required."""
        return [
            {
                "purpose": purpose,
                "text": self.texts[purpose],
                "field": self[f"consent_{purpose}"],
                "text_field": self[f"text_{purpose}"],
                "required": purpose in REQUIRED_PURPOSES,
            }
            for purpose in ConsentPurpose
            if purpose in self.texts
        ]

    def chosen_purposes(self) -> list[str]:
        return [
            purpose
            for purpose in ConsentPurpose.values
            if self.cleaned_data.get(f"consent_{purpose}")
        ]

    def contact(self) -> dict[str, str]:
        """The e-mail address and mobile number typed in (empty when not asked for)."""
        return {
            "email": self.cleaned_data.get("email") or "",
            "mobile_number": self.cleaned_data.get("mobile_number") or "",
        }

    def shown_text_ids(self) -> dict[str, int]:
        return {
            purpose: self.cleaned_data[f"text_{purpose}"]
            for purpose in ConsentPurpose.values
            if self.cleaned_data.get(f"text_{purpose}") is not None
        }


class ConsentGiveForm(forms.Form):
    """Giving an optional consent again: the id of the text version the client read."""

    text = forms.IntegerField(widget=forms.HiddenInput)


class PaperConsentForm(forms.Form):
    """Staff record a consent or a withdrawal that the client signed on paper."""

    action = forms.ChoiceField(
        choices=[("give", "give"), ("withdraw", "withdraw")], widget=forms.HiddenInput
    )
    text = forms.IntegerField(widget=forms.HiddenInput, required=False)
    confirmed = forms.BooleanField(
        required=True,
        error_messages={"required": _("Please confirm that you hold the signed form.")},
    )

    def __init__(self, *args: Any, withdraw: bool, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {})["action"] = "withdraw" if withdraw else "give"
        super().__init__(*args, **kwargs)
        self.fields["confirmed"].label = (
            _("I hold the withdrawal signed by the client; it will be filed with the case.")
            if withdraw
            else _("I hold this text signed by the client; it will be filed with the case.")
        )
