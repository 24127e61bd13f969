"""Send due reminders and retry unsent appointment mails; once, or every --interval seconds.

The task queue normally runs both at the right time (jobs deferred with run_after); this
command is the safety net after downtime and for set-ups without a persistent queue.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from sprechstunde.appointments.reminders import reminders_send_due
from sprechstunde.appointments.services import (
    appointment_mail_deliver,
    appointment_mail_pending_ids,
)


class Command(BaseCommand):
    help = "Send due appointment reminders and retry unsent appointment mails."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=int, default=0, help="Repeat every N seconds.")
        parser.add_argument("--max-runs", type=int, default=0, help="Stop after N runs.")

    def handle(self, *args: Any, **options: Any) -> None:
        runs = 0
        while True:
            self.run_once()
            runs += 1
            if not options["interval"] or (options["max_runs"] and runs >= options["max_runs"]):
                return
            time.sleep(options["interval"])

    def run_once(self) -> None:
        outcomes = reminders_send_due()
        mails = {"sent": 0, "failed": 0}
        for mail_id in appointment_mail_pending_ids():
            try:
                result = appointment_mail_deliver(mail_id=mail_id)
            except Exception as error:  # an SMTP outage: keep going, retry next run
                self.stderr.write(f"mail {mail_id}: {error}")
                mails["failed"] += 1
            else:
                mails[result] = mails.get(result, 0) + 1
        self.stdout.write(f"reminders: {outcomes} mails: {mails}")
