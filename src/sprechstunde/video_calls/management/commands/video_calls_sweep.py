"""Finish the calls whose join window is over: the safety net after downtime and for
set-ups without a persistent task queue (the queue normally runs it at each window's end)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from sprechstunde.video_calls.services import calls_finish_due


class Command(BaseCommand):
    help = "End video calls nobody ended and record their attendance."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"calls finished: {calls_finish_due()}")
