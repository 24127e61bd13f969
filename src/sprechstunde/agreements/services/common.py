"""Helpers the agreement services share: text cleaning, access checks, mails, back-off."""

# mypy: disallow-untyped-defs, disallow-incomplete-defs

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from sprechstunde.clients.models import Client
from sprechstunde.core.errors import PermissionDeniedError
from sprechstunde.core.sms import sms_enabled, sms_notice_queue

from .. import permissions

MAX_RETRY_DELAY_MINUTES = 60


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
