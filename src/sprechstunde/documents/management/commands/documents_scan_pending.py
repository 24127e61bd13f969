"""Check and process, at once and in this process, documents still waiting (for the virus
check, or left unfinished), and drop expired upload sessions. The task worker's sweep does
this every few minutes by itself (ADR 0046); this is for doing it by hand, e.g. right after
a long clamd outage. No longer needed as a cron job."""

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
