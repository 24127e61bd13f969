"""Sealing and validating PDFs: the interface other apps use (agreements seals decisions).

`pdf_seal()` applies the platform's PAdES seal; `pdf_validate()` checks any signed PDF and
returns a typed `ValidationReport`. Both take and return bytes and touch no database, so
callers decide what to store. The audited entry points for people are
`validation_request_check()` (staff/clients) and `public_check()` (anyone).
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from sprechstunde.audit.services import audit_record
from sprechstunde.core.errors import ApplicationError
from sprechstunde.core.metrics import SEAL_SECONDS

from . import sealing
from .validation import ValidationReport, validate_pdf

__all__ = [
    "InvalidPdfError",
    "PublicCheckRateLimited",
    "SealingUnavailable",
    "ValidationReport",
    "pdf_seal",
    "pdf_validate",
    "public_check",
    "public_check_admit",
    "validation_request_check",
]

logger = logging.getLogger(__name__)

PDF_MAGIC = b"%PDF-"
# The public check's limits count per minute (SIGNATURE_PUBLIC_CHECK_PER_ADDRESS and _TOTAL).
PUBLIC_CHECK_WINDOW_SECONDS = 60


class SealingUnavailable(ApplicationError):
    """The seal key, the time-stamping service or the revocation services are unreachable.

    Nothing was sealed; the caller keeps its document waiting and retries later. `service`
    is "tsa" when the time-stamp service was the one that failed, else empty.
    """

    TSA = sealing.SERVICE_TSA

    def __init__(self, message: Any, *, service: str = "") -> None:
        super().__init__(message)
        self.service = service


class InvalidPdfError(ApplicationError):
    """The bytes are not a PDF we can read or seal."""


class PublicCheckRateLimited(ApplicationError):
    """Too many public checks from this address, or from everyone, in this minute."""

    def __init__(self, message: Any, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def pdf_seal(*, pdf: bytes, level: str = "", reason: str = "", location: str = "") -> bytes:
    """Seal a PDF with the configured platform seal key (PAdES baseline B-B/B-T/B-LT/B-LTA).

    Keeps PDF/A: the seal is an incremental update, the original bytes stay a prefix of the
    result. `level` defaults to SEAL_DEFAULT_LEVEL (B-LT). Raises SealingUnavailable when the
    key, TSA, OCSP/CRL or CSC service cannot be used right now, InvalidPdfError for bad input.
    """
    level = level or str(getattr(settings, "SEAL_DEFAULT_LEVEL", "B-LT"))
    if level not in sealing.LEVELS:
        raise ValueError(f"level must be one of {sealing.LEVELS}, not {level!r}")
    if not pdf.startswith(PDF_MAGIC):
        raise InvalidPdfError(_("This file is not a PDF."))
    started = time.monotonic()
    outcome = "sealed"
    try:
        return sealing.seal(pdf=pdf, level=level, reason=reason, location=location)
    except sealing.UnreadablePdfError as exc:
        outcome = "refused"
        raise InvalidPdfError(_("This PDF cannot be read.")) from exc
    except sealing.SealError as exc:
        outcome = "unavailable"
        raise SealingUnavailable(
            _("The signing service is not available right now. Please try again later."),
            service=exc.service,
        ) from exc
    finally:
        SEAL_SECONDS.labels(level=level, outcome=outcome).observe(time.monotonic() - started)


def pdf_validate(
    *, pdf: bytes, platform_only: bool = False, fetch_revocation: bool = False
) -> ValidationReport:
    """Check every signature in `pdf`: integrity, signer, chain to the trust roots, time stamp,
    revocation and changes after signing.

    Trust roots are the admin-managed ones plus the platform's own; with `platform_only`, only
    the platform's seal roots count and each signature says whether it is the platform seal.
    Revocation data comes from the file's DSS; only with `fetch_revocation` (and
    SIGNATURE_VALIDATION_FETCH) may missing OCSP/CRL data be fetched, under the rules of
    `revocation_fetch.py`. Never raises for bad input: an unreadable file gives a report that
    says so.
    """
    return validate_pdf(pdf=pdf, platform_only=platform_only, fetch_revocation=fetch_revocation)


def _audit_check(
    *, actor: Any, action: str, pdf: bytes, report: ValidationReport, request: HttpRequest | None
) -> None:
    # The document itself never enters the audit trail: only its hash.
    audit_record(
        actor=actor,
        action=action,
        target_type="signatures.pdf",
        target_id=hashlib.sha256(pdf).hexdigest(),
        request=request,
    )


def validation_request_check(
    *, actor: Any, pdf: bytes, request: HttpRequest | None = None
) -> ValidationReport:
    """A signed-in person (staff or client) has a PDF checked; recorded with its hash only.

    Only staff checks may fetch revocation data: a client is an outside person, like the
    public page's visitor, and must not make the server call URLs from a file.
    """
    is_staff = bool(getattr(actor, "is_authenticated", False)) and bool(
        getattr(actor, "is_staff_member", False)
    )
    report = pdf_validate(pdf=pdf, fetch_revocation=is_staff)
    _audit_check(actor=actor, action="signature.validate", pdf=pdf, report=report, request=request)
    return report


def public_check(*, pdf: bytes, request: HttpRequest | None = None) -> ValidationReport:
    """Anyone checks whether a PDF carries this platform's intact seal; recorded by hash.

    Nothing is fetched from the network: the platform's roots and the file's DSS decide
    (B-LT and B-LTA seals carry their revocation data). Callers admit the request first with
    `public_check_admit()`.
    """
    actor = request.user if request is not None and request.user.is_authenticated else None
    report = pdf_validate(pdf=pdf, platform_only=True)
    _audit_check(
        actor=actor, action="signature.public_check", pdf=pdf, report=report, request=request
    )
    return report


def _client_bucket(request: HttpRequest) -> str:
    """The client's address as the proxy set up reports it (REMOTE_ADDR, see
    docs/operations.md); an IPv6 client counts per /64, which one subscriber usually holds."""
    raw = str(request.META.get("REMOTE_ADDR") or "")
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(address), 64), strict=False))
    return str(address)


def _count(key: str, timeout: int) -> int:
    # add() then incr(): atomic in Redis (scaled mode) and per process in the local cache.
    cache.add(key, 0, timeout=timeout)
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, timeout=timeout)
        return 1


def public_check_admit(*, request: HttpRequest) -> None:
    """Count one public check for this client and for everyone; PublicCheckRateLimited when
    either budget of this minute is spent.

    The page needs no login, and each check costs CPU: without a limit one client could keep
    the server busy (issue 11). The counters live in the Django cache, so all processes share
    them when Redis is configured. A refused attempt stores and audits nothing.
    """
    window = int(time.time()) // PUBLIC_CHECK_WINDOW_SECONDS
    retry_after = PUBLIC_CHECK_WINDOW_SECONDS - int(time.time()) % PUBLIC_CHECK_WINDOW_SECONDS
    timeout = 2 * PUBLIC_CHECK_WINDOW_SECONDS
    bucket = _client_bucket(request)
    per_address = int(getattr(settings, "SIGNATURE_PUBLIC_CHECK_PER_ADDRESS", 10))
    total = int(getattr(settings, "SIGNATURE_PUBLIC_CHECK_TOTAL", 60))
    message = _(
        "Too many documents were checked in a short time. Please wait a minute, then try again."
    )
    # Per address first: a client over its own budget does not use up everyone's.
    if _count(f"signatures:public-check:{window}:{bucket}", timeout) > per_address:
        raise PublicCheckRateLimited(message, retry_after=retry_after)
    if _count(f"signatures:public-check:{window}:all", timeout) > total:
        logger.warning("Public signature check: the limit for all clients was reached")
        raise PublicCheckRateLimited(message, retry_after=retry_after)
