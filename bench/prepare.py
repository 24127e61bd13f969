"""Creates what the benchmarks need in the bench database and prints it as one JSON line.

A client who has accepted an invitation and consented to every purpose, logged in (a session),
and a fresh, unused invitation link for the acceptance page. Run by bench/server.py with
DJANGO_SETTINGS_MODULE=bench.settings_bench; it goes through the same services the app uses.
"""

from __future__ import annotations

import json

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.test import Client as TestClient  # noqa: E402
from django.urls import reverse  # noqa: E402

from sprechstunde.accounts.choices import Role  # noqa: E402
from sprechstunde.accounts.models import Team, User  # noqa: E402


def bench_case_manager() -> User:
    team, _ = Team.objects.get_or_create(name="Bench team")
    user, created = User.objects.get_or_create(
        email="bench-case-manager@jobcenter.example",
        defaults={"role": Role.CASE_MANAGER, "team": team, "first_name": "Bench"},
    )
    if created:
        user.set_unusable_password()
        user.save()
    return user


def main() -> None:
    from bench import bench_clients

    case_manager = bench_case_manager()
    client_user = bench_clients.consenting_client_user(case_manager=case_manager)
    browser = TestClient()
    browser.force_login(client_user)
    invitation_path = bench_clients.fresh_invitation_path(case_manager=case_manager)
    print(
        json.dumps(
            {
                "session_cookie_name": settings.SESSION_COOKIE_NAME,
                "session_key": browser.session.session_key or "",
                "client_email": client_user.email,
                "paths": {
                    "shell": reverse("bench_shell"),
                    "bare": reverse("bench_bare"),
                    "login": reverse("account_login"),
                    "request_code": reverse("account_request_login_code"),
                    "confirm_code": reverse("account_confirm_login_code"),
                    "invitation": invitation_path,
                    "portal_home": reverse("clients:portal_home"),
                    "privacy": reverse("clients:privacy"),
                },
            }
        )
    )


if __name__ == "__main__":
    main()
