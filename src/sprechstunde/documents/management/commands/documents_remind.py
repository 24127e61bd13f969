"""Send the reminders for document requests that are due today; once, or every --interval
seconds. The task queue normally runs them on the morning of each reminder day; this command
is the safety net after downtime and for set-ups without a persistent queue. Each request is
reminded at most once a day, however often this runs."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from sprechstunde.documents.services import document_request_reminders_send_due


class Command(BaseCommand):
    help = "Send due reminders for document requests (content-free e-mails)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=int, default=0, help="Repeat every N seconds.")
        parser.add_argument("--max-runs", type=int, default=0, help="Stop after N runs.")

    def handle(self, *args: Any, **options: Any) -> None:
        runs = 0
        while True:
            outcomes = document_request_reminders_send_due()
            self.stdout.write(f"document request reminders: {outcomes}")
            runs += 1
            if not options["interval"] or (options["max_runs"] and runs >= options["max_runs"]):
                return
            time.sleep(options["interval"])
