"""Writing staff accounts, teams, substitutions and personal settings.

Every change made by an administrator or to a substitution is written to the audit trail in
the same transaction; e-mails leave only after the transaction has committed.
"""

from __future__ import annotations

import datetime
from typing import Any

from allauth.account.forms import default_token_generator
from allauth.account.utils import user_pk_to_url_str
from allauth.mfa.models import Authenticator
from allauth.usersessions.adapter import get_adapter as get_usersessions_adapter
from allauth.usersessions.internal.flows.sessions import end_sessions
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from sprechstunde.audit.services import audit_record
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError
from sprechstunde.core.languages import language_codes_for

from .choices import STAFF_ROLE_CHOICES, TEAM_ROLES, Role
from .models import Substitution, Team, User
from .permissions import (
    can_end_substitution,
    can_manage_staff,
    can_record_substitution,
    can_use_substitutions,
)

_STAFF_ROLE_VALUES = frozenset(value for value, _label in STAFF_ROLE_CHOICES)


# --- Staff accounts --------------------------------------------------------------------------


def _require_staff_manager(actor: Any) -> None:
    # `actor is None` is the system itself (the create_admin management command).
    if actor is not None and not can_manage_staff(actor):
        raise PermissionDeniedError(_("Only administrators manage staff accounts."))


def _require_staff_account(user: User) -> None:
    if user.role == Role.CLIENT:
        # Client accounts belong to the clients app; an administrator does not see them.
        raise PermissionDeniedError(_("This is not a staff account."))


def _clean_role_and_team(*, role: str, team: Team | None) -> Team | None:
    if role not in _STAFF_ROLE_VALUES:
        raise ApplicationError(_("Choose one of the staff roles."), field="role")
    if role in TEAM_ROLES and team is None:
        raise ApplicationError(
            _("Case managers and team leads belong to a team. Choose one."), field="team"
        )
    return team


def _active_admin_count(*, excluding: User | None = None) -> int:
    qs = User.objects.filter(role=Role.ADMIN, is_active=True)
    if excluding is not None:
        qs = qs.exclude(pk=excluding.pk)
    return qs.count()


def _set_password_link(user: User) -> str:
    path = reverse(
        "account_reset_password_from_key",
        kwargs={
            "uidb36": user_pk_to_url_str(user),
            "key": default_token_generator.make_token(user),
        },
    )
    return f"{settings.SITE_URL}{path}"


def _send_set_password_mail(user_id: int) -> None:
    """Sends the link with which a new staff member chooses a password (then sets up 2FA)."""
    user = User.objects.get(pk=user_id)
    valid_days = max(1, int(settings.PASSWORD_RESET_TIMEOUT) // (24 * 60 * 60))
    context = {
        "user": user,
        "link": _set_password_link(user),
        "valid_days": valid_days,
        "jobcenter_name": settings.JOBCENTER_NAME,
    }
    with translation.override(user.preferred_language or settings.LANGUAGE_CODE):
        subject = render_to_string("accounts/email/set_password_subject.txt", context)
        body = render_to_string("accounts/email/set_password_message.txt", context)
    EmailMessage(subject=" ".join(subject.split()), body=body, to=[user.email or ""]).send()


def _end_all_sessions(user: User) -> None:
    sessions = list(UserSession.objects.filter(user_id=user.pk))
    if sessions:
        get_usersessions_adapter().end_sessions(sessions)


def staff_create(
    *,
    actor: Any,
    email: str,
    first_name: str,
    last_name: str,
    role: str,
    team: Team | None = None,
    password: str | None = None,
    request: HttpRequest | None = None,
) -> User:
    """Creates a staff account. Without `password`, the person gets an e-mail with a link to
    choose one; either way they must set up a second factor at their first login."""
    _require_staff_manager(actor)
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError as error:
        raise ApplicationError(_("Enter a valid e-mail address."), field="email") from error
    first_name = (first_name or "").strip()
    last_name = (last_name or "").strip()
    if not last_name:
        raise ApplicationError(_("Enter the last name."), field="last_name")
    team = _clean_role_and_team(role=role, team=team)
    if password is not None:
        try:
            validate_password(
                password, User(email=email, first_name=first_name, last_name=last_name)
            )
        except ValidationError as error:
            raise ApplicationError(" ".join(error.messages), field="password") from error
    with transaction.atomic():
        if User.objects.filter(email__iexact=email).exists():
            raise ApplicationError(
                _("An account with this e-mail address exists already."), field="email"
            )
        user = User.objects.create_user(
            email,
            password,
            first_name=first_name,
            last_name=last_name,
            role=role,
            team=team,
            # Only administrators may open Django admin (/verwaltung/); nobody is superuser.
            is_staff=role == Role.ADMIN,
        )
        audit_record(actor=actor, action="staff.create", target=user, request=request)
        if password is None:
            transaction.on_commit(lambda: _send_set_password_mail(user.pk))
    return user


def staff_update(
    *,
    actor: Any,
    user: User,
    first_name: str,
    last_name: str,
    role: str,
    team: Team | None,
    request: HttpRequest | None = None,
) -> User:
    """Changes name, role and team of a staff account."""
    _require_staff_manager(actor)
    _require_staff_account(user)
    last_name = (last_name or "").strip()
    if not last_name:
        raise ApplicationError(_("Enter the last name."), field="last_name")
    team = _clean_role_and_team(role=role, team=team)
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if user.role == Role.ADMIN and role != Role.ADMIN:
            if actor is not None and user.pk == actor.pk:
                raise ApplicationError(
                    _("You cannot take away your own administrator role."), field="role"
                )
            if user.is_active and _active_admin_count(excluding=user) == 0:
                raise ApplicationError(
                    _("There must be at least one active administrator."), field="role"
                )
        user.first_name = (first_name or "").strip()
        user.last_name = last_name
        user.role = role
        user.team = team
        user.is_staff = role == Role.ADMIN
        user.is_superuser = user.is_superuser and role == Role.ADMIN
        user.save(
            update_fields=["first_name", "last_name", "role", "team", "is_staff", "is_superuser"]
        )
        audit_record(actor=actor, action="staff.update", target=user, request=request)
    return user


def staff_deactivate(*, actor: Any, user: User, request: HttpRequest | None = None) -> User:
    """Locks a staff account at once: no login, and all of its sessions end."""
    _require_staff_manager(actor)
    _require_staff_account(user)
    if actor is not None and user.pk == actor.pk:
        raise ApplicationError(_("You cannot deactivate your own account."))
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if not user.is_active:
            raise ApplicationError(_("This account is deactivated already."))
        if user.role == Role.ADMIN and _active_admin_count(excluding=user) == 0:
            raise ApplicationError(_("There must be at least one active administrator."))
        user.is_active = False
        user.save(update_fields=["is_active"])
        _end_all_sessions(user)
        audit_record(actor=actor, action="staff.deactivate", target=user, request=request)
    return user


def staff_reactivate(*, actor: Any, user: User, request: HttpRequest | None = None) -> User:
    """Lets a deactivated staff member log in again (with their password and second factor)."""
    _require_staff_manager(actor)
    _require_staff_account(user)
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if user.is_active:
            raise ApplicationError(_("This account is active already."))
        user.is_active = True
        user.save(update_fields=["is_active"])
        audit_record(actor=actor, action="staff.reactivate", target=user, request=request)
    return user


def staff_password_link_send(*, actor: Any, user: User, request: HttpRequest | None = None) -> None:
    """E-mails a staff member a new link to choose a password (for a lost password too)."""
    _require_staff_manager(actor)
    _require_staff_account(user)
    if not user.is_active:
        raise ApplicationError(_("Reactivate the account first."))
    with transaction.atomic():
        audit_record(actor=actor, action="staff.password_link", target=user, request=request)
        user_id = user.pk
        transaction.on_commit(lambda: _send_set_password_mail(user_id))


def staff_mfa_reset(*, actor: Any, user: User, request: HttpRequest | None = None) -> None:
    """Removes a staff member's authenticators (lost phone or key) and ends their sessions;
    at the next login with their password they must set up a second factor again."""
    _require_staff_manager(actor)
    _require_staff_account(user)
    if actor is not None and user.pk == actor.pk:
        raise ApplicationError(_("Manage your own second factor under “My account”."))
    with transaction.atomic():
        Authenticator.objects.filter(user_id=user.pk).delete()
        _end_all_sessions(user)
        audit_record(actor=actor, action="staff.mfa_reset", target=user, request=request)


# --- Teams -----------------------------------------------------------------------------------


def _clean_team_name(name: str, *, excluding: Team | None = None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ApplicationError(_("Enter a name for the team."), field="name")
    if len(name) > Team._meta.get_field("name").max_length:  # type: ignore[operator]
        raise ApplicationError(_("The name is too long."), field="name")
    qs = Team.objects.filter(name__iexact=name)
    if excluding is not None:
        qs = qs.exclude(pk=excluding.pk)
    if qs.exists():
        raise ApplicationError(_("A team with this name exists already."), field="name")
    return name


def team_create(*, actor: Any, name: str, request: HttpRequest | None = None) -> Team:
    """Creates a team."""
    _require_staff_manager(actor)
    with transaction.atomic():
        team = Team.objects.create(name=_clean_team_name(name))
        audit_record(actor=actor, action="team.create", target=team, request=request)
    return team


def team_rename(*, actor: Any, team: Team, name: str, request: HttpRequest | None = None) -> Team:
    """Gives a team a new name."""
    _require_staff_manager(actor)
    with transaction.atomic():
        team.name = _clean_team_name(name, excluding=team)
        team.save(update_fields=["name", "updated_at"])
        audit_record(actor=actor, action="team.rename", target=team, request=request)
    return team


# --- Substitutions ---------------------------------------------------------------------------


def _require_active_case_manager(user: User, *, field: str) -> None:
    if user.role != Role.CASE_MANAGER or not user.is_active:
        raise ApplicationError(
            _("Only active case managers take part in a substitution."), field=field
        )


def substitution_create(
    *,
    actor: Any,
    absent: User,
    substitute: User,
    starts_on: datetime.date,
    ends_on: datetime.date,
    request: HttpRequest | None = None,
) -> Substitution:
    """Records that `substitute` stands in for `absent` from `starts_on` to `ends_on`
    (both inclusive); during that time the substitute sees the absent colleague's caseload."""
    if not can_use_substitutions(actor):
        raise PermissionDeniedError(_("You may not record substitutions."))
    _require_active_case_manager(absent, field="absent")
    _require_active_case_manager(substitute, field="substitute")
    if not can_record_substitution(actor, absent=absent):
        raise PermissionDeniedError(_("You may not record a substitution for this colleague."))
    if absent.pk == substitute.pk:
        raise ApplicationError(_("A colleague cannot stand in for themself."), field="substitute")
    if ends_on < starts_on:
        raise ApplicationError(_("The last day must not be before the first day."), field="ends_on")
    if ends_on < timezone.localdate():
        raise ApplicationError(
            _("The substitution must not lie entirely in the past."), field="ends_on"
        )
    with transaction.atomic():
        # Serialises concurrent requests for the same absent colleague (PostgreSQL).
        User.objects.select_for_update().filter(pk=absent.pk).first()
        overlapping = (
            Substitution.objects.filter(
                absent_id=absent.pk,
                substitute_id=substitute.pk,
                starts_on__lte=ends_on,
                ends_on__gte=starts_on,
            )
            .exclude(ended_at__date__lte=starts_on)
            .exists()
        )
        if overlapping:
            raise ApplicationError(
                _("%(substitute)s already stands in for %(absent)s during this time.")
                % {"substitute": substitute.display_name, "absent": absent.display_name}
            )
        substitution = Substitution.objects.create(
            absent=absent,
            substitute=substitute,
            starts_on=starts_on,
            ends_on=ends_on,
            created_by=actor,
        )
        audit_record(
            actor=actor, action="substitution.create", target=substitution, request=request
        )
    return substitution


def substitution_end(
    *, actor: Any, substitution: Substitution, request: HttpRequest | None = None
) -> Substitution:
    """Ends a substitution today: from today on the substitute no longer sees the caseload."""
    if not can_end_substitution(actor, substitution):
        raise PermissionDeniedError(_("You may not end this substitution."))
    with transaction.atomic():
        substitution = Substitution.objects.select_for_update().get(pk=substitution.pk)
        if substitution.ended_at is not None or substitution.ends_on < timezone.localdate():
            raise ApplicationError(_("This substitution has ended already."))
        substitution.ended_at = timezone.now()
        substitution.ended_by = actor
        substitution.save(update_fields=["ended_at", "ended_by", "updated_at"])
        audit_record(actor=actor, action="substitution.end", target=substitution, request=request)
    return substitution


# --- Personal settings -----------------------------------------------------------------------


def user_preferences_update(*, user: User, preferred_language: str) -> User:
    """Saves the user's language ("" means: follow the browser or the language switch)."""
    if preferred_language and preferred_language not in language_codes_for(user):
        raise ApplicationError(
            _("Choose one of the offered languages."), field="preferred_language"
        )
    user.preferred_language = preferred_language
    user.save(update_fields=["preferred_language"])
    return user


def user_session_end(*, request: HttpRequest, user: User, session: UserSession) -> bool:
    """Ends one of the user's own sessions; returns True when it was the current one
    (the user is then logged out)."""
    if session.user_id != user.pk:
        raise PermissionDeniedError(_("This is not one of your sessions."))
    was_current = session.is_current()
    end_sessions(request, [session])
    return was_current
