"""Starter templates: a plan template and a decision template (test factories build on
them). `manage.py load_demo_data` loads all shipped templates (shipped_templates.py)."""

from __future__ import annotations

from .models import DecisionTemplate, PlanTemplate

PLAN_TEMPLATE = {
    "key": "kooperationsplan",
    "title": "Kooperationsplan nach § 15 SGB II",
    "intro": (
        "In diesem Plan halten wir gemeinsam fest, welche Ziele Sie haben, welche Schritte "
        "Sie und wir gehen und wie das Jobcenter Sie unterstützt."
    ),
    "support_suggestions": (
        "Übernahme von Bewerbungskosten nach Absprache\n"
        "Vermittlungsvorschläge passend zu Ihren Zielen\n"
        "Beratung zu Weiterbildung und Förderung"
    ),
    "closing": (
        "Wir besprechen den Plan regelmäßig und passen ihn an, wenn sich etwas ändert. "
        "Sie können jederzeit Änderungen vorschlagen."
    ),
}

DECISION_TEMPLATE = {
    "key": "bewerbungskosten",
    "title": "Bescheid über die Übernahme von Bewerbungskosten",
    "body": (
        # The salutation with the client's name is part of the layout (pdf/decision.html).
        "auf Ihren Antrag vom {{ antragsdatum }} übernimmt das Jobcenter Ihre Kosten für "
        "Bewerbungen in Höhe von {{ betrag }} (§ 16 Abs. 1 SGB II in Verbindung mit "
        "§ 44 SGB III).\n\n"
        "Der Betrag wird auf Ihr bekanntes Konto überwiesen.\n\n"
        "Begründung: {{ begruendung }}"
    ),
    "fields": [
        {
            "name": "antragsdatum",
            "label": "Antrag vom",
            "type": "date",
            "required": True,
            "max": "today",
        },
        {"name": "betrag", "label": "Betrag", "type": "money", "required": True},
        {
            "name": "begruendung",
            "label": "Begründung",
            "type": "textarea",
            "required": True,
        },
    ],
    "legal_remedy": (
        "Gegen diesen Bescheid kann innerhalb eines Monats nach Bekanntgabe Widerspruch "
        "erhoben werden. Der Widerspruch ist schriftlich, in elektronischer Form (§ 36a "
        "Abs. 2 SGB I) oder zur Niederschrift bei dem oben genannten Jobcenter einzulegen."
    ),
}


def agreement_templates_ensure() -> tuple[PlanTemplate, DecisionTemplate]:
    """The shipped templates (shipped_templates.py), each key created once; returns the
    offered general plan template and the application costs decision template."""
    from .shipped_templates import shipped_templates_ensure

    shipped_templates_ensure()
    plan = PlanTemplate.objects.filter(key=PLAN_TEMPLATE["key"]).order_by("-version").first()
    decision = (
        DecisionTemplate.objects.filter(key=DECISION_TEMPLATE["key"]).order_by("-version").first()
    )
    assert plan is not None and decision is not None  # created above if missing
    return plan, decision
