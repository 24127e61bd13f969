"""Writes for clients: creating them, inviting them, accepting, consent and its texts.

Every write checks the access rules (permissions.py), runs in one transaction (nothing is
half-created), and is audited. Mails leave only after commit.
"""

from __future__ import annotations

import datetime
import functools
import re
import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import phonenumbers
from allauth.account.models import EmailAddress
from allauth.usersessions.adapter import get_adapter as get_usersessions_adapter
from allauth.usersessions.models import UserSession
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sprechstunde.accounts.choices import Role
from sprechstunde.accounts.forms.client_login import mobile_number_e164
from sprechstunde.accounts.models import User
from sprechstunde.audit.services import audit_record
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError
from sprechstunde.core.sms import sms_enabled

from . import mails, numbers, permissions, selectors
from .choices import (
    REQUIRED_PURPOSES,
    ConsentMethod,
    ConsentPurpose,
    InterpreterNeed,
    InvitationChannel,
)
from .models import Client, Consent, ConsentText, Invitation

# secrets.token_urlsafe(32) draws 32 random bytes: 256 bits, well above the 128 required.
TOKEN_BYTES = 32


class InvitationUnusableError(ApplicationError):
    """The invitation link is expired, used, revoked or unknown; `state` says which."""

    def __init__(self, state: str) -> None:
        super().__init__(_("This invitation can no longer be used."))
        self.state = state


class ConsentTextChangedError(ApplicationError):
    """A consent text was republished while the client was reading the old version."""

    def __init__(self) -> None:
        super().__init__(
            _(
                "The text has just been updated. Please read the current version below "
                "and choose again."
            )
        )


@dataclass(frozen=True)
class IssuedInvitation:
    """A new invitation with its token; the token is only ever in memory and in the mail."""

    invitation: Invitation
    token: str

    @property
    def url(self) -> str:
        return mails.invitation_url(self.token)


# --- clients ----------------------------------------------------------------------------------


def normalise_email(value: str) -> str:
    """Addresses are compared and stored in lower case."""
    return value.strip().lower()


def normalise_mobile(value: str) -> str:
    """A mobile number in E.164 (+4915112345678), read as German when it has no country
    code; "" stays "". A number that cannot be a real one is refused with an example."""
    raw = (value or "").strip()
    if not raw:
        return ""
    try:
        parsed = phonenumbers.parse(raw, settings.PHONE_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_valid_number(parsed):
        raise ApplicationError(
            _(
                "This is not a valid phone number. Please write it like 0170 1234567 "
                "or +49 170 1234567."
            ),
            field="mobile_number",
        )
    if phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.FIXED_LINE:
        raise ApplicationError(
            _("This looks like a landline number. Text messages need a mobile number."),
            field="mobile_number",
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalise_customer_number(value: str) -> str:
    """The Kundennummer without spaces in capitals, or a clear message about its form."""
    number = numbers.compact_number(value)
    if number and not numbers.is_customer_number(number):
        raise ApplicationError(
            _(
                "A customer number has three digits, a letter and six digits, "
                "for example 123D456789."
            ),
            field="customer_number",
        )
    return number


def normalise_bg_number(value: str) -> str:
    """The BG-Nummer without spaces in capitals, or a clear message about its form."""
    number = numbers.compact_number(value)
    if number and not numbers.is_bg_number(number):
        raise ApplicationError(
            _(
                "A BG number has the five-digit office number, BG and seven digits, "
                "for example 12345BG0012345."
            ),
            field="bg_number",
        )
    return number


def client_email_problem(*, email: str, exclude_pk: int | None = None) -> str | None:
    """Why `email` cannot be a client's address, or None when it can."""
    if not email:
        return None
    clients = Client.objects.filter(email__iexact=email)
    if exclude_pk is not None:
        clients = clients.exclude(pk=exclude_pk)
    if clients.exists():
        return str(_("A client with this e-mail address already exists."))
    if User.objects.filter(email__iexact=email).exclude(role=Role.CLIENT).exists():
        return str(_("This e-mail address belongs to a staff account."))
    return None


def _interpreter_checked(interpreter: str, language: str) -> tuple[str, str]:
    """The interpreter need as stored: a known kind, and a language name only with a need."""
    if interpreter not in InterpreterNeed.values:
        raise ApplicationError(_("Choose whether an interpreter is needed."), field="interpreter")
    language = " ".join(language.split())
    if len(language) > 60:
        raise ApplicationError(_("The language name is too long."), field="interpreter_language")
    return interpreter, (language if interpreter else "")


def client_create(
    *,
    actor: Any,
    first_name: str,
    last_name: str,
    email: str = "",
    mobile_number: str = "",
    preferred_language: str = "",
    interpreter: str = "",
    interpreter_language: str = "",
    customer_number: str = "",
    bg_number: str = "",
    case_manager: User | None = None,
    send_invitation: bool = False,
    request: HttpRequest | None = None,
) -> Client:
    """Create a client in a caseload `actor` may assign to; optionally invite at once.

    Needs a name. Without an e-mail address and a mobile number the client hears from the
    Jobcenter by letter (agreements.letters, listed for posting). All or nothing: a failed
    invitation leaves no client behind.
    """
    if not permissions.can_create_clients(user=actor):
        raise PermissionDeniedError(_("You may not create clients."))
    first_name, last_name = first_name.strip(), last_name.strip()
    if not first_name:
        raise ApplicationError(_("Please enter the first name."), field="first_name")
    if not last_name:
        raise ApplicationError(_("Please enter the last name."), field="last_name")
    email = normalise_email(email)
    mobile_number = normalise_mobile(mobile_number)
    customer_number = normalise_customer_number(customer_number)
    bg_number = normalise_bg_number(bg_number)
    language = preferred_language or settings.LANGUAGE_CODE
    interpreter, interpreter_language = _interpreter_checked(interpreter, interpreter_language)
    if language not in dict(settings.LANGUAGES):
        raise ApplicationError(_("Please choose a language."), field="preferred_language")
    assignable = permissions.case_managers_assignable_by(user=actor)
    if case_manager is None and assignable.filter(pk=actor.pk).exists():
        case_manager = actor
    if case_manager is None or not assignable.filter(pk=case_manager.pk).exists():
        raise ApplicationError(_("Please choose a case manager."), field="case_manager")
    problem = client_email_problem(email=email)
    if problem:
        raise ApplicationError(problem, field="email")
    try:
        with transaction.atomic():
            client = Client.objects.create(
                first_name=first_name,
                last_name=last_name,
                email=email,
                mobile_number=mobile_number,
                preferred_language=language,
                interpreter=interpreter,
                interpreter_language=interpreter_language,
                customer_number=customer_number,
                bg_number=bg_number,
                case_manager=case_manager,
            )
            audit_record(actor=actor, action="client.create", target=client, request=request)
            if send_invitation and invitation_channel_for(client=client) is not None:
                invitation_send(client=client, actor=actor, request=request)
    except IntegrityError as error:
        # Two people saved the same address at the same moment: the constraint decides.
        raise ApplicationError(
            _("A client with this e-mail address already exists."), field="email"
        ) from error
    return client


@dataclass(frozen=True)
class PostalAddress:
    """A postal address as staff type it: street and number, supplement, postcode, city."""

    street: str = ""
    supplement: str = ""
    postcode: str = ""
    city: str = ""


_POSTCODE = re.compile(r"\d{5}")


def postal_address_clean(address: PostalAddress) -> PostalAddress:
    """Trimmed, and complete or empty: a letter needs street, postcode and city together.

    Raises ApplicationError naming the field that is missing or wrong. A German postcode has
    five digits (clients of a Jobcenter live in Germany, § 7 (1) SGB II).
    """
    street, supplement, postcode, city = (
        " ".join(part.split())
        for part in (address.street, address.supplement, address.postcode, address.city)
    )
    if not any((street, supplement, postcode, city)):
        return PostalAddress()
    if not street:
        raise ApplicationError(
            _("Please enter the street and house number, or leave the whole address empty."),
            field="postal_street",
        )
    if not _POSTCODE.fullmatch(postcode):
        raise ApplicationError(
            _("Please enter the postcode with five digits, for example 88212."),
            field="postal_code",
        )
    if not city:
        raise ApplicationError(_("Please enter the city."), field="postal_city")
    return PostalAddress(street=street, supplement=supplement, postcode=postcode, city=city)


def client_update(
    *,
    client: Client,
    actor: Any,
    first_name: str,
    last_name: str,
    email: str,
    mobile_number: str,
    preferred_language: str,
    interpreter: str = "",
    interpreter_language: str = "",
    customer_number: str | None = None,
    bg_number: str | None = None,
    postal_address: PostalAddress | None = None,
    request: HttpRequest | None = None,
) -> Client:
    """Correct a client's name, contact data, numbers and postal address (None keeps them) or
    language; the name also on their portal account.

    The address a portal account logs in with is not changed here (that would hand the
    account to whoever reads the new address). A changed address or mobile number revokes
    open invitations, whose links went to the old one.
    """
    _require_manage(actor, client)
    first_name, last_name = first_name.strip(), last_name.strip()
    if not first_name:
        raise ApplicationError(_("Please enter the first name."), field="first_name")
    if not last_name:
        raise ApplicationError(_("Please enter the last name."), field="last_name")
    email = normalise_email(email)
    mobile_number = normalise_mobile(mobile_number)
    if customer_number is not None:
        customer_number = normalise_customer_number(customer_number)
    if bg_number is not None:
        bg_number = normalise_bg_number(bg_number)
    if preferred_language not in dict(settings.LANGUAGES):
        raise ApplicationError(_("Please choose a language."), field="preferred_language")
    interpreter, interpreter_language = _interpreter_checked(interpreter, interpreter_language)
    if postal_address is not None:
        postal_address = postal_address_clean(postal_address)
    email_changed = email != client.email
    # An invitation by SMS went to the old number; a client without e-mail logs in with
    # codes sent to the number on her record, so the new one must be hers alone.
    mobile_changed = mobile_number != client.mobile_number
    if (
        mobile_changed
        and mobile_number
        and not email
        and Client.objects.filter(mobile_number=mobile_number, user__isnull=False)
        .exclude(pk=client.pk)
        .exists()
    ):
        raise ApplicationError(
            _(
                "Another client's portal account logs in with this mobile number, so codes "
                "could not tell the two apart. Please ask for the client's own number or an "
                "e-mail address."
            ),
            field="mobile_number",
        )
    sms_login = (
        client.user_id is not None
        and not User.objects.filter(pk=client.user_id, email__isnull=False)
        .exclude(email="")
        .exists()
    )
    if sms_login and not mobile_number:
        # Clients without any contact are allowed (they are reached by letter), but not one
        # whose portal login depends on this number.
        raise ApplicationError(
            _(
                "This client logs in to the portal with codes sent to this mobile number, so "
                "it cannot be removed."
            ),
            field="mobile_number",
        )
    if sms_login and email_changed:
        raise ApplicationError(
            _(
                "This client logs in to the portal with codes by text message, so an e-mail "
                "address cannot be added here."
            ),
            field="email",
        )
    if email_changed and client.user_id is not None:
        raise ApplicationError(
            _(
                "This client logs in to the portal with this e-mail address, so it cannot be "
                "changed here."
            ),
            field="email",
        )
    problem = client_email_problem(email=email, exclude_pk=client.pk) if email_changed else None
    if problem:
        raise ApplicationError(problem, field="email")
    try:
        with transaction.atomic():
            client = Client.objects.select_for_update().get(pk=client.pk)
            client.first_name = first_name
            client.last_name = last_name
            client.email = email
            client.mobile_number = mobile_number
            client.preferred_language = preferred_language
            client.interpreter = interpreter
            client.interpreter_language = interpreter_language
            if customer_number is not None:
                client.customer_number = customer_number
            if bg_number is not None:
                client.bg_number = bg_number
            if postal_address is not None:
                client.postal_street = postal_address.street
                client.postal_supplement = postal_address.supplement
                client.postal_code = postal_address.postcode
                client.postal_city = postal_address.city
            client.save()
            if client.user_id is not None:
                # The portal account shows the name the Jobcenter knows (see
                # _portal_account_for); a correction reaches calls and chats at once.
                User.objects.filter(pk=client.user_id).update(
                    first_name=first_name,
                    last_name=last_name,
                    preferred_language=preferred_language,
                )
            audit_record(actor=actor, action="client.update", target=client, request=request)
            if email_changed or (mobile_changed and not email):
                invitation_revoke_open(client=client, actor=actor, request=request)
    except IntegrityError as error:
        raise ApplicationError(
            _("A client with this e-mail address already exists."), field="email"
        ) from error
    return client


# --- invitations -----------------------------------------------------------------------------


def client_language_set(
    *, client: Client, language: str, actor: Any, request: HttpRequest | None = None
) -> Client:
    """The client's own choice of language, kept on the client and her portal account, so
    pages, mails, SMS, reminders, calendar texts and receipts follow it from now on."""
    if language not in settings.CLIENT_LANGUAGES:
        raise ApplicationError(_("Please choose a language."), field="preferred_language")
    with transaction.atomic():
        locked = Client.objects.select_for_update().get(pk=client.pk)
        if locked.preferred_language != language:
            locked.preferred_language = language
            locked.save(update_fields=["preferred_language", "updated_at"])
            audit_record(
                actor=actor, action="client.language_change", target=locked, request=request
            )
        if locked.user_id is not None:
            User.objects.filter(pk=locked.user_id).exclude(preferred_language=language).update(
                preferred_language=language
            )
    client.preferred_language = language
    return client


def _require_manage(actor: Any, client: Client) -> None:
    if not permissions.can_manage_client(user=actor, client=client):
        raise PermissionDeniedError(_("You may not change this client."))


def _issue_invitation(
    *,
    client: Client,
    actor: Any,
    action: str,
    request: HttpRequest | None,
    channel: str | None = None,
) -> IssuedInvitation:
    """A new invitation link; it goes out by e-mail or SMS (the channel the client can be
    reached on), or, for channel LETTER, only into the printed letter."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    if channel is None:
        channel = invitation_channel_for(client=client)
        assert channel is not None  # _check_invitable refused the client otherwise
    invitation = Invitation.objects.create(
        client=client,
        token_hash=Invitation.hash_token(token),
        channel=channel,
        expires_at=timezone.now() + datetime.timedelta(days=settings.INVITATION_VALID_DAYS),
        created_by=actor,
    )
    audit_record(actor=actor, action=action, target=invitation, request=request)
    if channel == InvitationChannel.EMAIL:
        transaction.on_commit(
            functools.partial(mails.invitation_mail_send, invitation_id=invitation.pk, token=token)
        )
    elif channel == InvitationChannel.SMS:
        transaction.on_commit(
            functools.partial(mails.invitation_sms_send, invitation_id=invitation.pk, token=token)
        )
    return IssuedInvitation(invitation=invitation, token=token)


def invitation_channel_for(*, client: Client) -> str | None:
    """How an invitation reaches the client: by e-mail when she has an address, else by SMS
    to her mobile number when a gateway is set up; None when neither works."""
    if client.email:
        return InvitationChannel.EMAIL
    if client.mobile_number and sms_enabled():
        return InvitationChannel.SMS
    return None


def invitation_needs_contact(*, invitation: Invitation) -> bool:
    """Whether the client gives her own e-mail address (or mobile number) when accepting: a
    letter reached her, and her record has nothing the portal's login codes can go to."""
    return (
        invitation.channel == InvitationChannel.LETTER
        and invitation_channel_for(client=invitation.client) is None
    )


def _check_invitable(client: Client, *, by_letter: bool = False) -> None:
    channel = invitation_channel_for(client=client)
    if channel is None and not by_letter:
        raise ApplicationError(
            _(
                "This client has no e-mail address, and text messages are not set up here, "
                "so an invitation cannot be sent. Keep in touch by phone or post."
            )
        )
    if selectors.client_has_portal_access(client=client):
        raise ApplicationError(_("This client already uses the portal."))
    if channel == InvitationChannel.SMS and _mobile_number_taken(client):
        raise ApplicationError(
            _(
                "Another client's portal account logs in with this mobile number, so codes "
                "could not tell the two apart. Please ask for the client's own number or an "
                "e-mail address."
            )
        )


def _mobile_number_taken(client: Client) -> bool:
    """Whether another client with a portal account has this mobile number (the login by SMS
    code finds the account by the number, so it must lead to one account only)."""
    return (
        Client.objects.filter(mobile_number=client.mobile_number, user__isnull=False)
        .exclude(pk=client.pk)
        .exists()
    )


def invitation_send(
    *, client: Client, actor: Any, request: HttpRequest | None = None
) -> IssuedInvitation:
    """Invite a client by e-mail: a new single-use token, valid INVITATION_VALID_DAYS days.

    Refused while another invitation is open (re-send instead) and when the client already
    uses the portal.
    """
    _require_manage(actor, client)
    _check_invitable(client)
    with transaction.atomic():
        Client.objects.select_for_update().filter(pk=client.pk).first()
        if selectors.invitation_open_for_client(client=client) is not None:
            raise ApplicationError(
                _("There is already an open invitation. Send it again or revoke it.")
            )
        return _issue_invitation(
            client=client, actor=actor, action="invitation.send", request=request
        )


def invitation_letter_issue(
    *, client: Client, actor: Any, request: HttpRequest | None = None
) -> IssuedInvitation:
    """Invite a client by letter: open invitations end, a new token goes only into the
    printed letter (agreements.letters), never into a mail. A client without an e-mail
    address or a usable mobile number gives her own when accepting (invitation_accept), so
    the portal's login codes can reach her."""
    _require_manage(actor, client)
    _check_invitable(client, by_letter=True)
    with transaction.atomic():
        invitation_revoke_open(client=client, actor=actor, request=request)
        return _issue_invitation(
            client=client,
            actor=actor,
            action="invitation.letter",
            request=request,
            channel=InvitationChannel.LETTER,
        )


def invitation_revoke(
    *, invitation: Invitation, actor: Any, request: HttpRequest | None = None
) -> Invitation:
    """Make an invitation link unusable at once."""
    _require_manage(actor, invitation.client)
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.accepted_at is not None:
            raise ApplicationError(_("This invitation has already been accepted."))
        if invitation.revoked_at is not None:
            raise ApplicationError(_("This invitation has already been revoked."))
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at", "updated_at"])
        audit_record(actor=actor, action="invitation.revoke", target=invitation, request=request)
    return invitation


def invitation_revoke_open(
    *, client: Client, actor: Any, request: HttpRequest | None = None
) -> int:
    """Revoke every open invitation of a client; returns how many there were."""
    _require_manage(actor, client)
    count = 0
    with transaction.atomic():
        Client.objects.select_for_update().filter(pk=client.pk).first()
        for invitation in Invitation.objects.filter(
            client=client, accepted_at__isnull=True, revoked_at__isnull=True
        ):
            invitation_revoke(invitation=invitation, actor=actor, request=request)
            count += 1
    return count


def invitation_resend(
    *, client: Client, actor: Any, request: HttpRequest | None = None
) -> IssuedInvitation:
    """Send the invitation again: the old link stops working, a new one is mailed."""
    _require_manage(actor, client)
    _check_invitable(client)
    with transaction.atomic():
        invitation_revoke_open(client=client, actor=actor, request=request)
        return _issue_invitation(
            client=client, actor=actor, action="invitation.resend", request=request
        )


def _portal_account_for(client: Client, language: str, *, address_proven: bool = True) -> User:
    """The client's login: their own, an unlinked client account with their address, or new.
    `address_proven` is False for an address the client typed in herself (the first login
    code proves it)."""
    user = client.user
    if user is None and client.email:
        user = User.objects.filter(email__iexact=client.email).first()
        if user is not None and (
            user.role != Role.CLIENT
            or Client.objects.filter(user=user).exclude(pk=client.pk).exists()
        ):
            raise ApplicationError(
                _(
                    "This e-mail address already belongs to another account. Please contact "
                    "your Jobcenter."
                )
            )
    # The account carries the client's name from the client record (calls and chats show
    # it; without it they showed the e-mail address). client_update keeps it in step.
    if user is None:
        # No usable password: clients log in with a code sent by e-mail, or by SMS to the
        # mobile number on the client record when she has no address (no e-mail then).
        user = User.objects.create_user(
            client.email or None,
            role=Role.CLIENT,
            preferred_language=language,
            first_name=client.first_name,
            last_name=client.last_name,
        )
    else:
        user.is_active = True
        user.preferred_language = language
        user.first_name = client.first_name
        user.last_name = client.last_name
        user.save(update_fields=["is_active", "preferred_language", "first_name", "last_name"])
    if not user.email:
        return user
    # Opening the link from the invitation mail proves the address belongs to the client.
    address, _created = EmailAddress.objects.get_or_create(
        user=user, email=user.email, defaults={"verified": address_proven, "primary": True}
    )
    if address_proven and not address.verified:
        address.verified = True
        address.save(update_fields=["verified"])
    return user


def _text_for(
    purpose: str, texts: Mapping[str, ConsentText], shown: Mapping[str, int] | None
) -> ConsentText:
    text = texts.get(purpose)
    if text is None:
        raise ApplicationError(_("The consent text is missing. Please contact your Jobcenter."))
    if shown is not None and shown.get(purpose) != text.pk:
        raise ConsentTextChangedError()
    return text


def _contact_given(client: Client, *, email: str, mobile_number: str) -> None:
    """Put the e-mail address (or, with SMS set up, the mobile number) a client invited by
    letter gave on her record, checked as staff entries are; the login codes go there."""
    email = normalise_email(email)
    if email:
        try:
            validate_email(email)
        except ValidationError as error:
            raise ApplicationError(
                _("This is not a valid e-mail address. Please write it like name@example.org."),
                field="email",
            ) from error
        # Said the same way for another client's, a staff member's or any account's address:
        # the page must not tell a stranger whose address it is.
        if (
            client_email_problem(email=email, exclude_pk=client.pk)
            or User.objects.filter(email__iexact=email).exists()
        ):
            raise ApplicationError(
                _(
                    "This e-mail address cannot be used here. Please give your own address, "
                    "or contact your Jobcenter."
                ),
                field="email",
            )
        client.email = email
        return
    raw = mobile_number.strip()
    if raw and sms_enabled():
        phone = mobile_number_e164(raw)
        if phone is None:
            raise ApplicationError(
                _(
                    "This is not a valid mobile number. Please write it like 0170 1234567 "
                    "or +49 170 1234567."
                ),
                field="mobile_number",
            )
        # The SMS login finds the account by this number, so it must lead to one only.
        if (
            Client.objects.filter(mobile_number=phone, user__isnull=False)
            .exclude(pk=client.pk)
            .exists()
        ):
            raise ApplicationError(
                _(
                    "This mobile number cannot be used here. Please give your own number or "
                    "your e-mail address, or contact your Jobcenter."
                ),
                field="mobile_number",
            )
        client.mobile_number = phone
        return
    if sms_enabled():
        raise ApplicationError(
            _("Please enter your e-mail address or your mobile number."), field="email"
        )
    raise ApplicationError(
        _("Please enter your e-mail address. We send the codes for logging in there."),
        field="email",
    )


def invitation_accept(
    *,
    token: str,
    purposes: Collection[str],
    language: str,
    shown_text_ids: Mapping[str, int] | None = None,
    email: str = "",
    mobile_number: str = "",
    request: HttpRequest | None = None,
) -> Client:
    """Accept an invitation: portal account, one consent per chosen purpose, link used up.

    Portal use must be among `purposes`. `shown_text_ids` are the texts the client read; if
    one has been republished since, nothing is saved (ConsentTextChangedError). A client
    invited by letter with nothing on record for login codes gives her `email` (or
    `mobile_number`) here (invitation_needs_contact). All or nothing; a link can be accepted
    once.
    """
    chosen = set(purposes)
    if chosen - set(ConsentPurpose.values):
        raise ApplicationError(_("Please choose only from the purposes shown."))
    missing = {str(purpose) for purpose in REQUIRED_PURPOSES} - chosen
    if missing:
        raise ApplicationError(
            _(
                "To use the portal, please agree to the use of the portal. If you do not "
                "want to, you need not do anything: you can reach us by post, by phone or "
                "in person."
            ),
            field=f"consent_{ConsentPurpose.PORTAL}",
        )
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update()
            .filter(token_hash=Invitation.hash_token(token))
            .first()
        )
        if invitation is None:
            raise InvitationUnusableError("unknown")
        state = selectors.invitation_state(invitation=invitation)
        if state != "valid":
            raise InvitationUnusableError(state)
        client = Client.objects.select_for_update().get(pk=invitation.client_id)
        invitation.client = client
        contact_given = invitation_needs_contact(invitation=invitation)
        if contact_given:
            _contact_given(client, email=email, mobile_number=mobile_number)
        elif not client.email and not client.mobile_number:
            raise InvitationUnusableError("unknown")
        texts = selectors.consent_texts_current(language=language)
        chosen_texts = {purpose: _text_for(purpose, texts, shown_text_ids) for purpose in chosen}
        user = _portal_account_for(client, language, address_proven=not contact_given)
        client.user = user
        # The language the client read the consent in is her choice from now on.
        client.preferred_language = language
        client.save(
            update_fields=["user", "preferred_language", "email", "mobile_number", "updated_at"]
        )
        if contact_given:
            audit_record(actor=user, action="client.contact_given", target=client, request=request)
        now = timezone.now()
        active = set(
            Consent.objects.filter(client=client, withdrawn_at__isnull=True).values_list(
                "purpose", flat=True
            )
        )
        for purpose in ConsentPurpose.values:
            if purpose in chosen and purpose not in active:
                consent = Consent.objects.create(
                    client=client,
                    purpose=purpose,
                    text=chosen_texts[purpose],
                    given_at=now,
                    given_method=ConsentMethod.PORTAL,
                )
                audit_record(actor=user, action="consent.give", target=consent, request=request)
        invitation.accepted_at = now
        invitation.save(update_fields=["accepted_at", "updated_at"])
        Invitation.objects.filter(
            client=client, accepted_at__isnull=True, revoked_at__isnull=True
        ).exclude(pk=invitation.pk).update(revoked_at=now, updated_at=now)
        audit_record(actor=user, action="invitation.accept", target=invitation, request=request)
    return client


# --- consent -----------------------------------------------------------------------------------


def _check_consent_actor(actor: Any, client: Client, method: str) -> None:
    """Clients act for themselves in the portal; staff record what came on paper."""
    if permissions.is_client_user(user=actor):
        if client.user_id != actor.pk or method != ConsentMethod.PORTAL:
            raise PermissionDeniedError(_("You may not change this consent."))
        return
    _require_manage(actor, client)
    if method != ConsentMethod.PAPER:
        raise PermissionDeniedError(_("Staff record consents received on paper only."))


def consent_give(
    *,
    client: Client,
    purpose: str,
    actor: Any,
    language: str,
    method: str = ConsentMethod.PORTAL,
    shown_text_id: int | None = None,
    request: HttpRequest | None = None,
) -> Consent:
    """Give an optional consent again (video, electronic delivery), with the current text.

    Portal use is given only by accepting an invitation. Takes effect at once.
    """
    if purpose not in ConsentPurpose.values:
        raise ApplicationError(_("Unknown purpose."))
    if purpose in REQUIRED_PURPOSES:
        raise ApplicationError(_("Consent to portal use is given by accepting an invitation."))
    _check_consent_actor(actor, client, method)
    with transaction.atomic():
        Client.objects.select_for_update().filter(pk=client.pk).first()
        active = Consent.objects.filter(client=client, withdrawn_at__isnull=True)
        if (
            method == ConsentMethod.PORTAL
            and not active.filter(purpose=ConsentPurpose.PORTAL).exists()
        ):
            raise ApplicationError(_("Without consent to portal use this is not possible."))
        if active.filter(purpose=purpose).exists():
            raise ApplicationError(_("You have already given this consent."))
        texts = selectors.consent_texts_current(language=language)
        text = _text_for(
            purpose, texts, None if shown_text_id is None else {purpose: shown_text_id}
        )
        consent = Consent.objects.create(
            client=client, purpose=purpose, text=text, given_at=timezone.now(), given_method=method
        )
        audit_record(actor=actor, action="consent.give", target=consent, request=request)
    return consent


def _end_portal_access(user: User, actor: Any, request: HttpRequest | None) -> None:
    """Lock the account and end every session it has, on every device."""
    user.is_active = False
    update_fields = ["is_active"]
    if not user.has_usable_password():
        # A new unusable password changes the session auth hash, so a session the tracking
        # missed (every device, any login path) stays dead even after a new invitation
        # reactivates the account. Client accounts log in by code and have no password.
        user.set_unusable_password()
        update_fields.append("password")
    user.save(update_fields=update_fields)
    # An inactive user is refused on their next request anyway (ModelBackend.get_user);
    # ending the tracked sessions also removes them from the session store right now.
    get_usersessions_adapter().end_sessions(list(UserSession.objects.filter(user=user)))
    audit_record(actor=actor, action="user.deactivate", target=user, request=request)


def consent_withdraw(
    *,
    client: Client,
    purpose: str,
    actor: Any,
    method: str = ConsentMethod.PORTAL,
    request: HttpRequest | None = None,
) -> list[Consent]:
    """Withdraw a consent; it takes effect at once.

    Withdrawing portal use withdraws every purpose (they all work through the portal),
    locks the portal account and ends all its sessions until the client is invited again.
    """
    if purpose not in ConsentPurpose.values:
        raise ApplicationError(_("Unknown purpose."))
    _check_consent_actor(actor, client, method)
    with transaction.atomic():
        Client.objects.select_for_update().filter(pk=client.pk).first()
        active = Consent.objects.filter(client=client, withdrawn_at__isnull=True)
        if purpose != ConsentPurpose.PORTAL:
            active = active.filter(purpose=purpose)
        affected = list(active.order_by("purpose"))
        if not any(consent.purpose == purpose for consent in affected):
            raise ApplicationError(
                _("This consent is not active, so there is nothing to withdraw.")
            )
        now = timezone.now()
        for consent in affected:
            consent.withdrawn_at = now
            consent.withdrawn_method = method
            consent.save(update_fields=["withdrawn_at", "withdrawn_method", "updated_at"])
            audit_record(actor=actor, action="consent.withdraw", target=consent, request=request)
        if purpose == ConsentPurpose.PORTAL and client.user_id is not None:
            user = User.objects.get(pk=client.user_id)
            _end_portal_access(user, actor, request)
        _tell_apps_consent_withdrawn(
            client=client, purposes=frozenset(c.purpose for c in affected), actor=actor
        )
    return affected


def _tell_apps_consent_withdrawn(*, client: Client, purposes: frozenset[str], actor: Any) -> None:
    """Let the apps that build on a consent follow its withdrawal, in this transaction.

    Apps above clients (appointments, video calls) may not be imported from here; each takes
    part through a `consent_withdrawn(client=, purposes=, actor=)` method on its AppConfig,
    the same way `task_worker_started` works (ADR 0051). An error rolls the whole
    withdrawal back, so a consent never ends while its video appointments stay booked.
    """
    for app_config in apps.get_app_configs():
        hook = getattr(app_config, "consent_withdrawn", None)
        if hook is not None:
            hook(client=client, purposes=purposes, actor=actor)


def consent_text_publish(
    *,
    purpose: str,
    language: str,
    title: str,
    body: str,
    actor: Any = None,
    request: HttpRequest | None = None,
) -> ConsentText:
    """Publish a new version (n+1) of a consent text. Published versions never change,
    because given consents point at the exact text the client read."""
    if purpose not in ConsentPurpose.values:
        raise ApplicationError(_("Unknown purpose."), field="purpose")
    if language not in dict(settings.LANGUAGES):
        raise ApplicationError(_("Unknown language."), field="language")
    title, body = title.strip(), body.strip()
    if not title:
        raise ApplicationError(_("Please enter a title."), field="title")
    if not body:
        raise ApplicationError(_("Please enter the text."), field="body")
    try:
        with transaction.atomic():
            latest = (
                ConsentText.objects.select_for_update()
                .filter(purpose=purpose, language=language)
                .order_by("-version")
                .first()
            )
            if latest is not None and latest.title == title and latest.body == body:
                raise ApplicationError(
                    _("Nothing has changed compared with version %(version)s.")
                    % {"version": latest.version}
                )
            text = ConsentText.objects.create(
                purpose=purpose,
                language=language,
                version=(latest.version + 1) if latest else 1,
                title=title,
                body=body,
                published_at=timezone.now(),
            )
            audit_record(actor=actor, action="consent_text.create", target=text, request=request)
    except IntegrityError as error:
        raise ApplicationError(
            _("Someone else published a version at the same moment. Please try again.")
        ) from error
    return text
