"""The place to lodge an objection appears once on a decision: in the template's legal remedy
text when it has the `{{ objection_address }}` placeholder, else as a line of its own."""

from __future__ import annotations

import pytest

from sprechstunde.agreements import shipped_templates
from sprechstunde.agreements.factories import DecisionTemplateFactory
from sprechstunde.agreements.services.decisions import document_context

pytestmark = pytest.mark.django_db

ADDRESS = "Jobcenter Musterstadt, Widerspruchsstelle\nHauptstraße 1\n12345 Musterstadt"


def _context(template, settings, case_manager):
    settings.JOBCENTER_OBJECTION_ADDRESS = ADDRESS

    class Decision:  # the attributes document_context reads, and nothing else
        pass

    from sprechstunde.agreements.factories import portal_client

    decision = Decision()
    decision.template = template
    decision.values = {}
    decision.channel = ""
    decision.reference = "BG-1"
    decision.issued_by = decision.created_by = None
    decision.client = portal_client(
        case_manager=case_manager, email="einmal@example.org", delivery=False
    )
    return document_context(decision, issued_at=None)


def test_a_template_naming_the_address_gets_no_second_line(settings, case_manager):
    template = DecisionTemplateFactory(legal_remedy=shipped_templates.LEGAL_REMEDY, fields=[])
    context = _context(template, settings, case_manager)
    assert "Widerspruchsstelle" in context["remedy_html"]
    assert context["objection_address"] == ""


def test_a_template_without_the_placeholder_gets_the_line(settings, case_manager):
    template = DecisionTemplateFactory(
        legal_remedy="Widerspruch ist innerhalb eines Monats nach Bekanntgabe zulässig.", fields=[]
    )
    context = _context(template, settings, case_manager)
    assert "Widerspruchsstelle" not in context["remedy_html"]
    assert context["objection_address"] == ADDRESS
