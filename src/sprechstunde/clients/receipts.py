"""The PDF receipt of a client's consents: purposes, full texts by version, times, method.

Rendered with WeasyPrint from templates (HTML and CSS) as PDF/A-2b, like every document the
Jobcenter keeps in the file (checked in the tests by an independent validator, ADR 0078).
WeasyPrint may not fetch anything: the stylesheet is passed in as text, and every URL the
document might name is refused.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from sprechstunde.core.pdfa_metadata import pdf_with_local_xmp_namespaces

from .models import Client, Consent, ConsentText


def _no_fetching(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise ValueError(f"The receipt does not load external resources ({url[:40]}).")


def consent_receipt_pdf(*, client: Client, consents: list[Consent]) -> bytes:
    """A PDF/A-2b listing every consent record of `client`, each with the text they agreed to."""
    # Imported here: loading WeasyPrint parses its stylesheets, which would slow every start.
    from weasyprint import CSS, HTML

    texts: dict[int, ConsentText] = {}
    for consent in consents:
        texts.setdefault(consent.text_id, consent.text)
    html = render_to_string(
        "clients/receipt.html",
        {
            "client": client,
            "consents": consents,
            "texts": sorted(
                texts.values(), key=lambda text: (text.purpose, text.language, text.version)
            ),
            "created_at": timezone.now(),
            "jobcenter_name": settings.JOBCENTER_NAME,
        },
    )
    stylesheet = CSS(string=render_to_string("clients/pdf/receipt.css"))
    document = HTML(string=html, url_fetcher=_no_fetching)
    pdf = document.write_pdf(stylesheets=[stylesheet], pdf_variant="pdf/a-2b")
    return pdf_with_local_xmp_namespaces(bytes(pdf or b""))
