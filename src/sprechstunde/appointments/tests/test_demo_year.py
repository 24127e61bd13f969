"""The demo year: realistic figures, created once."""

import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone

from sprechstunde.appointments.choices import AppointmentStatus, Channel
from sprechstunde.appointments.models import Appointment
from sprechstunde.appointments.selectors import appointment_figures
from sprechstunde.clients.factories import ClientFactory

pytestmark = pytest.mark.django_db


def test_demo_year_is_realistic_and_created_once(case_manager, team_lead):
    ClientFactory.create_batch(4, case_manager=case_manager)
    call_command("appointments_demo_year")
    count = Appointment.objects.count()
    assert count > 250
    call_command("appointments_demo_year")
    assert Appointment.objects.count() == count
    assert not Appointment.objects.filter(starts_at__gte=timezone.now()).exists()
    assert case_manager.office_hours.exists()

    today = timezone.localdate()
    rows = appointment_figures(
        viewer=team_lead, start=today - datetime.timedelta(days=366), end=today
    )

    def show_rate(channels):
        held = sum(r.held for r in rows if r.channel in channels)
        return held / sum(r.attended_or_missed for r in rows if r.channel in channels)

    online, on_site = show_rate({Channel.VIDEO, Channel.PHONE}), show_rate({Channel.ON_SITE})
    assert 0.7 < online < 0.9
    assert 0.5 < on_site < 0.75
    late = sum(r.cancelled_client_late for r in rows)
    assert late > 0
    assert Appointment.objects.filter(status=AppointmentStatus.CANCELLED).count() > late
