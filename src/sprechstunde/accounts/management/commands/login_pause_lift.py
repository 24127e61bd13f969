"""Ends a sign-in pause early (see docs/login-codes.md)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from sprechstunde.accounts.login_budget import login_pause_lift


class Command(BaseCommand):
    help = (
        "End the sign-in pause of an e-mail address after too many failed attempts. Only after "
        "checking by phone or in person that the request comes from the account holder: each "
        "lift gives whoever is guessing one more budget of attempts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True, help="E-mail address (the login).")

    def handle(self, *args: Any, **options: Any) -> None:
        if login_pause_lift(email=options["email"]):
            self.stdout.write("The pause has ended; signing in works again.")
        else:
            self.stdout.write("Signing in was not paused for this address.")
