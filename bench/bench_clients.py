"""Bench data from the clients app, made through its services as a case manager would."""

from __future__ import annotations

import urllib.parse

from sprechstunde.accounts.models import User
from sprechstunde.clients import services
from sprechstunde.clients.choices import ConsentPurpose


def consenting_client_user(*, case_manager: User) -> User:
    """A client who accepted an invitation and consented to every purpose; returns the login."""
    client = services.client_create(
        actor=case_manager,
        first_name="Bench",
        last_name="Client",
        email="bench-client@example.org",
        case_manager=case_manager,
    )
    issued = services.invitation_send(client=client, actor=case_manager)
    client = services.invitation_accept(
        token=issued.token, purposes=list(ConsentPurpose.values), language="de"
    )
    assert client.user is not None
    return client.user


def fresh_invitation_path(*, case_manager: User) -> str:
    """The path of an open invitation link for a new client (the acceptance page)."""
    client = services.client_create(
        actor=case_manager,
        first_name="Invited",
        last_name="Client",
        email="bench-invited@example.org",
        case_manager=case_manager,
    )
    issued = services.invitation_send(client=client, actor=case_manager)
    return urllib.parse.urlsplit(issued.url).path
