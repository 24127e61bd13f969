"""Filling the sample form in tests: complete answers and an attached document."""

from __future__ import annotations

from typing import Any

COMPLETE_ANSWERS: dict[str, Any] = {
    "account_holder": "Kim Kunde",
    "iban": "DE89370400440532013000",
    "job_start": "2026-11-01",
    "salary": "185000",
    "has_household": "yes",
    "members": [{"member_name": "Ada Kunde", "member_born": "2019-05-04"}],
    "reason": "job",
}


def ready_document(client: Any, *, title: str = "Lohnabrechnung") -> Any:
    """A READY document of `client` made the way the platform makes its own (encrypted)."""
    from sprechstunde.documents.factories import pdf_bytes
    from sprechstunde.documents.services import document_store_generated

    return document_store_generated(
        client=client,
        actor=client.user,
        title=title,
        file_name=f"{title}.pdf",
        content_type="application/pdf",
        data=pdf_bytes(1, text=title),
    )
