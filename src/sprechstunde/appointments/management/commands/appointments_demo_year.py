"""Generate a realistic past year of appointments for the demo, so the figures show something.

Idempotent: a case manager who already has appointments in the past year is left alone
(`manage.py load_demo_data` runs it, so `make run` starts with figures to show).
Uses the clients that exist (see load_demo_data) and a fixed random seed. The rates follow the
field report: about 80 % of online appointments take place, 60-70 % of on-site ones.
"""

from __future__ import annotations

import datetime
import random
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from sprechstunde.accounts.choices import Role
from sprechstunde.accounts.models import User
from sprechstunde.appointments.choices import (
    AppointmentStatus,
    BookingSource,
    CancellationClass,
    Channel,
    Weekday,
)
from sprechstunde.appointments.models import Appointment, OfficeHours
from sprechstunde.appointments.selectors import local_zone
from sprechstunde.clients.models import Client

ADDRESS = "Jobcenter\nMarktplatz 1\n88212 Ravensburg"
# channel: (share of appointments, probability held when not cancelled)
CHANNELS = {Channel.VIDEO: (0.4, 0.81), Channel.PHONE: (0.3, 0.79), Channel.ON_SITE: (0.3, 0.65)}
CANCELLATIONS = (
    (CancellationClass.CLIENT_EARLY, 0.08),
    (CancellationClass.CLIENT_LATE, 0.05),
    (CancellationClass.JOBCENTER, 0.03),
)
REASONS = {
    CancellationClass.CLIENT_EARLY: "Termin beim Arzt",
    CancellationClass.CLIENT_LATE: "Kind krank",
    CancellationClass.JOBCENTER: "Fallmanager/in krank",
}


class Command(BaseCommand):
    help = "Create a year of past appointments (held, no-show, cancelled) for the demo."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--per-week", type=int, default=6, help="Appointments per week.")
        parser.add_argument("--seed", type=int, default=2020)

    def handle(self, *args: Any, **options: Any) -> None:
        rng = random.Random(options["seed"])  # noqa: S311 (demo data, not secrets)
        created = 0
        for case_manager in User.objects.filter(role=Role.CASE_MANAGER, is_active=True):
            with transaction.atomic():
                created += self._for_case_manager(case_manager, rng, options["per_week"])
        self.stdout.write(f"{created} demo appointments created.")

    def _for_case_manager(self, case_manager: User, rng: random.Random, per_week: int) -> int:
        if not OfficeHours.objects.filter(case_manager=case_manager).exists():
            OfficeHours.objects.create(
                case_manager=case_manager,
                weekday=Weekday.TUESDAY,
                start_time=datetime.time(9),
                end_time=datetime.time(12),
                slot_minutes=30,
                channels=list(Channel.values),
                on_site_address=ADDRESS,
            )
        clients = list(Client.objects.filter(case_manager=case_manager))
        today = timezone.localdate()
        year_ago = today - datetime.timedelta(days=365)
        zone = local_zone()
        # Past appointments only: one booked for next week does not count as a history.
        already = Appointment.objects.filter(
            case_manager=case_manager,
            starts_at__gte=datetime.datetime.combine(year_ago, datetime.time.min, tzinfo=zone),
            starts_at__lt=timezone.now(),
        )
        if not clients or already.exists():
            return 0
        appointments = []
        taken: set[datetime.datetime] = set()
        for week in range(52):
            monday = year_ago + datetime.timedelta(days=7 * week - year_ago.weekday())
            for _ in range(per_week):
                day = monday + datetime.timedelta(days=rng.randrange(5))
                start = datetime.datetime.combine(
                    day, datetime.time(rng.randrange(8, 16)), tzinfo=zone
                )
                # Whole hours and at most an hour long: demo appointments never overlap.
                if day >= today or day < year_ago or start in taken:
                    continue
                taken.add(start)
                appointments.append(
                    self._appointment(case_manager, rng.choice(clients), start, rng)
                )
        Appointment.objects.bulk_create(appointments)
        return len(appointments)

    def _appointment(
        self, case_manager: User, client: Client, start: datetime.datetime, rng: random.Random
    ) -> Appointment:
        channel = rng.choices(list(CHANNELS), weights=[w for w, _ in CHANNELS.values()])[0]
        minutes = rng.choice((30, 30, 45, 60))
        appointment = Appointment(
            case_manager=case_manager,
            client=client,
            starts_at=start,
            ends_at=start + datetime.timedelta(minutes=minutes),
            channel=channel,
            location=ADDRESS if channel == Channel.ON_SITE else "",
            source=rng.choice(list(BookingSource.values)),
            booked_at=start - datetime.timedelta(days=rng.randrange(2, 21)),
            created_by=case_manager,
        )
        roll = rng.random()
        for cancellation_class, share in CANCELLATIONS:
            if roll < share:
                appointment.status = AppointmentStatus.CANCELLED
                appointment.cancellation_class = cancellation_class
                appointment.cancel_reason = REASONS[cancellation_class]
                hours_before = 2 if cancellation_class == CancellationClass.CLIENT_LATE else 72
                appointment.cancelled_at = start - datetime.timedelta(hours=hours_before)
                by_client = cancellation_class != CancellationClass.JOBCENTER
                appointment.cancelled_by = client.user if by_client else case_manager
                appointment.sequence = 1
                return appointment
            roll -= share
        held = rng.random() < CHANNELS[channel][1]
        appointment.status = AppointmentStatus.HELD if held else AppointmentStatus.NO_SHOW
        appointment.attendance_marked_at = appointment.ends_at
        appointment.attendance_marked_by = case_manager
        if held:
            appointment.actual_minutes = max(5, minutes + rng.randrange(-15, 11))
        return appointment
