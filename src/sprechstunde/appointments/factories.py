"""Test data for appointments."""

import datetime

import factory
from django.utils import timezone

from sprechstunde.accounts.factories import CaseManagerFactory
from sprechstunde.clients.factories import ClientFactory

from .choices import AppointmentStatus, BookingSource, Channel, Weekday
from .models import Absence, Appointment, OfficeHours, PublicHoliday


def _next_week_at(hour: int) -> datetime.datetime:
    day = timezone.localdate() + datetime.timedelta(days=7)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, 0)))


class OfficeHoursFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OfficeHours

    case_manager = factory.SubFactory(CaseManagerFactory)
    weekday = Weekday.TUESDAY
    start_time = datetime.time(9, 0)
    end_time = datetime.time(12, 0)
    slot_minutes = 30
    channels = factory.LazyFunction(lambda: [Channel.PHONE, Channel.ON_SITE])
    on_site_address = "Jobcenter, Marktplatz 1, 88212 Ravensburg"
    is_client_bookable = True


class AppointmentFactory(factory.django.DjangoModelFactory):
    """A booked phone appointment a week from now, at 10:00 local time."""

    class Meta:
        model = Appointment

    case_manager = factory.SubFactory(CaseManagerFactory)
    client = factory.SubFactory(ClientFactory, case_manager=factory.SelfAttribute("..case_manager"))
    starts_at = factory.LazyFunction(lambda: _next_week_at(10))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + datetime.timedelta(minutes=30))
    channel = Channel.PHONE
    status = AppointmentStatus.BOOKED
    source = BookingSource.DIRECT
    booked_at = factory.LazyFunction(timezone.now)


class AbsenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Absence

    user = factory.SubFactory(CaseManagerFactory)
    starts_on = factory.LazyFunction(timezone.localdate)
    ends_on = factory.LazyAttribute(lambda o: o.starts_on)


class PublicHolidayFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PublicHoliday
        django_get_or_create = ("day",)

    day = factory.LazyFunction(timezone.localdate)
    name = "Feiertag"
