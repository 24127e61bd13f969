"""Templates managed in the app (ADR 0079): the pages for team leads and administrators, the
lint, drafts and published versions, the preview, and the shipped templates."""

from __future__ import annotations

import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.test import Client as WebClient
from django.urls import reverse
from django.utils import timezone, translation
from pypdf import PdfReader

from sprechstunde.accounts.factories import AdminFactory, TeamLeadFactory
from sprechstunde.agreements import selectors, services
from sprechstunde.agreements.choices import DecisionStatus
from sprechstunde.agreements.models import Decision, DecisionTemplate, PlanTemplate
from sprechstunde.agreements.rendering import decision_template_check, plan_template_lint
from sprechstunde.agreements.shipped_templates import (
    DECISION_TEMPLATES,
    LEGAL_REMEDY,
    PLAN_TEMPLATES,
    shipped_templates_ensure,
)
from sprechstunde.audit.models import AuditEntry
from sprechstunde.clients.tests.conftest import login
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _browser(user) -> WebClient:
    return login(WebClient(headers={"accept-language": "de"}), user)


def _decision_post(**overrides) -> dict[str, str]:
    data = {
        "title": "Bescheid über Fahrkosten",
        "body": "Wir erstatten {{ betrag }}.",
        "field_definitions": json.dumps([{"name": "betrag", "label": "Betrag", "type": "money"}]),
        "legal_remedy": LEGAL_REMEDY,
    }
    data.update(overrides)
    return data


@pytest.fixture
def shipped(db):
    shipped_templates_ensure()


# --- Access ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["team_lead", "admin_user"])
def test_team_leads_and_admins_open_every_template_page(request, role, shipped):
    browser = _browser(request.getfixturevalue(role))
    decision = DecisionTemplate.objects.get(key="ablehnung")
    plan = PlanTemplate.objects.get(key="kooperationsplan")

    page = browser.get(reverse("agreements:template_list"))
    assert page.status_code == 200
    html = page.content.decode()
    for data in DECISION_TEMPLATES + PLAN_TEMPLATES:
        assert data["title"] in html
    for kind, template in (("bescheid", decision), ("plan", plan)):
        for name in ("template_detail", "template_edit", "template_preview"):
            url = reverse(f"agreements:{name}", kwargs={"kind": kind, "pk": template.pk})
            assert browser.get(url).status_code == 200, url
        assert (
            browser.get(reverse("agreements:template_create", kwargs={"kind": kind})).status_code
            == 200
        )
        pdf = browser.get(
            reverse("agreements:template_preview_pdf", kwargs={"kind": kind, "pk": template.pk})
        )
        assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF")


@pytest.mark.parametrize("role", ["case_manager", "dpo"])
def test_case_managers_and_dpos_may_not_manage_templates(request, role, shipped):
    user = request.getfixturevalue(role)
    browser = _browser(user)
    template = DecisionTemplate.objects.get(key="ablehnung")
    kwargs = {"kind": "bescheid", "pk": template.pk}

    assert browser.get(reverse("agreements:template_list")).status_code == 403
    for name in ("template_detail", "template_edit", "template_preview", "template_preview_pdf"):
        assert browser.get(reverse(f"agreements:{name}", kwargs=kwargs)).status_code == 404
    assert (
        browser.post(
            reverse("agreements:template_edit", kwargs=kwargs), _decision_post()
        ).status_code
        == 404
    )
    assert browser.post(reverse("agreements:template_publish", kwargs=kwargs)).status_code == 404
    assert (
        browser.post(
            reverse("agreements:template_create", kwargs={"kind": "bescheid"}),
            {**_decision_post(), "key": "neu"},
        ).status_code
        == 404
    )
    assert DecisionTemplate.objects.filter(key="ablehnung").count() == 1
    assert not DecisionTemplate.objects.filter(key="neu").exists()
    assert AuditEntry.objects.filter(actor_id=user.pk, action="template.access_denied").exists()
    with pytest.raises(PermissionDeniedError):
        services.template_draft_save(
            actor=user, model=DecisionTemplate, key="ablehnung", values={"title": "X"}
        )


def test_a_client_gets_no_template_page(shipped, client_record):
    browser = WebClient()
    browser.force_login(client_record.user)
    template = DecisionTemplate.objects.get(key="ablehnung")
    url = reverse("agreements:template_edit", kwargs={"kind": "bescheid", "pk": template.pk})
    assert browser.get(url).status_code == 404


def test_anonymous_visitors_are_sent_to_the_login(db):
    response = WebClient().get(reverse("agreements:template_list"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_the_navigation_links_the_templates_for_team_leads_only(team_lead, case_manager):
    url = reverse("agreements:template_list")
    assert url in _browser(team_lead).get(reverse("reporting:figures")).content.decode()
    assert url not in _browser(case_manager).get(reverse("clients:list")).content.decode()


# --- The lint ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "remedy",
    ["", "Bei Fragen rufen Sie uns an.", "Sie können Widerspruch einlegen."],
)
def test_a_decision_template_without_a_legal_remedy_instruction_is_refused(db, remedy):
    template = DecisionTemplate(key="x", title="X", body="Text", fields=[], legal_remedy=remedy)
    with pytest.raises(ValidationError) as caught:
        decision_template_check(template)
    assert list(caught.value.message_dict) == ["legal_remedy"]


@pytest.mark.parametrize(
    ("field", "text", "message"),
    [
        ("closing", "Gegen diesen Plan kann Widerspruch erhoben werden.", "Rechtsbehelfsbelehrung"),
        ("closing", "Rechtsbehelfsbelehrung: …", "Rechtsbehelfsbelehrung"),
        ("closing", "Ort, Datum, Unterschrift", "signature line"),
        ("intro", "Bitte hier unterschreiben: ______________", "signature line"),
        ("intro", "Kunde ........................", "signature line"),
        ("support_suggestions", "Bei Pflichtverletzung folgt eine Minderung", "Rechtsfolgen"),
    ],
)
def test_a_plan_template_with_a_remedy_or_a_signature_line_is_refused(db, field, text, message):
    template = PlanTemplate(key="k", title="Plan", **{field: text})
    with pytest.raises(ValidationError) as caught:
        plan_template_lint(template)
    assert list(caught.value.message_dict) == [field]
    assert message in " ".join(caught.value.message_dict[field])


def test_the_lint_message_shows_at_the_field_and_nothing_is_lost(team_lead, shipped):
    browser = login(WebClient(headers={"accept-language": "en"}), team_lead)
    plan = PlanTemplate.objects.get(key="kooperationsplan")
    url = reverse("agreements:template_edit", kwargs={"kind": "plan", "pk": plan.pk})
    data = {
        "title": "Geänderter Titel",
        "intro": "Neue Einleitung, die bleiben soll.",
        "support_suggestions": "Beratung",
        "closing": "Datum, Unterschrift: __________",
    }

    response = browser.post(url, data)

    assert response.status_code == 400
    html = response.content.decode()
    closing_block = html.split('for="id_closing"', 1)[1].split('class="field"', 1)[0]
    assert "signature line" in closing_block
    assert "Neue Einleitung, die bleiben soll." in html and "Geänderter Titel" in html
    assert PlanTemplate.objects.filter(key="kooperationsplan").count() == 1

    remedy_less = _decision_post(legal_remedy="Fragen? Rufen Sie an.")
    decision = DecisionTemplate.objects.get(key="ablehnung")
    response = browser.post(
        reverse("agreements:template_edit", kwargs={"kind": "bescheid", "pk": decision.pk}),
        remedy_less,
    )
    assert response.status_code == 400
    html = response.content.decode()
    remedy_block = html.split('for="id_legal_remedy"', 1)[1].split('class="field"', 1)[0]
    assert "Rechtsbehelfsbelehrung" in remedy_block
    assert "Wir erstatten {{ betrag }}." in html
    assert DecisionTemplate.objects.filter(key="ablehnung").count() == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"field_definitions": "[{not json"}, "field_definitions"),
        ({"field_definitions": json.dumps([{"name": "B-", "type": "text"}])}, "field_definitions"),
        ({"body": "Hallo {{ unbekannt }}"}, "body"),
        ({"title": ""}, "title"),
    ],
)
def test_bad_input_is_refused_at_its_field_and_changes_nothing(team_lead, shipped, data, field):
    browser = _browser(team_lead)
    template = DecisionTemplate.objects.get(key="ablehnung")
    before = AuditEntry.objects.count()

    response = browser.post(
        reverse("agreements:template_edit", kwargs={"kind": "bescheid", "pk": template.pk}),
        _decision_post(**data),
    )

    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert DecisionTemplate.objects.filter(key="ablehnung").count() == 1
    assert AuditEntry.objects.count() == before


def test_a_new_template_needs_an_unused_key(team_lead, shipped):
    browser = _browser(team_lead)
    url = reverse("agreements:template_create", kwargs={"kind": "bescheid"})

    taken = browser.post(url, {**_decision_post(), "key": "ablehnung"})
    assert taken.status_code == 400 and taken.context["key_form"].errors["key"]
    bad = browser.post(url, {**_decision_post(), "key": "nicht gültig"})
    assert bad.status_code == 400 and bad.context["key_form"].errors["key"]

    created = browser.post(url, {**_decision_post(), "key": "fahrkosten-kurs"})
    template = DecisionTemplate.objects.get(key="fahrkosten-kurs")
    assert created.status_code == 302
    assert template.version == 1 and not template.is_published and template.created_by == team_lead
    assert template not in selectors.decision_templates_offered()


# --- Drafts, publishing and versions ------------------------------------------------------------


def test_an_edit_is_a_draft_until_published_and_issued_decisions_keep_their_version(
    team_lead, case_manager, client_record, shipped, django_capture_on_commit_callbacks
):
    v1 = DecisionTemplate.objects.get(key="ablehnung")
    values = {
        "antragsdatum": "2026-11-02",
        "gegenstand": "Übernahme der Kosten für einen Führerschein",
        "gruende": "Ein Führerschein ist für die angestrebte Stelle nicht nötig.",
        "rechtsgrundlage": "§ 16 Absatz 1 SGB II",
    }
    decision = services.decision_create(
        actor=case_manager, client=client_record, template=v1, values=values
    )
    with django_capture_on_commit_callbacks(execute=False):
        services.decision_issue(actor=case_manager, decision=decision)

    browser = _browser(team_lead)
    edit = reverse("agreements:template_edit", kwargs={"kind": "bescheid", "pk": v1.pk})
    changed = {
        "title": v1.title,
        "body": v1.body + "\n\nNeuer Absatz in Version zwei.",
        "field_definitions": json.dumps(v1.fields),
        "legal_remedy": v1.legal_remedy,
    }
    assert browser.post(edit, changed).status_code == 302
    # Saving again writes the same draft, not a third version.
    assert browser.post(edit, changed).status_code == 302
    v2 = DecisionTemplate.objects.get(key="ablehnung", version=2)
    assert DecisionTemplate.objects.filter(key="ablehnung").count() == 2
    assert not v2.is_published
    # Until published, staff are offered version 1.
    assert v1 in selectors.decision_templates_offered()
    with translation.override("en"), pytest.raises(ApplicationError, match="cannot be used"):
        services.decision_create(
            actor=case_manager, client=client_record, template=v2, values=values
        )

    publish = reverse("agreements:template_publish", kwargs={"kind": "bescheid", "pk": v2.pk})
    assert browser.post(publish).status_code == 302
    v2.refresh_from_db()
    assert v2.is_published and v2.published_by == team_lead
    offered = selectors.decision_templates_offered()
    assert v2 in offered and v1 not in offered
    assert AuditEntry.objects.filter(
        action="decision_template.publish", target_id=str(v2.pk)
    ).exists()
    assert AuditEntry.objects.filter(action="decision_template.draft_save").count() == 2

    # The decision issued on version 1 keeps version 1, its text and its PDF.
    decision.refresh_from_db()
    assert decision.template_id == v1.pk
    v1.refresh_from_db()
    assert "Neuer Absatz" not in v1.body
    assert "Neuer Absatz" not in _text(bytes(decision.unsealed_pdf))
    page = _browser(case_manager).get(reverse("agreements:decision", kwargs={"pk": decision.pk}))
    assert "Neuer Absatz" not in page.content.decode()
    # A new decision is made from version 2.
    second = services.decision_create(
        actor=case_manager, client=client_record, template=v2, values=values
    )
    assert "Neuer Absatz in Version zwei" in str(
        services.decisions.document_context(second, issued_at=None)["body_html"]
    )
    # Publishing twice, or an older version, is refused with a message.
    again = browser.post(publish, follow=True)
    assert "bereits veröffentlicht" in again.content.decode()


def test_a_plan_made_from_version_one_keeps_it(team_lead, case_manager, client_record, shipped):
    v1 = PlanTemplate.objects.get(key="kooperationsplan")
    plan = services.plan_create(actor=case_manager, client=client_record, template=v1)
    draft = services.template_draft_save(
        actor=team_lead,
        model=PlanTemplate,
        key="kooperationsplan",
        values={"title": v1.title, "intro": "Neu", "support_suggestions": "", "closing": ""},
    )
    services.template_publish(actor=team_lead, template=draft)
    plan.refresh_from_db()
    assert plan.template_id == v1.pk and plan.template.intro == v1.intro
    assert (
        draft in selectors.plan_templates_offered() and v1 not in selectors.plan_templates_offered()
    )


def test_a_draft_with_errors_cannot_be_published(admin_user, shipped):
    v1 = DecisionTemplate.objects.get(key="ablehnung")
    broken = DecisionTemplate.objects.create(
        key="ablehnung", version=2, title="X", body="{{ nix }}", fields=[], legal_remedy=""
    )
    with translation.override("en"), pytest.raises(ApplicationError, match="has errors"):
        services.template_publish(actor=admin_user, template=broken)
    with translation.override("en"), pytest.raises(ApplicationError, match="published already"):
        services.template_publish(actor=admin_user, template=v1)
    assert v1 in selectors.decision_templates_offered()


# --- Preview -----------------------------------------------------------------------------------


def test_the_preview_fills_every_typed_field_with_sample_data(team_lead, shipped, settings):
    settings.JOBCENTER_NAME = "Jobcenter Musterstadt"
    settings.JOBCENTER_ADDRESS = "Amtsweg 1\n12345 Musterstadt"
    settings.JOBCENTER_OBJECTION_ADDRESS = ""  # then the remedy names the Jobcenter's address
    template = DecisionTemplate.objects.get(key="fahrkosten-termin")
    browser = _browser(team_lead)
    kwargs = {"kind": "bescheid", "pk": template.pk}

    html = browser.get(reverse("agreements:template_preview", kwargs=kwargs)).content.decode()
    assert "123,45 €" in html and "öffentliche Verkehrsmittel" in html
    assert "{{" not in html
    assert "Jobcenter Musterstadt, Amtsweg 1, 12345 Musterstadt" in html

    text = _text(browser.get(reverse("agreements:template_preview_pdf", kwargs=kwargs)).content)
    assert "Erika Mustermann" in text and "123,45" in text
    assert "Amtsweg 1" in text and "Widerspruch" in text
    assert not Decision.objects.exists()
    assert AuditEntry.objects.filter(action="decision_template.preview").count() == 2


# --- The shipped templates --------------------------------------------------------------------


def test_the_shipped_templates_load_once_and_pass_their_checks(db):
    assert shipped_templates_ensure() == len(DECISION_TEMPLATES) + len(PLAN_TEMPLATES)
    assert shipped_templates_ensure() == 0
    assert len(DECISION_TEMPLATES) >= 5 and len(PLAN_TEMPLATES) >= 2
    assert len(selectors.decision_templates_offered()) == len(DECISION_TEMPLATES)
    assert len(selectors.plan_templates_offered()) == len(PLAN_TEMPLATES)
    for template in DecisionTemplate.objects.all():
        assert template.fields, template.key
        assert "{{ objection_address }}" in template.legal_remedy


SAMPLE_VALUES = {
    "bewerbungskosten": {
        "antragsdatum": "2026-11-02",
        "anzahl_bewerbungen": "12",
        "betrag": "60,00",
        "begruendung": "Zwölf schriftliche Bewerbungen als Lagerist sind belegt.",
    },
    "fahrkosten-termin": {
        "antragsdatum": "2026-11-20",
        "termin_datum": "2026-11-18",
        "termin_anlass": "Beratungsgespräch",
        "verkehrsmittel": "öffentliche Verkehrsmittel",
        "betrag": "7,40",
    },
    "ortsabwesenheit": {
        "antragsdatum": "2026-11-01",
        "abwesend_von": "2026-12-21",
        "abwesend_bis": "2027-01-03",
        "entscheidung": "nicht zugestimmt",
        "begruendung": "In dieser Zeit beginnt die vereinbarte Maßnahme.",
    },
    "mitwirkung": {
        "anlass": "Ihren Weiterbewilligungsantrag vom 01.11.2026",
        "fehlende_unterlagen": "Kontoauszüge der letzten drei Monate\nMietbescheinigung",
        "frist": "2026-12-28",
    },
    "ablehnung": {
        "antragsdatum": "2026-11-02",
        "gegenstand": "Übernahme der Kosten für einen Führerschein",
        "gruende": "Der Führerschein ist für die angestrebte Arbeit nicht erforderlich.",
        "rechtsgrundlage": "§ 16 Absatz 1 SGB II in Verbindung mit § 44 SGB III",
    },
}


# What each decision must say with the values above, as typed and as formatted.
EXPECTED = {
    "bewerbungskosten": "12 Bewerbungen in Höhe von insgesamt 60,00 €",
    "fahrkosten-termin": "am 18.11.2026 (Beratungsgespräch) in Höhe von 7,40 €",
    "ortsabwesenheit": (
        "bis zum 03.01.2027 außerhalb des zeit- und ortsnahen Bereichs aufzuhalten, "
        "wird nicht zugestimmt"
    ),
    "mitwirkung": "Mietbescheinigung Bitte reichen Sie diese Unterlagen bis zum 28.12.2026 ein",
    "ablehnung": "Übernahme der Kosten für einen Führerschein lehnen wir ab",
}


@pytest.mark.parametrize("key", [data["key"] for data in DECISION_TEMPLATES])
def test_each_shipped_decision_template_renders_and_issues_a_decision(
    key, case_manager, client_record, shipped, settings, django_capture_on_commit_callbacks
):
    settings.JOBCENTER_ADDRESS = "Amtsweg 1\n12345 Musterstadt"
    (template,) = [t for t in selectors.decision_templates_offered() if t.key == key]
    values = SAMPLE_VALUES[key]
    decision = services.decision_create(
        actor=case_manager, client=client_record, template=template, values=values
    )
    with django_capture_on_commit_callbacks(execute=False):
        services.decision_issue(actor=case_manager, decision=decision)
    decision.refresh_from_db()

    assert decision.status == DecisionStatus.WAITING_FOR_SEAL
    text = " ".join(_text(bytes(decision.unsealed_pdf)).split())
    assert template.title.split(" (")[0] in text
    assert EXPECTED[key] in text
    assert "Widerspruch" in text and "Amtsweg 1" in text
    assert "{{" not in text


def test_shipped_plan_templates_pass_the_lint_and_start_a_plan(
    case_manager, client_record, shipped
):
    for template in selectors.plan_templates_offered():
        plan_template_lint(template)
        plan = services.plan_create(actor=case_manager, client=client_record, template=template)
        assert plan.support


def test_a_published_version_is_never_changed_by_a_save(team_lead, shipped):
    v1 = DecisionTemplate.objects.get(key="mitwirkung")
    body = v1.body
    services.template_draft_save(
        actor=team_lead,
        model=DecisionTemplate,
        key="mitwirkung",
        values={"title": "Neu", "body": "Neu", "fields": [], "legal_remedy": LEGAL_REMEDY},
    )
    v1.refresh_from_db()
    assert v1.body == body and v1.title != "Neu"
    assert v1.published_at is not None and v1.published_at <= timezone.now()


def test_other_roles_cannot_create_through_the_service(db):
    for user in (AdminFactory(), TeamLeadFactory()):
        services.template_create(
            actor=user,
            model=PlanTemplate,
            key=f"plan-{user.pk}",
            values={"title": "Plan", "intro": "", "support_suggestions": "", "closing": ""},
        )
    assert PlanTemplate.objects.count() == 2


def test_the_load_command_adds_only_missing_keys(db):
    from io import StringIO

    from django.core.management import call_command

    DecisionTemplate.objects.create(
        key="ablehnung",
        version=1,
        title="Eigene Ablehnung",
        body="Text",
        fields=[],
        legal_remedy=LEGAL_REMEDY,
        published_at=timezone.now(),
    )
    out = StringIO()
    call_command("agreements_templates_load", stdout=out)

    total = len(DECISION_TEMPLATES) + len(PLAN_TEMPLATES)
    assert f"templates created: {total - 1}" in out.getvalue()
    assert DecisionTemplate.objects.get(key="ablehnung").title == "Eigene Ablehnung"
    call_command("agreements_templates_load", stdout=out)
    assert "templates created: 0" in out.getvalue()


def test_a_save_in_the_django_admin_is_a_draft_too(admin_client_logged_in, shipped):
    v1 = PlanTemplate.objects.get(key="kooperationsplan")
    url = reverse("admin:agreements_plantemplate_change", args=[v1.pk])
    data = {
        "key": v1.key,
        "title": "Plan 2",
        "intro": "Neu",
        "support_suggestions": "",
        "closing": "",
    }
    assert admin_client_logged_in.post(url, {**data, "is_active": "on"}).status_code == 302

    v2 = PlanTemplate.objects.get(key="kooperationsplan", version=2)
    assert not v2.is_published
    assert v1 in selectors.plan_templates_offered()
