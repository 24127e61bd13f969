"""Client confirmations: a declaration the client assents to in the portal after reading
it in full, re-authenticated by a one-time code sent to their login address; recorded as a
simple electronic signature (evidence page: who, when, which text hash, how authenticated)
and sealed by the platform. Written-form (Schriftform) cases never use this flow."""

# mypy: disallow-untyped-defs, disallow-incomplete-defs

from __future__ import annotations

import datetime
import hashlib
import hmac
import logging
import secrets
from functools import partial
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from sprechstunde.audit.services import audit_record
from sprechstunde.clients.models import Client
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError
from sprechstunde.core.text_input import clean_text

from .. import permissions, sealing
from ..choices import ConfirmationStatus
from ..models import Confirmation
from ..rendering import render_pdf, text_html
from .common import client_address, require_editor, retry_delay

logger = logging.getLogger(__name__)

TITLE_LIMIT = 200
BODY_LIMIT = 20_000


def _code_settings() -> tuple[int, int, int]:
    """Length, lifetime (seconds) and attempts: the same as the clients' login codes."""
    length = int(getattr(settings, "ACCOUNT_LOGIN_BY_CODE_FORMAT", {}).get("length", 6))
    timeout = int(getattr(settings, "ACCOUNT_LOGIN_BY_CODE_TIMEOUT", 600))
    attempts = int(getattr(settings, "ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS", 5))
    return length, timeout, attempts


def _code_hash(confirmation: Confirmation, code: str) -> str:
    key = settings.SECRET_KEY.encode("utf-8")
    message = f"confirmation:{confirmation.pk}:{code}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def confirmation_create(
    *, actor: Any, client: Client, title: Any, body: Any, request: HttpRequest | None = None
) -> Confirmation:
    """Ask the client to confirm a declaration (a text they will read in full)."""
    require_editor(actor, client)
    if not permissions.can_use_portal(client=client):
        raise ApplicationError(
            _("This client does not use the portal. Please ask for the confirmation on paper.")
        )
    clean_title = clean_text(title, limit=TITLE_LIMIT, field="title", required=True)
    clean_body = clean_text(body, limit=BODY_LIMIT, field="body", required=True)
    digest = hashlib.sha256(f"{clean_title}\n\n{clean_body}".encode()).hexdigest()
    with transaction.atomic():
        confirmation = Confirmation.objects.create(
            client=client, title=clean_title, body=clean_body, created_by=actor, text_sha256=digest
        )
        audit_record(
            actor=actor, action="confirmation.create", target=confirmation, request=request
        )
    return confirmation


def _require_own_open(actor: Any, confirmation: Confirmation) -> None:
    if not permissions.is_own_client(user=actor, client=confirmation.client):
        raise PermissionDeniedError(_("You cannot confirm this."))
    if confirmation.status != ConfirmationStatus.OPEN:
        raise ApplicationError(_("This has already been confirmed."))


def confirmation_code_send(
    *, actor: Any, confirmation: Confirmation, request: HttpRequest | None = None
) -> None:
    """Send a fresh one-time code to the client's login address (the code is all it says)."""
    _require_own_open(actor, confirmation)
    length, timeout, _attempts = _code_settings()
    code = "".join(secrets.choice("0123456789") for _ in range(length))
    with transaction.atomic():
        confirmation.code_hash = _code_hash(confirmation, code)
        confirmation.code_expires_at = timezone.now() + datetime.timedelta(seconds=timeout)
        confirmation.code_attempts = 0
        confirmation.save(update_fields=["code_hash", "code_expires_at", "code_attempts"])
        audit_record(actor=actor, action="confirmation.code", target=confirmation, request=request)
    address, language = client_address(confirmation.client)
    context = {"code": code, "minutes": timeout // 60, "jobcenter_name": settings.JOBCENTER_NAME}
    with translation.override(language or settings.LANGUAGE_CODE):
        subject = render_to_string("agreements/mail/code_subject.txt", context).strip()
        body = render_to_string("agreements/mail/code.txt", context)
    send_mail(subject, body, None, [address])


def _masked(address: str) -> str:
    name, _at, domain = address.partition("@")
    return f"{name[:1]}…@{domain}" if domain else "…"


def confirmation_confirm(
    *, actor: Any, confirmation: Confirmation, code: Any, request: HttpRequest | None = None
) -> Confirmation:
    """Check the one-time code and record the confirmation as a simple electronic signature.
    Wrong, expired or too often tried codes change nothing but the attempt counter."""
    _require_own_open(actor, confirmation)
    _length, _timeout, max_attempts = _code_settings()
    entered = str(code or "").strip().replace(" ", "")
    with transaction.atomic():
        locked = Confirmation.objects.select_for_update().get(pk=confirmation.pk)
        if not locked.code_hash or locked.code_expires_at is None:
            raise ApplicationError(_("Please request a code first."), field="code")
        if locked.code_expires_at <= timezone.now() or locked.code_attempts >= max_attempts:
            raise ApplicationError(
                _("This code is no longer valid. Please request a new one."), field="code"
            )
        if not hmac.compare_digest(_code_hash(locked, entered), locked.code_hash):
            Confirmation.objects.filter(pk=locked.pk).update(code_attempts=locked.code_attempts + 1)
            audit_record(
                actor=actor, action="confirmation.code_wrong", target=locked, request=request
            )
            raise_later = True
        else:
            raise_later = False
    if raise_later:
        raise ApplicationError(_("The code is not correct. Please check it."), field="code")
    with transaction.atomic():
        locked = Confirmation.objects.select_for_update().get(pk=confirmation.pk)
        if locked.status != ConfirmationStatus.OPEN:
            raise ApplicationError(_("This has already been confirmed."))
        confirmed_at = timezone.now()
        address, _language = client_address(locked.client)
        locked.evidence = {
            "signer": locked.client.full_name,
            "account": f"client-account:{actor.pk}",
            "confirmed_at": confirmed_at.isoformat(),
            "text_sha256": locked.text_sha256,
            "method": "one-time code by e-mail",
            "address": _masked(address),
        }
        locked.confirmed_at = confirmed_at
        locked.code_hash = ""
        locked.status = ConfirmationStatus.WAITING_FOR_SEAL
        locked.unsealed_pdf = render_pdf(
            "agreements/pdf/confirmation.html",
            {
                "title": locked.title,
                "body_html": text_html(locked.body),
                "evidence": locked.evidence,
                "confirmed_at": confirmed_at,
                "demo_seal": sealing.seal_is_demo(),
            },
        )
        locked.next_seal_at = confirmed_at
        locked.save()
        audit_record(actor=actor, action="confirmation.confirm", target=locked, request=request)
        transaction.on_commit(partial(_enqueue_seal, locked.pk), robust=True)
    return locked


def _enqueue_seal(confirmation_id: int) -> None:
    from ..tasks import confirmation_seal

    confirmation_seal.enqueue(confirmation_id)


def confirmation_seal_attempt(*, confirmation_id: int) -> str:
    """Seal a confirmed document once; on an outage it stays waiting and is retried."""
    confirmation = Confirmation.objects.filter(pk=confirmation_id).first()
    if confirmation is None or confirmation.status != ConfirmationStatus.WAITING_FOR_SEAL:
        return "nothing to do"
    try:
        sealed = sealing.seal(bytes(confirmation.unsealed_pdf or b""), reason=confirmation.title)
    except sealing.SealingOutage:
        attempts = confirmation.seal_attempts + 1
        Confirmation.objects.filter(pk=confirmation.pk).update(
            seal_attempts=attempts, next_seal_at=timezone.now() + retry_delay(attempts)
        )
        return "waiting"
    with transaction.atomic():
        updated = Confirmation.objects.filter(
            pk=confirmation.pk, status=ConfirmationStatus.WAITING_FOR_SEAL
        ).update(pdf=sealed, status=ConfirmationStatus.CONFIRMED, next_seal_at=None)
        if updated:
            audit_record(actor=None, action="confirmation.seal", target=confirmation)
    return "sealed"
