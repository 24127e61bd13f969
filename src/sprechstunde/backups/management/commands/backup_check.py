"""`manage.py backup_check`: after a restore, prove the data is whole and readable.

Verifies the audit chain, decrypts every document blob and data export, and validates the
seal of every sealed decision and confirmation. Exits 1 and lists problems (ids only).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from sprechstunde.audit.services import audit_record
from sprechstunde.backups.checks import instance_check


class Command(BaseCommand):
    help = (
        "Check this instance's data: audit chain intact, every document decrypts, every "
        "sealed decision validates. Exits non-zero on the first kind of problem found."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        check = instance_check()
        audit_record(actor=None, action="backup.check")
        self.stdout.write(
            f"Audit trail: {check.audit_entries} entries (head {check.audit_head}). "
            f"Documents: {check.documents} ({check.blobs} blobs decrypted). "
            f"Data exports: {check.data_exports}. Seals: {check.seals}."
        )
        if not check.is_ok:
            for problem in check.problems:
                self.stderr.write(problem)
            raise CommandError(f"{len(check.problems)} problem(s) found.", returncode=1)
        self.stdout.write(self.style.SUCCESS("All checks passed."))
