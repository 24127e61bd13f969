"""The delivery log of a decision as a PDF/A (evidence for the file and for court)."""

from __future__ import annotations

from .models import Decision
from .rendering import render_pdf


def delivery_log_pdf(*, decision: Decision) -> bytes:
    from .selectors import delivery_events
    from .services import delivery_log_verify
    from .services.decisions import portal_announcement_days

    return render_pdf(
        "agreements/pdf/delivery_log.html",
        {
            "decision": decision,
            "title": decision.template.title,
            "events": delivery_events(decision=decision),
            "intact": delivery_log_verify(decision=decision),
            "days": portal_announcement_days(),
        },
    )
