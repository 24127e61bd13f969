"""`manage.py backup_create --to DIR --keys DIR`: a consistent backup of this instance.

The database (one snapshot), the documents storage's encrypted blobs and a manifest go to
`--to`; the key material goes to `--keys`, a separate folder that must lie outside it.
"""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from sprechstunde.backups.errors import BackupError
from sprechstunde.backups.services import backup_create


class Command(BaseCommand):
    help = (
        "Back up the database (one consistent snapshot), the documents storage and, into a "
        "separate folder, the key material. Both folders must be new or empty."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--to", required=True, type=Path, help="Folder for the data backup.")
        parser.add_argument(
            "--keys",
            required=True,
            type=Path,
            help="Folder for the key material (0700), outside --to; store it elsewhere.",
        )
        parser.add_argument(
            "--allow-missing-blobs",
            action="store_true",
            help="Finish even if blobs named by the database are missing (listed in the manifest).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            summary = backup_create(
                directory=Path(options["to"]),
                keys_directory=Path(options["keys"]),
                allow_missing_blobs=options["allow_missing_blobs"],
            )
        except BackupError as error:
            raise CommandError(str(error), returncode=1) from error
        manifest = summary.manifest
        blobs = manifest["blobs"]
        self.stdout.write(
            self.style.SUCCESS(
                f"Backup written to {summary.directory}: {manifest['database']['engine']} "
                f"database, {blobs['count']} blobs ({blobs['bytes']} bytes)."
            )
        )
        if blobs["missing"]:
            self.stdout.write(
                self.style.WARNING(f"{len(blobs['missing'])} blobs named by the database missing.")
            )
        self.stdout.write(
            f"Key material written to {summary.keys_directory}: store it apart from the backup."
        )
