"""Creates the first administrator account (later ones are created in the app)."""

from __future__ import annotations

import getpass
import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sprechstunde.accounts.choices import Role
from sprechstunde.accounts.services import staff_create
from sprechstunde.core.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Create an administrator account with a password. At the first login the administrator "
        "sets up a second factor. The password is read from an environment variable "
        "(--password-from-env) or asked for interactively; it is never a command-line argument."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True, help="E-mail address (the login).")
        parser.add_argument("--first-name", default="", help="First name.")
        parser.add_argument("--last-name", default="Administrator", help="Last name.")
        parser.add_argument(
            "--password-from-env",
            metavar="VAR",
            help="Name of the environment variable that holds the password.",
        )
        parser.add_argument(
            "--no-input",
            "--noinput",
            action="store_false",
            dest="interactive",
            help="Never prompt; fail when no password is given through the environment.",
        )

    def _password(self, options: dict[str, Any]) -> str:
        variable = options.get("password_from_env")
        if variable:
            password = os.environ.get(variable, "")
            if not password:
                raise CommandError(f"The environment variable {variable} is not set or empty.")
            return password
        if not options["interactive"]:
            raise CommandError("No password: use --password-from-env VAR, or run interactively.")
        for _attempt in range(3):
            password = getpass.getpass("Password: ")
            if password and password == getpass.getpass("Password (again): "):
                return password
            self.stderr.write("The passwords are empty or do not match. Try again.")
        raise CommandError("No password was set.")

    def handle(self, *args: Any, **options: Any) -> None:
        password = self._password(options)
        try:
            user = staff_create(
                actor=None,
                email=options["email"],
                first_name=options["first_name"],
                last_name=options["last_name"],
                role=Role.ADMIN,
                team=None,
                password=password,
            )
        except ApplicationError as error:
            raise CommandError(str(error.message)) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Administrator {user.email} created. "
                "At the first login a second factor must be set up."
            )
        )
