"""Once after upgrading to rebuilt PDFs (ADR 0044): rebuild the PDFs of documents processed
before, whose stored PDF was only cleaned."""

from typing import Any

from django.core.management.base import BaseCommand

from sprechstunde.documents.services import documents_rebuild_pdfs


class Command(BaseCommand):
    help = "Rebuild the PDFs of ready documents received as PDF (safe to run again)."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = documents_rebuild_pdfs()
        self.stdout.write(", ".join(f"{key}: {value}" for key, value in counts.items()))
