"""`manage.py eforms_load`: validate every form definition in `eforms/definitions/` and
store the changed ones as new versions (safe to run again: unchanged files load nothing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sprechstunde.eforms.definitions import DefinitionError, definitions_load


class Command(BaseCommand):
    help = "Validate and load the form definitions; a changed file becomes a new version."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--directory", help="Load from this folder instead of eforms/definitions/."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        directory = Path(options["directory"]) if options.get("directory") else None
        try:
            results = definitions_load(directory)
        except DefinitionError as error:
            raise CommandError(f"No form definition loaded:\n{error}") from error
        for result in results:
            definition = result.definition
            state = "new version" if result.created else "unchanged"
            self.stdout.write(f"{definition.slug}: version {definition.version} ({state})")
        created = sum(1 for result in results if result.created)
        self.stdout.write(f"form definitions: {len(results)}, new versions: {created}")
