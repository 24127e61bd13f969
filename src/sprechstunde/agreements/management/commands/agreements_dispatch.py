"""`manage.py agreements_dispatch`: retry due seals, send missing postbox notices and due
plan review reminders (run it from cron, e.g. every 10 minutes, and after downtime)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Retry due seals, send missing postbox notices and due plan review reminders."

    def handle(self, *args: Any, **options: Any) -> None:
        from sprechstunde.agreements.tasks import agreements_sweep

        outcome = agreements_sweep.call()
        self.stdout.write(
            f"sealed {outcome['sealed']}, notified {outcome['notified']}, "
            f"reminders {outcome['reminders']}"
        )
