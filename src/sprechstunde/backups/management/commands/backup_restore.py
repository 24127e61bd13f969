"""`manage.py backup_restore --from DIR`: restore a backup into this (empty) instance.

Run it with the backup's keys.env loaded into the environment, against a new database and
an empty documents storage; then `migrate` (if it says so), `audit_verify` and `backup_check`.
"""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from sprechstunde.backups.errors import BackupError
from sprechstunde.backups.services import backup_restore


class Command(BaseCommand):
    help = (
        "Restore a backup made by backup_create into the configured database and documents "
        "storage. Refuses non-empty targets unless --force, and an instance without the "
        "backup's keys."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--from", dest="source", required=True, type=Path, help="The backup folder."
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Replace everything in a non-empty database; overwrite blobs of the same name.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            summary = backup_restore(directory=Path(options["source"]), force=options["force"])
        except BackupError as error:
            raise CommandError(str(error), returncode=1) from error
        manifest = summary.manifest
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored the backup of {manifest['created_at']} (version "
                f"{manifest['app_version']}): database and {summary.blob_count} blobs."
            )
        )
        if summary.pending_migrations:
            self.stdout.write(
                self.style.WARNING(
                    f"This code has {len(summary.pending_migrations)} migrations the backup "
                    "lacks: run `manage.py migrate` now."
                )
            )
        expect = f" --expect {manifest['audit_head']}" if manifest.get("audit_head") else ""
        self.stdout.write(f"Next: `manage.py audit_verify{expect}` and `manage.py backup_check`.")
