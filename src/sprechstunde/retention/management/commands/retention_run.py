"""`manage.py retention_run [--dry-run]`: delete (or only list) what is due, per kind."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from sprechstunde.retention.services import retention_run


class Command(BaseCommand):
    help = (
        "Delete every record whose retention period is over (docs/retention.md). "
        "With --dry-run, list per kind what would go and change nothing."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="List only; delete nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run = options["dry_run"]
        reports = retention_run(dry_run=dry_run)
        verb = "would delete" if dry_run else "deleted"
        total = 0
        for report in reports:
            total += report.count
            span = ""
            if report.oldest or report.newest:
                oldest = report.oldest.date() if report.oldest else "?"
                newest = report.newest.date() if report.newest else "?"
                span = f"  started {oldest} .. {newest}"
            self.stdout.write(f"{report.kind.value:16} {verb} {report.count:6}{span}")
            for rule in report.rules:
                self.stdout.write(f"{'':16}   rule: {rule}")
            if report.note:
                self.stdout.write(f"{'':16}   {report.note}")
        self.stdout.write(f"In all: {verb} {total}.")
