"""Creates the video bench's data and prints it as one JSON line (run by bench/video_harness.py).

A case manager (with a second factor, as staff need for calls), a consenting client with a
portal login, a video appointment between them that starts in a few minutes (the call is
open), and a logged-in session for each, made as the browser tests make them.
"""

from __future__ import annotations

import json

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.urls import reverse  # noqa: E402


def main() -> None:
    from tests.browser.support.auth import session_create

    from bench import bench_clients
    from bench.prepare import bench_case_manager
    from sprechstunde.clients.models import Client
    from sprechstunde.video_calls.factories import VideoAppointmentFactory

    case_manager = bench_case_manager()
    client_user = bench_clients.consenting_client_user(case_manager=case_manager)
    client = Client.objects.get(user=client_user)
    appointment = VideoAppointmentFactory(case_manager=case_manager, client=client)
    print(
        json.dumps(
            {
                "cookie_name": settings.SESSION_COOKIE_NAME,
                "staff_session": session_create(case_manager),
                "client_session": session_create(client_user),
                "client_name": client_user.get_full_name(),
                "call_path": reverse("video_calls:call", kwargs={"appointment_pk": appointment.pk}),
            }
        )
    )


if __name__ == "__main__":
    main()
