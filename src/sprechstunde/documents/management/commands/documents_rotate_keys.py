"""Re-wrap every document's data key with the active master key (the first entry of
DOCUMENT_MASTER_KEYS). Afterwards the old master keys can be removed from the setting."""

from typing import Any

from django.core.management.base import BaseCommand

from sprechstunde.documents.services import document_keys_rotate


class Command(BaseCommand):
    help = "Re-wrap all document data keys with the active master key."

    def handle(self, *args: Any, **options: Any) -> None:
        count = document_keys_rotate()
        self.stdout.write(f"Re-wrapped {count} data keys.")
