"""Test data for messaging: clients who use the portal, and conversations.

Messages themselves are made through services.message_send, which hands out the numbers.
"""

from typing import cast

import factory
from django.utils import timezone

from sprechstunde.accounts.choices import Role
from sprechstunde.accounts.models import User
from sprechstunde.clients.choices import ConsentMethod, ConsentPurpose
from sprechstunde.clients.factories import ClientFactory
from sprechstunde.clients.models import Client, Consent, ConsentText

from .models import Conversation


def portal_consent_give(client: Client) -> Consent:
    """The client consents to portal use (as after accepting an invitation)."""
    text, _created = ConsentText.objects.get_or_create(
        purpose=ConsentPurpose.PORTAL,
        language="de",
        version=1,
        defaults={"title": "Portal", "body": "Text", "published_at": timezone.now()},
    )
    return Consent.objects.create(
        client=client,
        purpose=ConsentPurpose.PORTAL,
        text=text,
        given_at=timezone.now(),
        given_method=ConsentMethod.PORTAL,
    )


def portal_client_create(*, case_manager: User, email: str, **fields: object) -> Client:
    """A client of `case_manager` with a portal account and consent to portal use; the
    account carries the client's name, as invitation_accept gives it."""
    fields.setdefault("first_name", "Kim")
    fields.setdefault("last_name", "Kunde")
    account = User.objects.create_user(
        email,
        role=Role.CLIENT,
        first_name=fields["first_name"],
        last_name=fields["last_name"],
        preferred_language="en",
    )
    fields.setdefault("preferred_language", "en")
    client = cast(
        Client, ClientFactory(case_manager=case_manager, user=account, email=email, **fields)
    )
    portal_consent_give(client)
    return client


class ConversationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Conversation

    client = factory.SubFactory(ClientFactory)
