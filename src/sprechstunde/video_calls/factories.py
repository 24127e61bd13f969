"""Test data for video calls."""

import datetime

import factory
from django.utils import timezone

from sprechstunde.appointments.choices import Channel
from sprechstunde.appointments.factories import AppointmentFactory
from sprechstunde.clients.choices import ConsentMethod, ConsentPurpose
from sprechstunde.clients.models import Consent, ConsentText

from .models import Call


def video_consent(client):
    """The client's consent to video consultations (booking and joining need it)."""
    text = (
        ConsentText.objects.filter(purpose=ConsentPurpose.VIDEO)
        .exclude(published_at=None)
        .order_by("-version")
        .first()
    )
    if text is None:  # transactional tests flush the rows of the data migration
        text = ConsentText.objects.create(
            purpose=ConsentPurpose.VIDEO,
            language="de",
            version=1,
            title="Video",
            body="Text",
            published_at=timezone.now(),
        )
    return Consent.objects.create(
        client=client,
        purpose=ConsentPurpose.VIDEO,
        text=text,
        given_at=timezone.now(),
        given_method=ConsentMethod.PORTAL,
    )


class VideoAppointmentFactory(AppointmentFactory):
    """A booked video appointment that starts in five minutes (the call is open)."""

    channel = Channel.VIDEO
    starts_at = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(minutes=5))


class CallFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Call

    appointment = factory.SubFactory(VideoAppointmentFactory)
