"""Background jobs of the documents app: the processing pipeline of one document."""

from __future__ import annotations

from django_tasks import task


@task()
def document_process(document_id: int) -> str:
    """Virus check, conversion to PDF, encryption, previews; see services.document_process."""
    from .services import document_process as process

    return process(document_id=document_id)
