"""The data of one Jobcenter day for bench/jobcenter_day.py, made fast (run in the nodes'
environment as `python -m bench.jobcenter_seed day|reminders ...`; prints one JSON line).

`day`: 25 case managers (with TOTP, as staff need for calls), 5,000 clients with a portal
login, their consents and conversations, and 1,000 appointments on today's timeline, a third of
them by video; logged-in sessions for the staff and for the clients who act today. The first
client goes through the clients app's services (invitation, acceptance), which also checks
that the consent texts exist; the other rows are copies of its shape made with bulk_create,
because the services would take minutes for 5,000 (one invitation mail and audit row each).

`reminders`: reminder rows of today's appointments that fall due between --start and --until
(epoch seconds), and one sweep job per due minute, queued as a booking queues it
(`reminder_sweep_schedule`). Run just before the load starts, so that the worker sends them
while the load runs.
"""

from __future__ import annotations

import argparse
import datetime
import json
import random
import time
import uuid


def _sessions(users: list, *, tag: str) -> list[str]:
    """A logged-in session for each user, as the real login leaves it (staff: password and
    TOTP; clients: the e-mailed code); one template session is made per kind, the others are
    its copies with the user's id and hash, written with bulk_create."""
    from django.conf import settings
    from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.models import Session
    from django.utils import timezone
    from tests.browser.support.auth import session_create

    if not users:
        return []
    first = session_create(users[0])
    if settings.SESSION_ENGINE != "django.contrib.sessions.backends.db":
        # Only the database engine can be bulk-written; other engines go one by one.
        return [first, *(session_create(user) for user in users[1:])]
    template = Session.objects.get(session_key=first).get_decoded()
    store_class = Session.get_session_store_class()
    expires = timezone.now() + datetime.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    keys = [first]
    rows = []
    for user in users[1:]:
        data = dict(template)
        data[SESSION_KEY] = str(user.pk)
        data[HASH_SESSION_KEY] = user.get_session_auth_hash()
        key = f"{tag}{uuid.uuid4().hex}"[:40]
        keys.append(key)
        rows.append(
            Session(session_key=key, session_data=store_class().encode(data), expire_date=expires)
        )
    Session.objects.bulk_create(rows, batch_size=1000)
    return keys


FORM_CODE = "246810"


def _eforms_ready() -> bool:
    """Whether this branch has the eforms app's submit service (the form submission kind)."""
    try:
        from sprechstunde.eforms.services import submission_submit
    except ImportError:
        return False
    return callable(submission_submit)


def seed_forms(*, clients: list, count: int) -> list[dict]:
    """`count` forms filled in completely (the engine's sample form, with its payslip
    attached), each waiting for its one-time code, which is set to FORM_CODE here: the code
    goes out by mail, which the generator cannot read. What the generator then does is the
    submission itself (code check, PDF/A and JSON stored as her documents)."""
    from django.utils import timezone

    from sprechstunde.eforms.factories import FormDefinitionFactory, FormSubmissionFactory
    from sprechstunde.eforms.models import FormSubmission
    from sprechstunde.eforms.services import attachment_add
    from sprechstunde.eforms.services.client import _code_hash
    from sprechstunde.eforms.testing.filling import COMPLETE_ANSWERS, ready_document

    definition = FormDefinitionFactory()
    forms = []
    for client in clients[:count]:
        submission = FormSubmissionFactory(
            client=client, definition=definition, answers={**COMPLETE_ANSWERS}
        )
        attachment_add(
            actor=client.user,
            submission=submission,
            field_key="payslip",
            document=ready_document(client),
        )
        submission.refresh_from_db()
        FormSubmission.objects.filter(pk=submission.pk).update(
            code_hash=_code_hash(submission, FORM_CODE),
            code_expires_at=timezone.now() + datetime.timedelta(hours=8),
        )
        forms.append({"submission": submission.pk, "revision": submission.revision})
    return forms


def seed_day(
    *, staff: int, clients: int, appointments: int, active: int, forms: int, seed: int
) -> dict:
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from django.conf import settings
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.utils import timezone

    from sprechstunde.accounts.choices import Role
    from sprechstunde.accounts.models import Team, User
    from sprechstunde.appointments.choices import AppointmentStatus, BookingSource, Channel
    from sprechstunde.appointments.models import Appointment
    from sprechstunde.clients import services as client_services
    from sprechstunde.clients.choices import ConsentPurpose
    from sprechstunde.clients.models import Client, Consent
    from sprechstunde.messaging.models import Conversation
    from sprechstunde.video_calls.permissions import is_join_open
    from sprechstunde.video_calls.services import call_get_or_create

    rng = random.Random(seed)
    started = time.perf_counter()
    team = Team.objects.create(name="Jobcenter Tag")
    managers = []
    for n in range(staff):
        manager = User.objects.create_user(
            f"fallmanager{n}@jobcenter.example",
            role=Role.CASE_MANAGER,
            team=team,
            first_name=f"Fall{n}",
            last_name="Managerin",
        )
        TOTP.activate(manager, generate_totp_secret())
        managers.append(manager)

    # The first client through the services: the shape every copy follows.
    first = client_services.client_create(
        actor=managers[0],
        first_name="Erste",
        last_name="Klientin",
        email="klientin0@example.org",
        case_manager=managers[0],
    )
    issued = client_services.invitation_send(client=first, actor=managers[0])
    first = client_services.invitation_accept(
        token=issued.token, purposes=list(ConsentPurpose.values), language="de"
    )
    first_consents = list(Consent.objects.filter(client=first))
    unusable = make_password(None)
    languages = ["de", "de", "de", "en", "uk", "ar", "tr", "ru", "fa"]
    now = timezone.now()
    with transaction.atomic():
        users = User.objects.bulk_create(
            (
                User(
                    email=f"klientin{n}@example.org",
                    password=unusable,
                    role=Role.CLIENT,
                    first_name=f"Vorname{n}",
                    last_name=f"Nachname{n}",
                    preferred_language=languages[n % len(languages)],
                )
                for n in range(1, clients)
            ),
            batch_size=1000,
        )
        people = Client.objects.bulk_create(
            (
                Client(
                    first_name=user.first_name,
                    last_name=user.last_name,
                    email=user.email,
                    case_manager=managers[n % staff],
                    user=user,
                    preferred_language=user.preferred_language,
                )
                for n, user in enumerate(users, start=1)
            ),
            batch_size=1000,
        )
        Consent.objects.bulk_create(
            (
                Consent(
                    client=person,
                    purpose=consent.purpose,
                    text_id=consent.text_id,
                    given_at=now,
                    given_method=consent.given_method,
                )
                for person in people
                for consent in first_consents
            ),
            batch_size=2000,
        )
        everyone = [first, *people]
        Conversation.objects.get_or_create(client=first)
        Conversation.objects.bulk_create(
            (Conversation(client=person) for person in people), batch_size=1000
        )
        # The day: `appointments` spread over eight hours around now, every third by video;
        # the video appointments that start in the next minutes are the ones called now.
        day_start = now - datetime.timedelta(hours=4)
        step = datetime.timedelta(seconds=8 * 3600 / max(1, appointments))
        booked = []
        calling_now = 0
        for n in range(appointments):
            starts = day_start + step * n
            channel = Channel.VIDEO if n % 3 == 0 else Channel.PHONE
            if abs((starts - now).total_seconds()) < 15 * 60:
                # The appointments of these minutes: every other one is called now.
                calling_now += 1
                starts = now + datetime.timedelta(minutes=5, seconds=calling_now)
                channel = Channel.VIDEO if calling_now % 2 else Channel.PHONE
            client = everyone[(n * 7) % len(everyone)]
            booked.append(
                Appointment(
                    case_manager_id=client.case_manager_id,
                    client=client,
                    starts_at=starts,
                    ends_at=starts + datetime.timedelta(minutes=30),
                    channel=channel,
                    status=AppointmentStatus.BOOKED,
                    source=BookingSource.DIRECT,
                    booked_at=now - datetime.timedelta(days=7),
                )
            )
        booked = Appointment.objects.bulk_create(booked, batch_size=1000)
    calls = []
    for appointment in booked:
        if is_join_open(appointment=appointment):
            calls.append((call_get_or_create(appointment=appointment), appointment))
    rows_seconds = time.perf_counter() - started

    # Sessions: every case manager, and the clients who act today (the appointments' clients
    # first, as they are the ones who call).
    acting = {appointment.client_id for _call, appointment in calls}
    active_people = [person for person in everyone if person.pk in acting]
    others = [person for person in everyone if person.pk not in acting]
    rng.shuffle(others)
    active_people += others[: max(0, active - len(active_people))]
    user_by_client = {person.pk: person.user for person in active_people}
    staff_keys = _sessions(managers, tag="s")
    client_keys = _sessions([person.user for person in active_people], tag="c")
    client_session = dict(zip([p.pk for p in active_people], client_keys, strict=True))
    staff_session = dict(zip([m.pk for m in managers], staff_keys, strict=True))
    conversations = dict(
        Conversation.objects.filter(client_id__in=client_session).values_list("client_id", "pk")
    )
    caseload: dict[int, list[int]] = {m.pk: [] for m in managers}
    for person in everyone:
        if len(caseload[person.case_manager_id]) < 40:
            caseload[person.case_manager_id].append(person.pk)
    assert all(user_by_client.values())
    forms_started = time.perf_counter()
    forms = seed_forms(clients=active_people, count=forms) if _eforms_ready() else []
    forms_seconds = time.perf_counter() - forms_started
    by_client = {}
    for person, form in zip(active_people, forms, strict=False):
        by_client[person.pk] = form
    return {
        "eforms": _eforms_ready(),
        "session_cookie": settings.SESSION_COOKIE_NAME,
        "csrf_cookie": settings.CSRF_COOKIE_NAME,
        "seconds_rows": round(rows_seconds, 1),
        "seconds_total": round(time.perf_counter() - started, 1),
        "counts": {
            "staff": len(managers),
            "clients": len(everyone),
            "appointments": len(booked),
            "video_calls_open_now": len(calls),
            "client_sessions": len(client_keys),
        },
        "staff": [{"session": staff_session[m.pk], "clients": caseload[m.pk]} for m in managers],
        "seconds_forms": round(forms_seconds, 1),
        "clients": [
            {"id": pk, "session": key, "conversation": conversations[pk]}
            for pk, key in client_session.items()
        ],
        "forms": [
            {**form, "session": client_session[pk], "code": FORM_CODE}
            for pk, form in by_client.items()
        ],
        "calls": [
            {
                "call": call.pk,
                "staff_session": staff_session[appointment.case_manager_id],
                "client_session": client_session[appointment.client_id],
            }
            for call, appointment in calls
        ],
    }


def seed_reminders(*, start: float, until: float, count: int, seed: int) -> dict:
    """`count` reminders of today's booked appointments falling due between start and until;
    one sweep job per due minute. A minute boundary before `until` is needed for the sweep to
    run within the window: without one, the reminders are due at `start` already (a backlog)."""
    from django.db import transaction
    from django.utils import timezone

    from sprechstunde.appointments.choices import AppointmentStatus, ReminderChannel
    from sprechstunde.appointments.models import Appointment, Reminder
    from sprechstunde.appointments.reminders import reminder_sweep_schedule

    rng = random.Random(seed)
    first_minute = (int(start) // 60 + 1) * 60
    last_minute = (int(until) // 60) * 60
    if last_minute < first_minute:
        # A backlog: due a minute ago, so that their sweep runs at once.
        start = until = start - 61
    else:
        until = last_minute - 1
    appointments = list(
        Appointment.objects.filter(
            status=AppointmentStatus.BOOKED,
            starts_at__gt=datetime.datetime.fromtimestamp(until + 120, tz=datetime.UTC),
        )
        .exclude(reminders__step_minutes=60)
        .order_by("?")
        .values_list("pk", "sequence")[:count]
    )
    rows = [
        Reminder(
            appointment_id=pk,
            sequence=sequence,
            step_minutes=60,
            channel=ReminderChannel.EMAIL,
            due_at=datetime.datetime.fromtimestamp(rng.uniform(start, until), tz=datetime.UTC),
        )
        for pk, sequence in appointments
    ]
    with transaction.atomic():
        Reminder.objects.bulk_create(rows)
        minutes = sorted({row.due_at.replace(second=0, microsecond=0) for row in rows})
        for minute in minutes:
            reminder_sweep_schedule(run_at=minute + datetime.timedelta(minutes=1))
    ids = [row.pk for row in rows]
    return {
        "reminders": len(rows),
        "sweeps": len(minutes),
        "first_id": min(ids, default=0),
        "last_id": max(ids, default=0),
        "now": timezone.now().timestamp(),
    }


def main() -> None:
    import django

    django.setup()
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="what", required=True)
    day = sub.add_parser("day")
    day.add_argument("--staff", type=int, default=25)
    day.add_argument("--clients", type=int, default=5000)
    day.add_argument("--appointments", type=int, default=1000)
    day.add_argument("--active", type=int, default=1000)
    day.add_argument("--forms", type=int, default=100, help="forms ready to be submitted")
    day.add_argument("--seed", type=int, default=16)
    reminders = sub.add_parser("reminders")
    reminders.add_argument("--start", type=float, required=True)
    reminders.add_argument("--until", type=float, required=True)
    reminders.add_argument("--count", type=int, required=True)
    reminders.add_argument("--seed", type=int, default=16)
    options = parser.parse_args()
    if options.what == "day":
        result = seed_day(
            staff=options.staff,
            clients=options.clients,
            appointments=options.appointments,
            active=options.active,
            forms=options.forms,
            seed=options.seed,
        )
    else:
        result = seed_reminders(
            start=options.start, until=options.until, count=options.count, seed=options.seed
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
