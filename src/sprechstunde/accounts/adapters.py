"""django-allauth adapters: who may sign up, how staff must log in, which keys may go."""

from __future__ import annotations

import logging
import time
from typing import Any

from allauth.account import app_settings as account_settings
from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.internal.flows.login import get_authentication_records
from allauth.account.internal.stagekit import clear_login
from allauth.core import context
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from .choices import STAFF_ROLES, Role
from .login_budget import (
    LOGIN_PAUSED_MESSAGE,
    login_attempt_begin,
    login_budget_key,
    login_session_tag,
)

logger = logging.getLogger(__name__)

# How a staff member may prove who they are before the second factor: their password, or the
# authority's single sign-on. A code by e-mail or a passkey alone is not enough for staff.
STAFF_FIRST_FACTORS = frozenset({"password", "socialaccount"})


def _is_staff(user: Any) -> bool:
    return getattr(user, "role", None) in STAFF_ROLES


def _is_client(user: Any) -> bool:
    return getattr(user, "role", None) == Role.CLIENT


class AccountAdapter(DefaultAccountAdapter):
    """Nobody signs up: staff are created by an admin, clients by invitation.

    Staff log in with their password (or SSO) and then a second factor; see `pre_login`.
    """

    # One answer to every failed password login, whoever the address belongs to (a client,
    # nobody, staff); the staff login page adds the way to the code login (ADR 0050).
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "email_password_mismatch": _("E-mail or password wrong."),
    }

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """Mails about an account (the login code above all) go out in the account's own
        language, not the language of the page that asked for them (issue 13: onboarding
        never changes language by itself)."""
        from .models import User

        user = context.get("user") or User.objects.filter(email__iexact=email).first()
        language = getattr(user, "preferred_language", "") or translation.get_language()
        with translation.override(language or settings.LANGUAGE_CODE):
            super().send_mail(template_prefix, email, context)

    # --- login by a code sent by SMS (clients only; ADR 0072) -------------------------------
    # The number is not the account's own: it is the mobile number on the client record,
    # which the case manager keeps. "phone" is not one of ACCOUNT_LOGIN_METHODS (that would
    # turn the staff password form into "e-mail or phone"); the client's code form offers
    # the number itself (forms.ClientLoginCodeForm), and allauth's code flow sends by SMS.

    def get_user_by_phone(self, phone: str) -> AbstractBaseUser | None:
        """The one active client account whose client record has this mobile number; None
        for no match and for a number two accounts share (nobody gets a code then)."""
        from .models import User

        if not phone:
            return None
        users = list(
            User.objects.filter(
                role=Role.CLIENT, is_active=True, client_profile__mobile_number=phone
            )[:2]
        )
        return users[0] if len(users) == 1 else None

    def get_phone(self, user: AbstractBaseUser) -> tuple[str, bool] | None:
        profile = getattr(user, "client_profile", None)
        number = getattr(profile, "mobile_number", "") if _is_client(user) else ""
        return (number, True) if number else None

    def set_phone(self, user: AbstractBaseUser, phone: str, verified: bool) -> None:
        """Never from the portal: the number belongs to the client record (clients app)."""

    def set_phone_verified(self, user: AbstractBaseUser, phone: str) -> None:
        """Reading the code proves the phone is the client's; there is nothing to record."""

    def generate_phone_verification_code(self, *, user: AbstractBaseUser, phone: str) -> str:
        # The same six digits as the e-mailed code: one code field, one explanation.
        return str(self.generate_login_code())

    def send_verification_code_sms(
        self, user: AbstractBaseUser, phone: str, code: str, **kwargs: Any
    ) -> None:
        """The login code through the SMS outbox, in the account's language; the text holds
        the code, the Jobcenter's name and the validity, nothing else."""
        from sprechstunde.core.sms import sms_queue, sms_render

        language = getattr(user, "preferred_language", "") or settings.LANGUAGE_CODE
        text = sms_render(
            kind="login_code",
            context={"code": code, "minutes": account_settings.LOGIN_BY_CODE_TIMEOUT // 60},
            language=language,
        )
        sms_queue(to=phone, kind="login_code", text=text)

    def send_unknown_account_sms(self, phone: str, **kwargs: Any) -> None:
        """Like ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False: nobody can sign up, so nothing."""

    def authenticate(self, request: HttpRequest, **credentials: Any) -> AbstractBaseUser | None:
        """A password check is one attempt from the account's failure budget (login_budget),
        shared with codes and TOTP; while sign-in is paused the password is not checked."""
        email = str(credentials.get("email") or credentials.get("username") or "")
        attempt = login_attempt_begin(
            key=login_budget_key(email=email), session_tag=login_session_tag(request)
        )
        if attempt is None:
            raise forms.ValidationError(LOGIN_PAUSED_MESSAGE, code="login_paused")
        try:
            user = super().authenticate(request, **credentials)
        except forms.ValidationError:
            # allauth's short-term limit refused before the password was checked.
            attempt.cancelled()
            raise
        if user is None:
            attempt.failed()
        else:
            attempt.succeeded()
        return user

    def pre_login(self, request: HttpRequest, user: AbstractBaseUser, **kwargs: Any) -> Any:
        response = super().pre_login(request, user, **kwargs)
        if response is not None or not _is_staff(user):
            return response
        records = get_authentication_records(request, user)
        method = records[-1].get("method") if records else None
        if method == "mfa" and records[-1].get("passwordless"):
            method = "passkey"
        if method in STAFF_FIRST_FACTORS:
            # allauth's MFA stage follows; staff without an authenticator are held at the
            # MFA setup by StaffMFARequiredMiddleware.
            return None
        logger.warning("Refused staff login by %s for user %s", method, user.pk)
        clear_login(request)
        messages.error(
            request,
            _(
                "Staff members log in with their e-mail address, password and second factor. "
                "Codes by e-mail and passkeys alone are for clients."
            ),
        )
        return HttpResponseRedirect(reverse("account_login_staff"))

    def is_reauthentication_required(self, *, app: str, **kwargs: Any) -> bool:
        """allauth asks for the password (or a new code) again before any 2FA change. During
        the very first setup, right after a login that had no second factor (within the
        reauthentication timeout), that would only ask for the same proof twice. Once a second
        factor was used in the session, allauth's rule applies unchanged."""
        required = super().is_reauthentication_required(app=app, **kwargs)
        if not required or app != "allauth.mfa":
            return required
        request = context.request
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return required
        records = get_authentication_records(request, user)
        if not records or any(record.get("method") == "mfa" for record in records):
            return required
        login = records[-1]
        if login.get("method") not in {"password", "code"}:
            return required
        age = time.time() - float(login.get("at", 0))
        return age >= account_settings.REAUTHENTICATION_TIMEOUT


class MFAAdapter(DefaultMFAAdapter):
    """Staff keep at least one second factor: the last app or key cannot be removed."""

    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        user = authenticator.user
        if not _is_staff(user):
            return True
        if authenticator.type not in (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN):
            return True
        others = (
            Authenticator.objects.filter(
                user_id=user.pk,
                type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN],
            )
            .exclude(pk=authenticator.pk)
            .exists()
        )
        return others


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """SSO may log in existing staff accounts only; it never creates accounts."""

    def is_open_for_signup(self, request: HttpRequest, sociallogin: Any) -> bool:
        return False
