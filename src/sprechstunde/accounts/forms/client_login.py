"""The client's login by code, e-mailed or sent by SMS (allauth's forms, tuned): what a client
reads here is client-facing and exists in every client language (core/i18n_scope.py)."""

from __future__ import annotations

from typing import Any

import phonenumbers
from allauth.account.forms import ConfirmLoginCodeForm, RequestLoginCodeForm
from allauth.core import context
from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from sprechstunde.accounts.choices import Role
from sprechstunde.accounts.login_budget import (
    LOGIN_PAUSED_MESSAGE,
    login_attempt_begin,
    login_budget_key,
    login_pause_active,
    login_session_tag,
)
from sprechstunde.core.sms import sms_enabled


class ClientLoginCodeForm(RequestLoginCodeForm):
    """Login by code is for clients only; staff must use password plus MFA. The code goes by
    e-mail, or by SMS to the mobile number on the client record (when a gateway is set up).

    A staff address is treated exactly like an unknown one, and so is an unknown number: the
    same next page, no code and no message, so the form reveals nothing about any account.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if sms_enabled():
            self.fields["email"].required = False
            self.fields["email"].label = _("E-mail address")
            self.fields["phone"] = forms.CharField(
                label=_("or mobile number"),
                required=False,
                max_length=32,
                widget=forms.TextInput(
                    attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}
                ),
            )

    def clean_email(self) -> str:
        try:
            email: str = super().clean_email()
        except forms.ValidationError as error:
            raise _plain_limit_error(error) from error
        user = getattr(self, "_user", None)
        if user is not None and getattr(user, "role", None) != Role.CLIENT:
            self._user = None
        elif user is not None and login_pause_active(key=login_budget_key(email=email)):
            # While sign-in is paused no code is mailed; the answer stays that for an unknown
            # address, and the pause is refused again on the code page.
            self._user = None
        return email

    def clean_phone(self) -> str:
        """The number in E.164; a number that cannot be a mobile one gets a clear error (it
        says nothing about accounts, only about the digits typed)."""
        raw = str(self.cleaned_data.get("phone") or "").strip()
        if not raw:
            return ""
        phone = mobile_number_e164(raw)
        if phone is None:
            raise forms.ValidationError(
                _(
                    "This is not a valid mobile number. Please write it like 0170 1234567 "
                    "or +49 170 1234567."
                ),
                code="invalid_phone",
            )
        self.cleaned_data["phone"] = phone
        try:
            cleaned: str = super().clean_phone()
        except forms.ValidationError as error:
            raise _plain_limit_error(error) from error
        user = getattr(self, "_user", None)
        if user is not None and login_pause_active(key=login_budget_key(phone=cleaned)):
            self._user = None
        return cleaned

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean()
        if not self.errors and not cleaned.get("email") and not cleaned.get("phone"):
            raise forms.ValidationError(
                _("Please enter your e-mail address or your mobile number."), code="required"
            )
        return cleaned


def _plain_limit_error(error: forms.ValidationError) -> forms.ValidationError:
    """allauth's short-term limit on code requests, said plainly; other errors unchanged."""
    if getattr(error, "code", None) == "too_many_login_attempts":
        return forms.ValidationError(
            _("Too many codes were requested. Please wait a few minutes, then ask for a new code."),
            code="too_many_login_attempts",
        )
    return error


def mobile_number_e164(value: str) -> str | None:
    """A mobile number in E.164, read as PHONE_DEFAULT_REGION without a country code; None
    when it cannot be one (invalid, or a landline)."""
    try:
        parsed = phonenumbers.parse(value, settings.PHONE_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    if phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.FIXED_LINE:
        return None
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def checked_against_budget(key: str, check: Any) -> Any:
    """Run `check()` (which raises ValidationError for a wrong secret) as one attempt from the
    account's failure budget (login_budget); refused unchecked while sign-in is paused."""
    request = context.request
    session_tag = login_session_tag(request)
    attempt = login_attempt_begin(key=key, session_tag=session_tag)
    if attempt is None:
        raise forms.ValidationError(LOGIN_PAUSED_MESSAGE, code="login_paused")
    try:
        result = check()
    except forms.ValidationError as error:
        if getattr(error, "code", None) == "too_many_login_attempts":
            # allauth's own short-term limit refused before anything was checked.
            attempt.cancelled()
        else:
            attempt.failed()
        raise
    attempt.succeeded()
    return result


class NumericCodeConfirmForm(ConfirmLoginCodeForm):
    """The code field tuned for phones: digits keyboard and one-time-code autofill.

    Every check counts against the failure budget of the address the code was asked for
    (`budget_key`, passed by accounts.views.ConfirmLoginCodeView).
    """

    def __init__(
        self, *args: Any, budget_key: str | None = None, by_phone: bool = False, **kwargs: Any
    ) -> None:
        self.budget_key = budget_key
        super().__init__(*args, **kwargs)
        self.fields["code"].widget.attrs.update(
            {
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "pattern": "[0-9 ]*",
                "maxlength": "12",
            }
        )
        self.fields["code"].label = (
            _("Code from the text message") if by_phone else _("Code from the e-mail")
        )

    def clean_code(self) -> str:
        if self.budget_key is None:
            return str(super().clean_code())
        return str(checked_against_budget(self.budget_key, super().clean_code))
