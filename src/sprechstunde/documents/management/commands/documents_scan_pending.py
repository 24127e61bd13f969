"""The safety net after clamd downtime (or for embedded mode once clamd runs): check and
process documents still waiting for the virus check, and drop expired upload sessions."""

from typing import Any

from django.core.management.base import BaseCommand

from sprechstunde.documents.services import documents_process_pending, upload_sessions_expire


class Command(BaseCommand):
    help = "Virus-check and process waiting documents; remove expired uploads."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = documents_process_pending()
        expired = upload_sessions_expire()
        summary = ", ".join(f"{status}: {count}" for status, count in sorted(counts.items()))
        self.stdout.write(
            f"Documents processed ({summary or 'none waiting'}); "
            f"expired uploads removed: {expired}."
        )
