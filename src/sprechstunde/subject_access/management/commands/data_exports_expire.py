"""Delete every copy of a client's data whose download link has expired."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from sprechstunde.subject_access.services import data_exports_expire


class Command(BaseCommand):
    help = "Delete the files of copies of clients' data (Art. 15 GDPR) whose link has expired."

    def handle(self, *args: Any, **options: Any) -> None:
        count = data_exports_expire()
        self.stdout.write(f"{count} expired copies deleted.")
