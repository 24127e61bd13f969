"""The five forms shipped with Sprechstunde (issue 15, point 2): each file passes the
validator and loads, each text is in the seven client languages (and really translated),
and the conditions do what the forms promise: the Weiterbewilligungsantrag's "nothing has
changed" goes straight to the review, each kind of change of the Veränderungsmitteilung
shows its own section, and the engine's checks catch the typical mistakes at the field."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import translation

from sprechstunde.eforms.definitions import (
    DEFINITIONS_DIR,
    LANGUAGES,
    definition_file_read,
)
from sprechstunde.eforms.fields import (
    answers_prune,
    section_parse,
    section_problems,
    visible_sections,
)
from sprechstunde.eforms.models import FormDefinition

SHIPPED = {
    "veraenderungsmitteilung",
    "ortsabwesenheit",
    "arbeitsunfaehigkeit",
    "weiterbewilligungsantrag",
    "sonstiges_anliegen",
}
TODAY = datetime.date(2026, 12, 7)
ARABIC_SCRIPT = re.compile(r"[\u0600-\u06ff]")
CYRILLIC = re.compile(r"[\u0400-\u04ff]")
UKRAINIAN_ONLY = re.compile(r"[іїєґІЇЄҐ]")
RUSSIAN_ONLY = re.compile(r"[ыэъёЫЭЪЁ]")


def shipped(slug: str) -> dict[str, Any]:
    return definition_file_read(DEFINITIONS_DIR / f"{slug}.json")


def texts_of(node: Any, path: str = "$") -> Iterator[tuple[str, dict[str, str]]]:
    """Every translated text of a definition with its JSON path."""
    if isinstance(node, dict):
        if set(node) & set(LANGUAGES) and all(isinstance(v, str) for v in node.values()):
            yield path, node
            return
        for name, value in node.items():
            yield from texts_of(value, f"{path}.{name}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from texts_of(value, f"{path}[{index}]")


def section_keys(spec: dict[str, Any], answers: dict[str, Any]) -> list[str]:
    return [section["key"] for section in visible_sections(spec, answers)]


def test_exactly_the_five_forms_are_shipped():
    assert {path.stem for path in DEFINITIONS_DIR.glob("*.json")} == SHIPPED


@pytest.mark.parametrize("slug", sorted(SHIPPED))
def test_shipped_definition_passes_the_validator(slug):
    spec = shipped(slug)
    assert spec["slug"] == slug
    assert spec["format"] == 1


@pytest.mark.django_db
def test_eforms_load_stores_each_shipped_form_once():
    call_command("eforms_load", stdout=StringIO())
    current = FormDefinition.objects.filter(is_current=True)
    assert {definition.slug for definition in current} == SHIPPED
    assert all(definition.version == 1 for definition in current)
    for definition in current:
        assert definition.spec == shipped(definition.slug)
    # Loading the same files again makes no new version.
    call_command("eforms_load", stdout=StringIO())
    assert FormDefinition.objects.count() == len(SHIPPED)


@pytest.mark.parametrize("slug", sorted(SHIPPED))
def test_every_text_has_all_seven_languages(slug):
    spec = shipped(slug)
    texts = list(texts_of(spec))
    assert len(texts) > 5
    for path, text in texts:
        assert set(text) == set(LANGUAGES), path
        assert all(value.strip() for value in text.values()), path


@pytest.mark.parametrize("slug", sorted(SHIPPED))
def test_texts_are_translations_not_copies(slug):
    """Each language in its own script and words: Arabic and Persian in Arabic script,
    Ukrainian and Russian in Cyrillic (with letters only the one has), and English or
    Turkish at most rarely the same as German, nor Ukrainian as Russian (a word such as
    "Person" or "Тема" may be)."""
    texts = dict(texts_of(shipped(slug)))
    for path, text in texts.items():
        assert ARABIC_SCRIPT.search(text["ar"]), f"{path}.ar"
        assert ARABIC_SCRIPT.search(text["fa"]), f"{path}.fa"
        assert text["ar"] != text["fa"], path
        assert CYRILLIC.search(text["uk"]), f"{path}.uk"
        assert CYRILLIC.search(text["ru"]), f"{path}.ru"
        assert not RUSSIAN_ONLY.search(text["uk"]), f"{path}.uk looks Russian"
        assert not UKRAINIAN_ONLY.search(text["ru"]), f"{path}.ru looks Ukrainian"
    for language, other in (("en", "de"), ("tr", "de"), ("uk", "ru")):
        same = [path for path, text in texts.items() if text[language] == text[other]]
        assert len(same) <= max(1, len(texts) // 20), (language, other, same)


def test_only_the_ortsabwesenheit_is_decided_by_staff():
    decided = {slug for slug in SHIPPED if shipped(slug).get("decided_by_staff")}
    assert decided == {"ortsabwesenheit"}


def test_ortsabwesenheit_explains_the_approval_rule_of_7b():
    spec = shipped("ortsabwesenheit")
    intro = spec["sections"][0]["intro"]
    for language in LANGUAGES:
        assert "§ 7b SGB II" in intro[language], language
        assert "21" in intro[language] or "۲۱" in intro[language], language


def test_arbeitsunfaehigkeit_says_why_the_jobcenter_needs_the_paper_copy():
    spec = shipped("arbeitsunfaehigkeit")
    photo = next(section for section in spec["sections"] if section["key"] == "photo")
    for language in LANGUAGES:
        assert "eAU" in photo["intro"][language], language
    sick_note = next(item for item in photo["fields"] if item["key"] == "sick_note")
    assert sick_note["type"] == "attachment"
    assert sick_note["required"] is True


# --- Weiterbewilligungsantrag: the fast path ----------------------------------------------


def test_weiterbewilligung_nothing_changed_hides_every_other_section():
    spec = shipped("weiterbewilligungsantrag")
    first = spec["sections"][0]
    assert first["fields"][0]["key"] == "changed"
    assert first["fields"][0]["type"] == "yesno"
    others = [section["key"] for section in spec["sections"][1:]]
    assert others == ["household", "income", "housing", "assets", "bank", "more"]

    assert section_keys(spec, {"changed": "no"}) == ["start"]
    assert section_keys(spec, {"changed": "yes"}) == ["start", *others]
    # Not answered yet: only the first question is asked.
    assert section_keys(spec, {}) == ["start"]


def test_weiterbewilligung_fast_path_drops_answers_of_the_hidden_sections():
    """A client who said "yes", filled some pages and went back to "no" sends only "no"."""
    spec = shipped("weiterbewilligungsantrag")
    answers = {
        "changed": "no",
        "household_changed": "no",
        "housing_changed": "yes",
        "new_rent": "65000",
        "new_heating": "9000",
        "housing_from": "2027-01-01",
        "bank_changed": "yes",
        "wba_iban": "DE89370400440532013000",
    }
    assert answers_prune(spec, answers) == {"changed": "no"}


def test_weiterbewilligung_fast_path_can_be_sent_without_anything_else():
    spec = shipped("weiterbewilligungsantrag")
    answers = {"changed": "no"}
    for section in spec["sections"]:
        assert section_problems(spec, section, answers, {}, today=TODAY) == {}, section["key"]


def test_weiterbewilligung_changed_asks_each_section_and_the_rent_letter():
    spec = shipped("weiterbewilligungsantrag")
    answers = {"changed": "yes", "housing_changed": "yes"}
    housing = next(section for section in spec["sections"] if section["key"] == "housing")
    problems = section_problems(spec, housing, answers, {}, today=TODAY)
    assert set(problems) == {"new_rent", "new_heating", "housing_from", "rent_letter"}
    household = next(section for section in spec["sections"] if section["key"] == "household")
    assert set(section_problems(spec, household, answers, {}, today=TODAY)) == {"household_changed"}


# --- Veränderungsmitteilung: one section per kind of change --------------------------------


@pytest.mark.parametrize(
    ("kind", "section"),
    [
        ("address", "address"),
        ("household", "household"),
        ("income", "income"),
        ("bank", "bank"),
        ("work", "work"),
    ],
)
def test_veraenderung_each_kind_shows_its_own_section(kind, section):
    spec = shipped("veraenderungsmitteilung")
    choice = spec["sections"][0]["fields"][0]
    assert choice["key"] == "change_kind"
    assert kind in {option["value"] for option in choice["options"]}
    assert section_keys(spec, {"change_kind": kind}) == ["what", section, "more"]


# --- the engine's checks on the shipped fields ---------------------------------------------


def parse(spec: dict[str, Any], section_key: str, data: dict[str, str], answers=None):
    section = next(section for section in spec["sections"] if section["key"] == section_key)
    with translation.override("de"):
        return section_parse(spec, section, data, answers or {}, complete=True, today=TODAY)


def test_sick_until_before_sick_from_is_an_error_at_the_field():
    spec = shipped("arbeitsunfaehigkeit")
    parsed = parse(
        spec,
        "dates",
        {"sick_from": "07.12.2026", "sick_to": "2026-12-01", "certificate_kind": "first"},
    )
    assert set(parsed.errors) == {"sick_to"}
    assert "Krank ab" in str(parsed.errors["sick_to"])
    assert parsed.values["sick_from"] == "2026-12-07"


def test_sick_note_photo_is_required():
    spec = shipped("arbeitsunfaehigkeit")
    photo = spec["sections"][1]
    answers = {"sick_from": "2026-12-07", "sick_to": "2026-12-11", "certificate_kind": "first"}
    assert set(section_problems(spec, photo, answers, {}, today=TODAY)) == {"sick_note"}
    assert section_problems(spec, photo, answers, {"sick_note": 1}, today=TODAY) == {}


def test_ortsabwesenheit_cannot_start_in_the_past_or_end_before_it_starts():
    spec = shipped("ortsabwesenheit")
    past = parse(spec, "dates", {"away_from": "06.12.2026", "away_to": "20.12.2026"})
    assert set(past.errors) == {"away_from"}
    backwards = parse(spec, "dates", {"away_from": "20.12.2026", "away_to": "10.12.2026"})
    assert set(backwards.errors) == {"away_to"}
    # Longer than 21 days is not blocked: staff decide (the help text explains the rule).
    long = parse(spec, "dates", {"away_from": "10.12.2026", "away_to": "31.01.2027"})
    assert long.errors == {}


def test_ortsabwesenheit_phone_is_asked_only_when_reachable():
    spec = shipped("ortsabwesenheit")
    not_reachable = parse(spec, "where", {"reachable_by_phone": "no", "away_phone": "0170 1234567"})
    assert not_reachable.values["away_phone"] is None
    reachable = parse(spec, "where", {"reachable_by_phone": "yes", "away_phone": "0170 1234567"})
    assert reachable.values["away_phone"] == "0170 1234567"


def test_new_iban_with_a_wrong_check_digit_is_refused():
    spec = shipped("veraenderungsmitteilung")
    answers = {"change_kind": "bank"}
    holder = {"account_holder": "Amira Haddad"}
    wrong = parse(spec, "bank", {"new_iban": "DE89 3704 0044 0532 0130 01", **holder}, answers)
    assert set(wrong.errors) == {"new_iban"}
    right = parse(spec, "bank", {"new_iban": "de89 3704 0044 0532 0130 00", **holder}, answers)
    assert right.errors == {}
    assert right.values["new_iban"] == "DE89370400440532013000"


def test_household_member_born_in_the_future_is_refused_and_one_member_is_required():
    spec = shipped("veraenderungsmitteilung")
    answers = {"change_kind": "household"}
    empty = parse(spec, "household", {"members-count": "0"}, answers)
    assert set(empty.errors) == {"members"}
    data = {
        "members-count": "1",
        "members-0-member_name": "Lina Haddad",
        "members-0-member_birth": "01.01.2027",
        "members-0-member_relation": "child",
        "members-0-member_change": "moved_in",
        "members-0-member_change_on": "01.12.2026",
    }
    future = parse(spec, "household", data, answers)
    assert set(future.errors) == {"members-0-member_birth"}
    born = parse(spec, "household", {**data, "members-0-member_birth": "28.11.2026"}, answers)
    assert born.errors == {}
    assert born.values["members"] == [
        {
            "member_name": "Lina Haddad",
            "member_birth": "2026-11-28",
            "member_relation": "child",
            "member_change": "moved_in",
            "member_change_on": "2026-12-01",
        }
    ]


def test_income_amounts_are_kept_as_cents():
    spec = shipped("veraenderungsmitteilung")
    parsed = parse(
        spec,
        "income",
        {
            "income_kind": "minijob",
            "income_gross": "538",
            "income_net": "538,00 €",
            "income_from": "01.11.2026",
        },
        {"change_kind": "income"},
    )
    assert parsed.errors == {}
    assert parsed.values["income_gross"] == "53800"
    assert parsed.values["income_net"] == "53800"
