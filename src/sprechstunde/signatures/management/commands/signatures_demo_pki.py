"""Create the self-signed DEMO seal PKI under SEAL_DEMO_DIR (var/seal-demo) for `make run`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from sprechstunde.signatures.demo_pki import demo_pki_create, demo_pki_ensure


class Command(BaseCommand):
    help = (
        "Create the DEMO seal PKI (self-signed, not for production) used with SEAL_KEY_SOURCE=demo."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="Replace existing demo keys.")

    def handle(self, *args: Any, **options: Any) -> None:
        paths = demo_pki_create(force=bool(options["force"]))
        demo_pki_ensure()
        self.stdout.write(f"DEMO seal PKI in {paths.directory} (self-signed, NOT for production).")
        self.stdout.write(f"Trust anchor for local checks: {paths.root_cert}")
