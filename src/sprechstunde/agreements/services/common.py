"""Helpers the agreement services share: text cleaning, access checks, mails, back-off."""

# mypy: disallow-untyped-defs, disallow-incomplete-defs

from __future__ import annotations

import datetime
import re
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from sprechstunde.clients.models import Client
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError
from sprechstunde.core.sms import sms_enabled, sms_notice_queue

from .. import permissions

_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
MAX_RETRY_DELAY_MINUTES = 60


def clean_text(value: Any, *, limit: int, field: str, required: bool = False) -> str:
    """Text as stored: line ends unified, control characters removed, trimmed, bounded."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ApplicationError(_("Please enter text."), field=field)
    value = value.encode("utf-8", errors="replace").decode("utf-8")
    text = _CONTROL_CHARACTERS.sub("", value.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if required and not text:
        raise ApplicationError(_("Please fill in this field."), field=field)
    if len(text) > limit:
        raise ApplicationError(
            _("At most %(limit)d characters, please.") % {"limit": limit}, field=field
        )
    return text


def require_editor(actor: Any, client: Client) -> None:
    if not permissions.can_edit_agreements(user=actor, client=client):
        raise PermissionDeniedError(_("You may not change this client's plans and decisions."))


def retry_delay(attempts: int) -> datetime.timedelta:
    """1, 2, 4 … minutes between attempts, at most an hour."""
    return datetime.timedelta(minutes=min(2 ** max(attempts - 1, 0), MAX_RETRY_DELAY_MINUTES))


def content_free_mail(*, address: str, language: str, kind: str, path_name: str) -> None:
    """A notice without content: no name, no subject matter, only a link to log in."""
    context = {
        "kind": kind,
        "url": f"{settings.SITE_URL}{reverse(path_name)}",
        "jobcenter_name": settings.JOBCENTER_NAME,
    }
    with translation.override(language or settings.LANGUAGE_CODE):
        subject = render_to_string("agreements/mail/notice_subject.txt", context).strip()
        body = render_to_string("agreements/mail/notice.txt", context)
    send_mail(subject, body, None, [address])


def client_notice_send(
    *, client: Client, kind: str, path_name: str, dedupe_key: str | None
) -> bool:
    """Tell the client without content that the portal holds something for her: by e-mail,
    or by SMS to her mobile number when she has no address. False when she cannot be told
    (no channel, or processing restricted, Art. 18 GDPR)."""
    address, language = client_address(client)
    if address:
        content_free_mail(address=address, language=language, kind=kind, path_name=path_name)
        return True
    if client.processing_restricted_at is not None or not client.mobile_number:
        return False
    if not sms_enabled():
        return False
    sms_notice_queue(
        to=client.mobile_number,
        notice="document",
        path=reverse(path_name),
        language=language,
        dedupe_key=dedupe_key,
    )
    return True


def client_address(client: Client) -> tuple[str, str]:
    """Where to write to the client, and in which language; no address while processing is
    restricted on request (Art. 18 GDPR, ADR 0062): nothing is sent then."""
    account = client.user
    address = (account.email if account else "") or client.email
    if client.processing_restricted_at is not None:
        address = ""
    language = (account.preferred_language if account else "") or client.preferred_language
    return address, language


def now() -> datetime.datetime:
    return timezone.now()
