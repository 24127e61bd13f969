"""`manage.py load_demo_data`: demo teams, staff and clients, then a table of the logins."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from sprechstunde.clients import demo
from sprechstunde.clients.selectors import client_has_portal_access


class Command(BaseCommand):
    help = (
        "Load idempotent demo data (teams, staff with TOTP, ten clients, a year of past "
        "appointments) and print the logins."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Load even with DEBUG off. The demo passwords are public: never in production.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not demo.demo_allowed() and not options["force"]:
            raise CommandError(
                "DEBUG is off: refusing to create demo logins with published passwords. "
                "Use --force if this really is a test system."
            )
        result = demo.load_demo_data()
        # Starter plan and decision templates (agreements app), created once.
        from sprechstunde.agreements.demo import agreement_templates_ensure

        agreement_templates_ensure()
        # The shipped form definitions (eforms app); unchanged files load nothing.
        call_command("eforms_load", stdout=self.stdout)
        # A year of past appointments, so the figures page has charts from the first start;
        # the command leaves a case manager alone who already has a past year (idempotent).
        call_command("appointments_demo_year", stdout=self.stdout)
        write = self.stdout.write
        write(self.style.SUCCESS(f"Demo data for {settings.JOBCENTER_NAME} is ready."))
        write(
            f"{len(result.staff)} staff, {len(result.clients)} clients "
            f"({result.created_clients} new), {result.consent_texts} consent texts."
        )
        write("")
        write("Staff logins (password + TOTP code; `manage.py demo_totp <email>` prints the code):")
        rows = [("E-mail", "Role", "Team", "Password", "TOTP secret")]
        for user in result.staff:
            rows.append(
                (
                    user.email or "",
                    str(user.get_role_display()),
                    user.team.name if user.team else "-",
                    demo.DEMO_PASSWORD,
                    demo.DEMO_TOTP_SECRET,
                )
            )
        self._table(rows)
        write("")
        write(
            "Clients log in with a 6-digit code sent by e-mail (read it in the dev outbox); "
            "a client with only a mobile number gets it by SMS once SMS_GATEWAY_URL is set:"
        )
        client_rows = [("E-mail or mobile", "Name", "Portal")]
        for client in result.clients:
            portal = "yes" if client_has_portal_access(client=client) else "no"
            client_rows.append((client.email or client.mobile_number, client.full_name, portal))
        self._table(client_rows)

    def _table(self, rows: Sequence[Sequence[str]]) -> None:
        widths = [max(len(row[index]) for row in rows) for index in range(len(rows[0]))]
        for number, row in enumerate(rows):
            self.stdout.write(
                "  ".join(
                    cell.ljust(width) for cell, width in zip(row, widths, strict=True)
                ).rstrip()
            )
            if number == 0:
                self.stdout.write("  ".join("-" * width for width in widths))
