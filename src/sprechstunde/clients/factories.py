"""Test data for clients, invitations and consents."""

import factory

from sprechstunde.accounts.factories import CaseManagerFactory

from .models import Client


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Client

    first_name = factory.Faker("first_name", locale="de_DE")
    last_name = factory.Faker("last_name", locale="de_DE")
    email = factory.Sequence(lambda n: f"client{n}@example.org")
    preferred_language = "de"
    case_manager = factory.SubFactory(CaseManagerFactory)
