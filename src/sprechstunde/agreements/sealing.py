"""The one door to the signatures app: seal a PDF with the authority's seal (PAdES B-LT).

The signatures app raises its `SealingUnavailable` on an outage (HSM or remote signing
service unreachable); this module turns it into `SealingOutage`, on which callers keep the
document waiting and retry later. Imported lazily, so the agreements app loads (and keeps
documents waiting) even where the signing service is not installed.
"""

from __future__ import annotations

from django.conf import settings


class SealingOutage(Exception):
    """The seal could not be made now; try again later. Nothing may go out unsealed.
    `service` is "tsa" when the time-stamp service failed, else empty."""

    def __init__(self, message: str, *, service: str = "") -> None:
        super().__init__(message)
        self.service = service


def seal_is_demo() -> bool:
    """The seal key is the self-signed DEMO one (make run): documents to be sealed carry a
    visible "DEMO - NOT VALID" mark on every page, written before the seal so it stays valid."""
    return str(getattr(settings, "SEAL_KEY_SOURCE", "") or "").strip().lower() == "demo"


def seal(pdf: bytes, *, reason: str) -> bytes:
    """The sealed PDF (PAdES baseline B-LT). Raises SealingOutage on an outage."""
    from sprechstunde.signatures.services import SealingUnavailable, pdf_seal

    try:
        return pdf_seal(
            pdf=pdf, level="B-LT", reason=reason[:200], location=settings.JOBCENTER_NAME
        )
    except SealingUnavailable as error:
        raise SealingOutage(str(error), service=getattr(error, "service", "")) from error
