"""Run by tests/scale/test_two_nodes.py in the cluster's environment (`python -m
tests.scale.cluster_prepare`): a case manager with TOTP, a client who accepted an invitation
and uses the portal and video calls, their conversation, a video appointment whose call is
open, and a login session for each; made through the apps' own services. Prints one JSON
line."""

from __future__ import annotations

import datetime
import json


def main() -> None:
    import django

    django.setup()
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.urls import reverse
    from django.utils import timezone

    from sprechstunde.accounts.choices import Role
    from sprechstunde.accounts.models import Team, User
    from sprechstunde.appointments.choices import Channel
    from sprechstunde.appointments.services import appointment_book
    from sprechstunde.clients import services as client_services
    from sprechstunde.clients.choices import ConsentPurpose
    from sprechstunde.messaging.services import conversation_get_or_create

    def session_for(user: User) -> str:
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        return str(store.session_key)

    team = Team.objects.create(name="Two nodes")
    manager = User.objects.create_user(
        "nodes-cm@jobcenter.example",
        role=Role.CASE_MANAGER,
        team=team,
        first_name="Nora",
        last_name="Knoten",
    )
    TOTP.activate(manager, generate_totp_secret())
    client = client_services.client_create(
        actor=manager,
        first_name="Karim",
        last_name="Zweiknoten",
        email="nodes-client@example.org",
        case_manager=manager,
    )
    issued = client_services.invitation_send(client=client, actor=manager)
    client = client_services.invitation_accept(
        token=issued.token,
        purposes=[ConsentPurpose.PORTAL, ConsentPurpose.VIDEO],
        language="de",
    )
    assert client.user is not None
    conversation = conversation_get_or_create(client=client)
    # The call opens 15 minutes before the start.
    starts_at = timezone.now() + datetime.timedelta(minutes=5)
    appointment = appointment_book(
        actor=manager,
        client=client,
        starts_at=starts_at,
        ends_at=starts_at + datetime.timedelta(minutes=30),
        channel=Channel.VIDEO,
    )
    print(
        json.dumps(
            {
                "cookie": settings.SESSION_COOKIE_NAME,
                "conversation": conversation.pk,
                "client_session": session_for(client.user),
                "staff_session": session_for(manager),
                "client_first_name": client.first_name,
                "client_name": f"{client.first_name} {client.last_name}",
                "call_path": reverse("video_calls:call", kwargs={"appointment_pk": appointment.pk}),
            }
        )
    )


if __name__ == "__main__":
    main()
