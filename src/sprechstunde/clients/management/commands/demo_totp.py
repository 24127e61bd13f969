"""`manage.py demo_totp <email>`: the current TOTP code of a demo staff member."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sprechstunde.accounts.models import User
from sprechstunde.clients import demo


class Command(BaseCommand):
    help = "Print the current 6-digit TOTP code of a user's authenticator (demo systems only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--force", action="store_true", help="Run even with DEBUG off.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not demo.demo_allowed() and not options["force"]:
            raise CommandError("DEBUG is off: demo_totp is for demo systems only (use --force).")
        user = User.objects.filter(email__iexact=options["email"].strip()).first()
        if user is None:
            raise CommandError(f"No user with the e-mail address {options['email']!r}.")
        secret = demo.totp_secret_of(user)
        if secret is None:
            raise CommandError(f"{user.email} has no TOTP authenticator.")
        now = time.time()
        remaining = demo.TOTP_PERIOD_SECONDS - int(now % demo.TOTP_PERIOD_SECONDS)
        self.stdout.write(demo.totp_code(secret, at=now))
        self.stderr.write(f"valid for another {remaining} s")
