"""While processing is restricted (Art. 18 GDPR) nothing goes out to the client either: no
reminder, no appointment mail or SMS, no notice of a message, document request, plan or
decision (ADR 0062)."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from sprechstunde.accounts.factories import CaseManagerFactory, ClientUserFactory
from sprechstunde.agreements.services.common import client_address
from sprechstunde.appointments import services as appointment_services
from sprechstunde.appointments.choices import Channel, MailRecipient
from sprechstunde.appointments.models import AppointmentMail
from sprechstunde.appointments.reminders import _send
from sprechstunde.clients.choices import ConsentPurpose
from sprechstunde.clients.factories import ClientFactory
from sprechstunde.clients.models import Consent, ConsentText
from sprechstunde.core.errors import PermissionDeniedError
from sprechstunde.documents.services.requests import client_uses_portal as documents_reach
from sprechstunde.messaging.permissions import client_uses_portal as messages_reach

pytestmark = pytest.mark.django_db


@pytest.fixture
def person():
    user = ClientUserFactory(email="rita@example.org")
    client = ClientFactory(case_manager=CaseManagerFactory(), user=user, email="rita@example.org")
    Consent.objects.create(
        client=client,
        purpose=ConsentPurpose.PORTAL,
        text=ConsentText.objects.get(purpose=ConsentPurpose.PORTAL, language="de", version=1),
        given_at=timezone.now(),
        given_method="paper",
    )
    return client


def _book(client):
    start = (timezone.now() + datetime.timedelta(days=3)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    return appointment_services.appointment_book(
        actor=client.case_manager,
        client=client,
        starts_at=start,
        ends_at=start + datetime.timedelta(minutes=30),
        channel=Channel.PHONE,
    )


def test_an_unrestricted_client_is_reached(person):
    assert client_address(person)[0] == "rita@example.org"
    assert messages_reach(client=person) and documents_reach(client=person)
    _book(person)
    assert AppointmentMail.objects.filter(recipient=MailRecipient.CLIENT).count() == 1


def test_a_restricted_client_gets_nothing(person):
    appointment = _book(person)
    reminder = appointment.reminders.first()
    person.processing_restricted_at = timezone.now()
    person.save(update_fields=["processing_restricted_at"])
    assert client_address(person)[0] == ""
    assert not messages_reach(client=person)
    assert not documents_reach(client=person)
    reminder.refresh_from_db()
    assert _send(reminder) == "restricted"
    before = AppointmentMail.objects.count()
    with pytest.raises(PermissionDeniedError):  # no new appointment while restricted
        _book(person)
    assert AppointmentMail.objects.count() == before
