"""`manage.py agreements_templates_load`: load the shipped decision and plan templates whose
key the office does not have yet (run once after `migrate` on a new installation; safe to
run again, it never changes a template the office already has)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Load the shipped decision and plan templates that are missing (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        from sprechstunde.agreements.shipped_templates import shipped_templates_ensure

        created = shipped_templates_ensure()
        self.stdout.write(f"templates created: {created}")
