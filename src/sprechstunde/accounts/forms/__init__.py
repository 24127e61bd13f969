"""Forms for login (allauth overrides), the profile, staff, teams and substitutions.

The client's login by code is in `client_login` (client-facing: every client language)."""

from __future__ import annotations

from typing import Any

from allauth.account.forms import LoginForm, ResetPasswordForm
from allauth.mfa.base.forms import AuthenticateForm
from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sprechstunde.accounts.choices import STAFF_ROLE_CHOICES, Role
from sprechstunde.accounts.forms.client_login import checked_against_budget
from sprechstunde.accounts.login_budget import login_budget_key_for_user
from sprechstunde.accounts.models import User
from sprechstunde.accounts.selectors import (
    substitution_absent_choices,
    substitution_substitute_choices,
    team_choices,
)
from sprechstunde.core.languages import language_codes_for


class StaffLoginForm(LoginForm):
    """allauth's login form; the "forgot password" link sits below the button on our page
    instead of between the label and the password field."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["password"].help_text = ""


class BudgetedMFAAuthenticateForm(AuthenticateForm):
    """allauth's TOTP / recovery-code step, counted against the account's failure budget:
    a staff member's wrong passwords and wrong authenticator codes share one budget."""

    def clean_code(self) -> str:
        key = login_budget_key_for_user(user=self.user)
        return str(checked_against_budget(key, super().clean_code))


class StaffPasswordResetForm(ResetPasswordForm):
    """Password reset is for staff: clients have no password (they log in by code).

    A client's address gets the same answer as an unknown one and no mail.
    """

    def clean_email(self) -> str:
        email: str = super().clean_email()
        users: list[Any] = getattr(self, "users", [])
        self.users = [user for user in users if getattr(user, "role", None) != Role.CLIENT]
        return email


class LanguagePreferenceForm(forms.Form):
    preferred_language = forms.ChoiceField(
        label=_("Language"),
        required=False,
        help_text=_("“Automatic” follows your browser or the language switch at the bottom."),
    )

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: forms.ChoiceField = self.fields["preferred_language"]  # type: ignore[assignment]
        offered = language_codes_for(user)
        field.choices = [
            ("", _("Automatic")),
            *[(code, name) for code, name in settings.LANGUAGES if code in offered],
        ]


class StaffForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"), max_length=254)
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    role = forms.ChoiceField(label=_("Role"), choices=STAFF_ROLE_CHOICES)
    team: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Team"),
        queryset=None,
        required=False,
        empty_label=_("No team"),
        help_text=_("Required for case managers and team leads."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = team_choices()  # type: ignore[attr-defined]
        self.fields["email"].widget.attrs["autocomplete"] = "off"


class StaffUpdateForm(StaffForm):
    """Like StaffForm, but the e-mail address (the login) is shown, not changed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["email"]


class TeamForm(forms.Form):
    name = forms.CharField(label=_("Team name"), max_length=200)


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        user: User = obj
        if user.team_id:
            return f"{user.display_name} ({user.team})"
        return user.display_name


class SubstitutionForm(forms.Form):
    absent = UserChoiceField(label=_("Absent colleague"), queryset=None)
    substitute = UserChoiceField(label=_("Stands in"), queryset=None)
    starts_on = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(
        label=_("Until (inclusive)"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        absent_qs = substitution_absent_choices(user=user)
        self.fields["absent"].queryset = absent_qs  # type: ignore[attr-defined]
        self.fields["substitute"].queryset = substitution_substitute_choices(  # type: ignore[attr-defined]
            user=user
        )
        if getattr(user, "role", None) == Role.CASE_MANAGER:
            self.fields["absent"].initial = user.pk
            self.fields["absent"].empty_label = None  # type: ignore[attr-defined]
        today = timezone.localdate()
        self.fields["starts_on"].initial = today
        self.fields["ends_on"].initial = today
