"""The client's login by e-mailed code (allauth's forms, tuned): what a client reads here
is client-facing and exists in every client language (core/i18n_scope.py)."""

from __future__ import annotations

from typing import Any

from allauth.account.forms import ConfirmLoginCodeForm, RequestLoginCodeForm
from allauth.core import context
from django import forms
from django.utils.translation import gettext_lazy as _

from sprechstunde.accounts.choices import Role
from sprechstunde.accounts.login_budget import (
    LOGIN_PAUSED_MESSAGE,
    login_attempt_begin,
    login_budget_key,
    login_pause_active,
    login_session_tag,
)


class ClientLoginCodeForm(RequestLoginCodeForm):
    """Login by e-mailed code is for clients only; staff must use password plus MFA.

    A staff address is treated exactly like an unknown one: the same next page, no code and no
    mail, so the form does not reveal which addresses belong to staff.
    """

    def clean_email(self) -> str:
        try:
            email: str = super().clean_email()
        except forms.ValidationError as error:
            if getattr(error, "code", None) == "too_many_login_attempts":
                raise forms.ValidationError(
                    _(
                        "Too many codes were requested. Please wait a few minutes, "
                        "then ask for a new code."
                    ),
                    code="too_many_login_attempts",
                ) from error
            raise
        user = getattr(self, "_user", None)
        if user is not None and getattr(user, "role", None) != Role.CLIENT:
            self._user = None
        elif user is not None and login_pause_active(key=login_budget_key(email=email)):
            # While sign-in is paused no code is mailed; the answer stays that for an unknown
            # address, and the pause is refused again on the code page.
            self._user = None
        return email


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

    def __init__(self, *args: Any, budget_key: str | None = None, **kwargs: Any) -> None:
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
        self.fields["code"].label = _("Code from the e-mail")

    def clean_code(self) -> str:
        if self.budget_key is None:
            return str(super().clean_code())
        return str(checked_against_budget(self.budget_key, super().clean_code))
