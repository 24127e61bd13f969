"""Cooperation plans: drafting, the six-month review rule, issuing frozen versions as PDF/A
without a signature step, comments by the client, reminders, the template lint."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client as WebClient
from django.urls import reverse
from django.utils import timezone

from sprechstunde.agreements import services
from sprechstunde.agreements.choices import PlanStatus
from sprechstunde.agreements.factories import PlanTemplateFactory
from sprechstunde.agreements.models import PlanReviewReminder, PlanTemplate, PlanVersion
from sprechstunde.agreements.rendering import legal_consequences_terms_in, plan_template_lint
from sprechstunde.appointments.choices import AppointmentStatus
from sprechstunde.appointments.tests.conftest import slot_start
from sprechstunde.audit.models import AppendOnlyError, AuditEntry
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError

STEPS = [{"what": "Drei Bewerbungen im Monat schreiben", "who": "Kim Kunde", "by": ""}]


def pdfa_part(pdf: bytes) -> str:
    import io
    import re

    from pypdf import PdfReader

    xmp = PdfReader(io.BytesIO(pdf)).trailer["/Root"]["/Metadata"].get_object().get_data()
    match = re.search(rb"pdfaid:part[^0-9]{1,3}(\d)", xmp)
    return match.group(1).decode() if match else ""


def drafted(case_manager, client, template, review_on):
    plan = services.plan_create(actor=case_manager, client=client, template=template)
    return services.plan_update(
        actor=case_manager,
        plan=plan,
        goals=["Arbeit als Lagerist finden"],
        steps=STEPS,
        support=["Übernahme von Bewerbungskosten"],
        review_on=review_on,
    )


@pytest.mark.parametrize(
    "text",
    [
        "Rechtsfolgenbelehrung: Bei Verstoß ...",
        "Es droht eine Leistungsminderung um 10 %.",
        "Verstöße führen zu einer Minderung des Bürgergeldes.",
        "Sanktionen sind möglich.",
    ],
)
def test_template_lint_refuses_legal_consequences_wording(db, text):
    template = PlanTemplate(key="k", title="Plan", intro="Willkommen", closing=text)
    with pytest.raises(ValidationError) as caught:
        plan_template_lint(template)
    assert "closing" in caught.value.message_dict
    assert "Rechtsfolgenbelehrung" in caught.value.message_dict["closing"][0]


def test_template_lint_accepts_the_starter_template(plan_template):
    plan_template_lint(plan_template)
    assert legal_consequences_terms_in("Wir unterstützen Sie bei Bewerbungen.") == []


def test_admin_save_shows_the_lint_error_and_stores_nothing(admin_client_logged_in):
    response = admin_client_logged_in.post(
        reverse("admin:agreements_plantemplate_add"),
        {
            "key": "neu",
            "title": "Plan",
            "intro": "Bei Pflichtverletzungen folgt eine Leistungsminderung.",
            "support_suggestions": "",
            "closing": "",
            "is_active": "on",
        },
    )
    assert response.status_code == 200
    assert "Rechtsfolgenbelehrung" in response.content.decode()
    assert not PlanTemplate.objects.filter(key="neu").exists()


def test_admin_edit_saves_a_new_version(admin_client_logged_in, plan_template):
    url = reverse("admin:agreements_plantemplate_change", args=[plan_template.pk])
    response = admin_client_logged_in.post(
        url,
        {
            "key": plan_template.key,
            "title": "Plan 2",
            "intro": "Neu",
            "support_suggestions": "",
            "closing": "",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    versions = list(
        PlanTemplate.objects.filter(key=plan_template.key).values_list("version", "title")
    )
    assert sorted(versions) == [(1, plan_template.title), (2, "Plan 2")]


def test_issue_freezes_a_version_as_pdfa_and_schedules_the_review(
    case_manager, client_record, plan_template, review_on, django_capture_on_commit_callbacks
):
    plan = drafted(case_manager, client_record, plan_template, review_on)
    with django_capture_on_commit_callbacks(execute=True):
        version = services.plan_issue(actor=case_manager, plan=plan)

    plan.refresh_from_db()
    assert (plan.status, plan.current_version, version.number) == (PlanStatus.ISSUED, 1, 1)
    assert version.content["goals"] == ["Arbeit als Lagerist finden"]
    pdf = bytes(version.pdf)
    assert pdf.startswith(b"%PDF")
    assert pdfa_part(pdf) == "2"  # PDF/A-2 identification in the XMP metadata
    assert b"/Sig" not in pdf  # no signature step for a Kooperationsplan
    reminder = PlanReviewReminder.objects.get(version=version)
    assert reminder.due_on == review_on - datetime.timedelta(days=14)
    # The client gets a notice without content.
    assert len(mail.outbox) == 1
    assert "Kunde" not in mail.outbox[0].body and "Lagerist" not in mail.outbox[0].body
    # An issued version is never changed.
    with pytest.raises(AppendOnlyError):
        version.save()

    services.plan_update(
        actor=case_manager,
        plan=plan,
        goals=["Anderes Ziel"],
        steps=STEPS,
        support=[],
        review_on=review_on,
    )
    second = services.plan_issue(actor=case_manager, plan=plan)
    assert second.number == 2
    assert PlanVersion.objects.get(plan=plan, number=1).content["goals"] == [
        "Arbeit als Lagerist finden"
    ]


@pytest.mark.parametrize("days", [0, -1, 200])
def test_review_date_must_lie_within_six_months(case_manager, client_record, plan_template, days):
    plan = services.plan_create(actor=case_manager, client=client_record, template=plan_template)
    with pytest.raises(ApplicationError) as caught:
        services.plan_update(
            actor=case_manager,
            plan=plan,
            goals=["Ziel"],
            steps=STEPS,
            support=[],
            review_on=timezone.localdate() + datetime.timedelta(days=days),
        )
    assert caught.value.field == "review_on"


def test_issue_refuses_a_plan_without_goals_or_with_sanction_wording(
    case_manager, client_record, plan_template, review_on
):
    plan = services.plan_create(actor=case_manager, client=client_record, template=plan_template)
    with pytest.raises(ApplicationError):
        services.plan_issue(actor=case_manager, plan=plan)
    services.plan_update(
        actor=case_manager,
        plan=plan,
        goals=["Sonst droht eine Sanktion"],
        steps=STEPS,
        support=[],
        review_on=review_on,
    )
    with pytest.raises(ApplicationError):
        services.plan_issue(actor=case_manager, plan=plan)
    assert not PlanVersion.objects.exists()


def test_other_case_manager_cannot_draft_and_gets_404(
    other_case_manager, client_record, plan_template
):
    with pytest.raises(PermissionDeniedError):
        services.plan_create(actor=other_case_manager, client=client_record, template=plan_template)


def test_client_reads_shared_draft_comments_and_others_get_404(
    case_manager, client_record, plan_template, review_on
):
    plan = drafted(case_manager, client_record, plan_template, review_on)
    browser = WebClient(headers={"accept-language": "en"})
    browser.force_login(client_record.user)
    url = reverse("agreements:portal_plan", kwargs={"pk": plan.pk})
    assert browser.get(url).status_code == 404  # a draft not yet shown to the client

    services.plan_share(actor=case_manager, plan=plan)
    page = browser.get(url)
    assert page.status_code == 200
    assert "Arbeit als Lagerist finden" in page.content.decode()

    bad = browser.post(url, {"body": "   "})
    assert bad.status_code == 400
    response = browser.post(url, {"body": "Bitte Schritt 1 auf zwei Bewerbungen ändern."})
    assert response.status_code == 302
    assert plan.comments.get().side == "client"
    assert AuditEntry.objects.filter(action="plan.comment").exists()

    stranger = WebClient(headers={"accept-language": "en"})
    other = services_portal_client(case_manager)
    stranger.force_login(other.user)
    assert stranger.get(url).status_code == 404
    assert AuditEntry.objects.filter(action="plan.access_denied").exists()


def services_portal_client(case_manager):
    from sprechstunde.agreements.factories import portal_client

    return portal_client(case_manager=case_manager, email="other@example.org")


def test_staff_views_edit_and_issue_and_foreign_staff_get_404(
    case_manager, other_case_manager, client_record, plan_template, review_on
):
    plan = services.plan_create(actor=case_manager, client=client_record, template=plan_template)
    browser = WebClient(headers={"accept-language": "en"})
    browser.force_login(case_manager)
    url = reverse("agreements:plan", kwargs={"pk": plan.pk})
    data = {
        "step_rows": "2",
        "goals": "Ziel eins\nZiel zwei",
        "step_0_what": "Bewerben",
        "step_0_who": "Kim Kunde",
        "step_0_by": "",
        "step_1_what": "",
        "step_1_who": "",
        "step_1_by": "",
        "support": "Beratung",
        "review_on": (timezone.localdate() + datetime.timedelta(days=400)).isoformat(),
        "action": "issue",
    }
    refused = browser.post(url, data)
    assert refused.status_code == 400
    assert "six months" in refused.content.decode()
    data["review_on"] = review_on.isoformat()
    assert browser.post(url, data).status_code == 302
    plan.refresh_from_db()
    assert plan.current_version == 1 and plan.goals == ["Ziel eins", "Ziel zwei"]
    pdf = browser.get(reverse("agreements:plan_pdf", kwargs={"pk": plan.pk, "number": 1}))
    assert pdf["Content-Type"] == "application/pdf"

    foreign = WebClient(headers={"accept-language": "en"})
    foreign.force_login(other_case_manager)
    assert foreign.get(url).status_code == 404
    assert foreign.post(url, data).status_code == 404


def test_offer_a_talk_creates_an_appointment_proposal(case_manager, client_record, plan_template):
    plan = services.plan_create(actor=case_manager, client=client_record, template=plan_template)
    start = slot_start(datetime.timedelta(days=3))
    appointment = services.plan_offer_talk(
        actor=case_manager,
        plan=plan,
        slots=[(start, start + datetime.timedelta(minutes=30))],
        channel="phone",
    )
    assert appointment.status == AppointmentStatus.PROPOSED
    assert appointment.client == client_record
    assert appointment.proposed_slots.count() == 1


def test_review_reminder_is_sent_once_and_without_content(
    case_manager, client_record, plan_template, review_on
):
    plan = drafted(case_manager, client_record, plan_template, review_on)
    services.plan_issue(actor=case_manager, plan=plan)
    mail.outbox.clear()
    assert (
        services.plan_review_reminders_send_due(today=review_on - datetime.timedelta(days=20)) == 0
    )
    assert services.plan_review_reminders_send_due(today=review_on) == 1
    assert services.plan_review_reminders_send_due(today=review_on) == 0
    assert sorted(m.to[0] for m in mail.outbox) == ["fm@jobcenter.example", "kim@example.org"]
    for message in mail.outbox:
        assert "Kunde" not in message.body and "Lagerist" not in message.body


def test_a_new_template_version_leaves_existing_plans_on_theirs(case_manager, client_record):
    first = PlanTemplateFactory(key="kp", version=1, intro="Alt")
    plan = services.plan_create(actor=case_manager, client=client_record, template=first)
    PlanTemplateFactory(key="kp", version=2, intro="Neu")
    plan.refresh_from_db()
    assert plan.template.intro == "Alt"
