"""Write (or check) the data-protection officer's papers as Markdown files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from sprechstunde.compliance.configuration import (
    configuration_from_settings,
    reference_configuration,
)
from sprechstunde.compliance.writing import (
    REFERENCE_SOURCE,
    RUNNING_SOURCE,
    paper_files,
    paper_files_differences,
    paper_files_write,
)


class Command(BaseCommand):
    help = (
        "Record of processing, DPIA draft, TOMs and processors from the configuration. "
        "Prints them, or writes them with --write DIR; --check DIR fails if DIR is outdated."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        target = parser.add_mutually_exclusive_group()
        target.add_argument("--write", metavar="DIR", help="write the Markdown files into DIR")
        target.add_argument("--check", metavar="DIR", help="exit 1 if DIR differs")
        parser.add_argument(
            "--reference",
            action="store_true",
            help="use the reference configuration (the one docs/compliance/ is made from) "
            "instead of the running one",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["reference"]:
            config, source = reference_configuration(), REFERENCE_SOURCE
        else:
            config, source = configuration_from_settings(settings), RUNNING_SOURCE
        files = paper_files(config=config, source=source)
        if options["write"]:
            for path in paper_files_write(folder=Path(options["write"]), files=files):
                self.stdout.write(f"wrote {path}")
        elif options["check"]:
            differences = paper_files_differences(folder=Path(options["check"]), files=files)
            if differences:
                raise CommandError(
                    f"{options['check']} is outdated: {', '.join(differences)}. Run "
                    "compliance_papers --write with the same options."
                )
            self.stdout.write(f"{options['check']} is up to date.")
        else:
            for text in files.values():
                self.stdout.write(text)
