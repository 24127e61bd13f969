"""Sealing and validating PDFs: the interface other apps use (agreements seals decisions).

`pdf_seal()` applies the platform's PAdES seal; `pdf_validate()` checks any signed PDF and
returns a typed `ValidationReport`. Both take and return bytes and touch no database, so
callers decide what to store. The audited entry points for people are
`validation_request_check()` (staff/clients) and `public_check()` (anyone).
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from sprechstunde.audit.services import audit_record
from sprechstunde.core.errors import ApplicationError

from . import sealing
from .validation import ValidationReport, validate_pdf

__all__ = [
    "InvalidPdfError",
    "SealingUnavailable",
    "ValidationReport",
    "pdf_seal",
    "pdf_validate",
    "public_check",
    "validation_request_check",
]

PDF_MAGIC = b"%PDF-"


class SealingUnavailable(ApplicationError):
    """The seal key, the time-stamping service or the revocation services are unreachable.

    Nothing was sealed; the caller keeps its document waiting and retries later.
    """


class InvalidPdfError(ApplicationError):
    """The bytes are not a PDF we can read or seal."""


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
    try:
        return sealing.seal(pdf=pdf, level=level, reason=reason, location=location)
    except sealing.UnreadablePdfError as exc:
        raise InvalidPdfError(_("This PDF cannot be read.")) from exc
    except sealing.SealError as exc:
        raise SealingUnavailable(
            _("The signing service is not available right now. Please try again later.")
        ) from exc


def pdf_validate(*, pdf: bytes, platform_only: bool = False) -> ValidationReport:
    """Check every signature in `pdf`: integrity, signer, chain to the trust roots, time stamp,
    revocation and changes after signing.

    Trust roots are the admin-managed ones plus the platform's own; with `platform_only`, only
    the platform's seal roots count and each signature says whether it is the platform seal.
    Never raises for bad input: an unreadable file gives a report that says so.
    """
    return validate_pdf(pdf=pdf, platform_only=platform_only)


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
    """A signed-in person (staff or client) has a PDF checked; recorded with its hash only."""
    report = pdf_validate(pdf=pdf)
    _audit_check(actor=actor, action="signature.validate", pdf=pdf, report=report, request=request)
    return report


def public_check(*, pdf: bytes, request: HttpRequest | None = None) -> ValidationReport:
    """Anyone checks whether a PDF carries this platform's intact seal; recorded by hash."""
    actor = request.user if request is not None and request.user.is_authenticated else None
    report = pdf_validate(pdf=pdf, platform_only=True)
    _audit_check(
        actor=actor, action="signature.public_check", pdf=pdf, report=report, request=request
    )
    return report
