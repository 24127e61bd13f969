"""The templates Sprechstunde ships: five decision templates and three plan templates, in
German as the office uses them (ADR 0079). `shipped_templates_ensure` loads each key that
does not exist yet as a published version 1; it runs from `manage.py load_demo_data` and
`manage.py agreements_templates_load` and never touches a key the office already has.

The decisions name no salutation of their own: the document layout opens with the client's
name, so each text goes on in lower case after it (as German letters do after the comma).
The Rechtsbehelfsbelehrung follows § 36 SGB X and § 84 SGG (objection within one month,
in writing, electronically or on record) and names the place to lodge it through the
`{{ objection_address }}` placeholder, filled from the settings (rendering.office_values).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from .demo import PLAN_TEMPLATE
from .models import DecisionTemplate, PlanTemplate

LEGAL_REMEDY = (
    "Gegen diesen Bescheid kann innerhalb eines Monats nach seiner Bekanntgabe Widerspruch "
    "erhoben werden. Der Widerspruch ist schriftlich, in elektronischer Form nach § 36a "
    "Absatz 2 des Ersten Buches Sozialgesetzbuch (SGB I) oder zur Niederschrift bei der "
    "folgenden Stelle einzulegen:\n"
    "{{ objection_address }}"
)

DECISION_TEMPLATES: list[dict[str, Any]] = [
    {
        "key": "bewerbungskosten",
        "title": "Bescheid über die Übernahme von Bewerbungskosten",
        "body": (
            "auf Ihren Antrag vom {{ antragsdatum }} übernimmt das Jobcenter Ihre Kosten für "
            "{{ anzahl_bewerbungen }} Bewerbungen in Höhe von insgesamt {{ betrag }}.\n\n"
            "Der Betrag wird auf das Konto überwiesen, das Sie uns genannt haben.\n\n"
            "Begründung:\n"
            "Kosten für Bewerbungen können aus dem Vermittlungsbudget übernommen werden, "
            "soweit sie für die Aufnahme einer Beschäftigung notwendig sind (§ 16 Absatz 1 "
            "des Zweiten Buches Sozialgesetzbuch (SGB II) in Verbindung mit § 44 des Dritten "
            "Buches Sozialgesetzbuch (SGB III)).\n"
            "{{ begruendung }}"
        ),
        "fields": [
            {
                "name": "antragsdatum",
                "label": "Antrag vom",
                "type": "date",
                "required": True,
                "max": "today",
            },
            {
                "name": "anzahl_bewerbungen",
                "label": "Anzahl der Bewerbungen",
                "type": "number",
                "required": True,
            },
            {"name": "betrag", "label": "Betrag", "type": "money", "required": True},
            {
                "name": "begruendung",
                "label": "Begründung im Einzelfall",
                "type": "textarea",
                "required": True,
                "help": "Warum die Kosten notwendig sind, z. B. welche Stellen.",
            },
        ],
        "legal_remedy": LEGAL_REMEDY,
    },
    {
        "key": "fahrkosten-termin",
        "title": "Bescheid über die Übernahme von Fahrkosten zu einem Termin",
        "body": (
            "auf Ihren Antrag vom {{ antragsdatum }} übernimmt das Jobcenter Ihre notwendigen "
            "Fahrkosten zu dem Termin am {{ termin_datum }} ({{ termin_anlass }}) in Höhe "
            "von {{ betrag }}.\n\n"
            "Sie sind mit folgendem Verkehrsmittel angereist: {{ verkehrsmittel }}.\n\n"
            "Der Betrag wird auf das Konto überwiesen, das Sie uns genannt haben.\n\n"
            "Begründung:\n"
            "Wer vom Jobcenter zu einem Termin eingeladen wird, kann auf Antrag die "
            "notwendigen Reisekosten erstattet bekommen, die ihm aus Anlass des Termins "
            "entstehen (§ 59 SGB II in Verbindung mit § 309 Absatz 4 SGB III). Erstattet "
            "werden die Kosten des günstigsten zumutbaren Verkehrsmittels."
        ),
        "fields": [
            {
                "name": "antragsdatum",
                "label": "Antrag vom",
                "type": "date",
                "required": True,
                "max": "today",
            },
            {"name": "termin_datum", "label": "Termin am", "type": "date", "required": True},
            {
                "name": "termin_anlass",
                "label": "Anlass des Termins",
                "type": "text",
                "required": True,
                "help": "z. B. Beratungsgespräch bei Ihrer Fallmanagerin",
            },
            {
                "name": "verkehrsmittel",
                "label": "Verkehrsmittel",
                "type": "choice",
                "choices": [
                    "öffentliche Verkehrsmittel",
                    "eigenes Kraftfahrzeug",
                    "Fahrrad",
                ],
                "required": True,
            },
            {"name": "betrag", "label": "Betrag", "type": "money", "required": True},
        ],
        "legal_remedy": LEGAL_REMEDY,
    },
    {
        "key": "ortsabwesenheit",
        "title": "Bescheid über Ihren Antrag auf Ortsabwesenheit",
        "body": (
            "Ihrem Antrag vom {{ antragsdatum }}, sich vom {{ abwesend_von }} bis zum "
            "{{ abwesend_bis }} außerhalb des zeit- und ortsnahen Bereichs aufzuhalten, "
            "wird {{ entscheidung }}.\n\n"
            "Begründung:\n"
            "{{ begruendung }}\n\n"
            "Wer Bürgergeld erhält, muss für das Jobcenter erreichbar sein. Eine Abwesenheit "
            "braucht die vorherige Zustimmung des Jobcenters; sie wird erteilt, wenn die "
            "Eingliederung in Arbeit dadurch nicht beeinträchtigt wird (§ 7b SGB II in "
            "Verbindung mit der Erreichbarkeits-Verordnung).\n\n"
            "Wenn der Abwesenheit zugestimmt wurde: Bitte melden Sie sich am ersten Werktag "
            "nach Ihrer Rückkehr bei uns. Wenn ihr nicht zugestimmt wurde und Sie sich "
            "trotzdem ohne wichtigen Grund außerhalb des zeit- und ortsnahen Bereichs "
            "aufhalten, erhalten Sie für diese Zeit kein Bürgergeld (§ 7b Absatz 1 SGB II)."
        ),
        "fields": [
            {
                "name": "antragsdatum",
                "label": "Antrag vom",
                "type": "date",
                "required": True,
                "max": "today",
            },
            {"name": "abwesend_von", "label": "Abwesend vom", "type": "date", "required": True},
            {"name": "abwesend_bis", "label": "Abwesend bis", "type": "date", "required": True},
            {
                "name": "entscheidung",
                "label": "Entscheidung",
                "type": "choice",
                "choices": ["zugestimmt", "nicht zugestimmt"],
                "required": True,
            },
            {
                "name": "begruendung",
                "label": "Begründung",
                "type": "textarea",
                "required": True,
            },
        ],
        "legal_remedy": LEGAL_REMEDY,
    },
    {
        "key": "mitwirkung",
        "title": "Aufforderung zur Mitwirkung (§§ 60, 66 SGB I)",
        "body": (
            "für die Bearbeitung von {{ anlass }} benötigen wir von Ihnen noch folgende "
            "Unterlagen:\n"
            "{{ fehlende_unterlagen }}\n\n"
            "Bitte reichen Sie diese Unterlagen bis zum {{ frist }} ein. Sie können sie im "
            "Portal hochladen, mit der Post schicken oder bei uns abgeben.\n\n"
            "Wer Sozialleistungen beantragt oder erhält, muss alle Tatsachen angeben, die für "
            "die Leistung erheblich sind, und auf Verlangen Beweisurkunden vorlegen oder ihrer "
            "Vorlage zustimmen (§ 60 Absatz 1 des Ersten Buches Sozialgesetzbuch, SGB I).\n\n"
            "Hinweis auf die Folgen fehlender Mitwirkung (§ 66 Absatz 3 SGB I): Wenn Sie die "
            "Unterlagen nicht bis zum {{ frist }} einreichen und dadurch die Aufklärung des "
            "Sachverhalts erheblich erschwert wird, kann das Jobcenter die Leistung ohne "
            "weitere Ermittlungen ganz oder teilweise versagen oder entziehen, bis Sie die "
            "Mitwirkung nachholen (§ 66 Absatz 1 SGB I). Holen Sie die Mitwirkung nach, "
            "kann die Leistung nachträglich ganz oder teilweise erbracht werden "
            "(§ 67 SGB I).\n\n"
            "Wenn Sie eine Unterlage nicht rechtzeitig beschaffen können, melden Sie sich "
            "bitte vor Ablauf der Frist bei uns. Dann finden wir gemeinsam eine Lösung."
        ),
        "fields": [
            {
                "name": "anlass",
                "label": "Wofür die Unterlagen gebraucht werden",
                "type": "text",
                "required": True,
                "help": "z. B. Ihren Weiterbewilligungsantrag vom 01.11.2026",
            },
            {
                "name": "fehlende_unterlagen",
                "label": "Fehlende Unterlagen",
                "type": "textarea",
                "required": True,
                "help": "Eine Unterlage je Zeile.",
            },
            {"name": "frist", "label": "Frist bis", "type": "date", "required": True},
        ],
        "legal_remedy": LEGAL_REMEDY,
    },
    {
        "key": "ablehnung",
        "title": "Bescheid über die Ablehnung eines Antrags",
        "body": (
            "Ihren Antrag vom {{ antragsdatum }} auf {{ gegenstand }} lehnen wir ab.\n\n"
            "Begründung:\n"
            "{{ gruende }}\n\n"
            "Rechtsgrundlage: {{ rechtsgrundlage }}"
        ),
        "fields": [
            {
                "name": "antragsdatum",
                "label": "Antrag vom",
                "type": "date",
                "required": True,
                "max": "today",
            },
            {
                "name": "gegenstand",
                "label": "Beantragt wurde",
                "type": "text",
                "required": True,
                "help": "z. B. Übernahme der Kosten für einen Führerschein",
            },
            {
                "name": "gruende",
                "label": "Gründe",
                "type": "textarea",
                "required": True,
                "help": "Die wesentlichen tatsächlichen und rechtlichen Gründe (§ 35 SGB X).",
            },
            {
                "name": "rechtsgrundlage",
                "label": "Rechtsgrundlage",
                "type": "text",
                "required": True,
                "help": "z. B. § 16 Absatz 1 SGB II in Verbindung mit § 44 SGB III",
            },
        ],
        "legal_remedy": LEGAL_REMEDY,
    },
]

PLAN_TEMPLATES: list[dict[str, Any]] = [
    # The general plan is the starter template the test factories build on.
    dict(PLAN_TEMPLATE),
    {
        "key": "kooperationsplan-u25",
        "title": "Kooperationsplan für junge Menschen (unter 25)",
        "intro": (
            "Sie stehen am Anfang Ihres Berufswegs. In diesem Plan halten wir fest, welche "
            "Ausbildung, Schule oder Arbeit Sie anstreben, was Sie dafür tun und wie wir Sie "
            "dabei begleiten."
        ),
        "support_suggestions": (
            "Gemeinsamer Termin bei der Berufsberatung der Agentur für Arbeit\n"
            "Vorschläge für Ausbildungsstellen und Praktika\n"
            "Unterstützung beim Schreiben von Bewerbungen\n"
            "Übernahme von Bewerbungs- und Fahrkosten nach Absprache\n"
            "Kontakt zu Angeboten der Jugendberufsagentur"
        ),
        "closing": (
            "Wir schauen uns den Plan regelmäßig gemeinsam an. Wenn sich Ihre Pläne ändern "
            "oder etwas nicht klappt, sagen Sie es uns: Dann passen wir ihn an."
        ),
    },
    {
        "key": "kooperationsplan-sprache",
        "title": "Kooperationsplan mit Sprachförderung",
        "intro": (
            "Gute Deutschkenntnisse öffnen viele Türen im Beruf. In diesem Plan halten wir "
            "fest, wie Sie Deutsch lernen, welche Arbeit Sie anstreben und wie das Jobcenter "
            "Sie unterstützt."
        ),
        "support_suggestions": (
            "Anmeldung zu einem Integrationskurs oder Berufssprachkurs\n"
            "Anerkennung Ihres ausländischen Berufsabschlusses klären\n"
            "Übernahme von Fahrkosten zum Kurs nach Absprache\n"
            "Vermittlungsvorschläge, die zu Ihren Kenntnissen passen"
        ),
        "closing": (
            "Wir besprechen den Plan regelmäßig, gern auch mit Dolmetscherin oder "
            "Dolmetscher. Sie können jederzeit Änderungen vorschlagen."
        ),
    },
]


def shipped_templates_ensure() -> int:
    """Load every shipped template whose key the office does not have yet, as published
    version 1. Returns how many versions were created (0 on a second run)."""
    created = 0
    now = timezone.now()
    with transaction.atomic():
        for data in DECISION_TEMPLATES:
            if not DecisionTemplate.objects.filter(key=data["key"]).exists():
                template = DecisionTemplate(**data, version=1, published_at=now)
                template.full_clean()
                template.save()
                created += 1
        for data in PLAN_TEMPLATES:
            if not PlanTemplate.objects.filter(key=data["key"]).exists():
                plan = PlanTemplate(**data, version=1, published_at=now)
                plan.full_clean()
                plan.save()
                created += 1
    return created
