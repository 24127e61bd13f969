"""Typed answers: parsing, checks and conditions (eforms/fields.py)."""

from __future__ import annotations

import datetime

import pytest
from django.http import QueryDict
from django.utils import translation

from sprechstunde.eforms import fields
from sprechstunde.eforms.testing import sample_spec

TODAY = datetime.date(2026, 12, 7)


def post(**values) -> QueryDict:
    data = QueryDict(mutable=True)
    for name, value in values.items():
        data[name.replace("__", "-")] = value
    return data


@pytest.mark.parametrize(
    ("typed", "cents"),
    [
        ("450", "45000"),
        ("450,5", "45050"),
        ("1.234,56", "123456"),
        ("1,234.56", "123456"),
        ("1234.56", "123456"),
        ("1 234,00 €", "123400"),
        ("0,99", "99"),
        ("12 EUR", "1200"),
    ],
)
def test_money_with_comma_or_point_becomes_cents(typed, cents):
    assert fields.parse_money({"type": "money"}, typed) == (cents, None)


@pytest.mark.parametrize("typed", ["12,345,6", "1.2.3", "abc", "1,2345", "12..5"])
def test_money_that_is_no_amount_is_refused(typed):
    value, error = fields.parse_money({"type": "money"}, typed)
    assert value is None
    assert str(error) == "Please enter an amount in euros, such as 450,00."


def test_money_limits_and_negative():
    assert str(fields.parse_money({"type": "money", "min": 100}, "0,50")[1]).startswith(
        "The amount must be at least"
    )
    assert str(fields.parse_money({"type": "money"}, "-5")[1]) == "The amount cannot be negative."


def test_iban_with_spaces_is_kept_without_them():
    assert fields.parse_iban(" de89 3704 0044 0532 0130 00 ") == ("DE89370400440532013000", None)


def test_iban_wrong_length_and_wrong_check_digits_get_different_messages():
    short, short_error = fields.parse_iban("DE89 3704 0044 0532 0130 0")
    assert short is None
    assert "has 22 characters; this one has 21" in str(short_error)
    wrong, wrong_error = fields.parse_iban("DE88 3704 0044 0532 0130 00")
    assert wrong is None
    assert "check digits do not match" in str(wrong_error)
    assert str(fields.parse_iban("1234")[1]).startswith("An IBAN starts with two letters")


def test_iban_message_is_german_in_the_german_ui():
    with translation.override("de"):
        _value, error = fields.parse_iban("DE88 3704 0044 0532 0130 00")
        assert "Prüfziffer" in str(error)


@pytest.mark.parametrize(
    ("typed", "iso"), [("2026-02-28", "2026-02-28"), ("1.3.2026", "2026-03-01")]
)
def test_dates_in_iso_or_german_form(typed, iso):
    value, error = fields.parse_date(typed)
    assert error is None
    assert value.isoformat() == iso


def test_impossible_date_is_refused():
    assert str(fields.parse_date("31.02.2026")[1]).startswith("This date does not exist")


def test_date_rules():
    check = fields.check_date
    common = {"today": TODAY, "earlier": None, "earlier_spec": None}
    tomorrow = TODAY + datetime.timedelta(days=1)
    assert "future" in str(check({"not_in_future": True}, tomorrow, **common))
    assert check({"not_in_future": True}, TODAY, **common) is None
    assert "past" in str(check({"not_before_today": True}, TODAY - datetime.timedelta(1), **common))
    far = TODAY + datetime.timedelta(days=31)
    assert "at most 30 days" in str(check({"max_days_ahead": 30}, far, **common))
    assert check({"max_days_ahead": 30}, far - datetime.timedelta(1), **common) is None


def test_integer_and_text_limits():
    assert fields.parse_integer({"type": "integer", "max": 60}, "61")[1] is not None
    assert fields.parse_integer({"type": "integer"}, "4,5")[1] is not None
    assert fields.parse_integer({"type": "integer"}, " 38 ") == (38, None)
    value, error = fields.parse_text({"type": "text", "max_length": 5}, "abcdef")
    assert value is None
    assert "5 characters (it has 6)" in str(error)
    assert fields.parse_text({"type": "textarea"}, "a\r\nb\x00") == ("a\nb", None)


def test_phone_email_and_choice():
    assert fields.parse_phone("+49 170 123 45 67") == ("+49 170 123 45 67", None)
    assert fields.parse_phone("call me")[1] is not None
    assert fields.parse_email("kim@example.org") == ("kim@example.org", None)
    assert fields.parse_email("kim@")[1] is not None
    spec = sample_spec()
    reason = spec["sections"][2]["fields"][2]
    assert fields.parse_choice(reason, "job") == ("job", None)
    assert fields.parse_choice(reason, "holiday")[1] is not None
    assert fields.parse_choice({"type": "yesno"}, "maybe")[1] is not None


def work_section():
    spec = sample_spec()
    return spec, spec["sections"][1]


def test_section_keeps_valid_values_when_another_is_wrong():
    spec, section = work_section()
    parsed = fields.section_parse(
        spec,
        section,
        post(job_start="2026-11-01", job_end="2026-10-01", salary="1.850,00", hours="x"),
        {},
        complete=True,
        today=TODAY,
    )
    assert parsed.values["job_start"] == "2026-11-01"
    assert parsed.values["salary"] == "185000"
    assert set(parsed.errors) == {"job_end", "hours"}
    assert "cannot be before “Start of work”" in str(parsed.errors["job_end"])
    assert parsed.raw["hours"] == "x"
    merged = fields.answers_merge(spec, {"hours": 20}, parsed)
    # The wrong value leaves the saved answer alone; valid values are kept.
    assert merged == {"job_start": "2026-11-01", "salary": "185000", "hours": 20}


def test_draft_save_does_not_ask_for_required_answers():
    spec, section = work_section()
    parsed = fields.section_parse(spec, section, post(), {}, complete=False, today=TODAY)
    assert parsed.errors == {}
    parsed = fields.section_parse(spec, section, post(), {}, complete=True, today=TODAY)
    assert set(parsed.errors) == {"job_start", "salary"}
    assert str(parsed.errors["salary"]) == "Please answer this question."


def test_hidden_questions_are_neither_required_nor_kept():
    spec = sample_spec()
    section = spec["sections"][2]
    data = post(
        has_household="no",
        members__count="1",
        members__0__member_name="Ada",
        reason="job",
        reason_other="old text",
    )
    parsed = fields.section_parse(spec, section, data, {}, complete=True, today=TODAY)
    assert parsed.errors == {}
    merged = fields.answers_merge(spec, {"reason_other": "old"}, parsed)
    assert merged == {"has_household": "no", "reason": "job"}
    # Typed text stays on the page, should the client change her answer back.
    assert parsed.raw["members-0-member_name"] == "Ada"


def test_group_items_checked_added_and_removed():
    spec = sample_spec()
    section = spec["sections"][2]
    data = post(
        has_household="yes",
        members__count="2",
        members__0__member_name="Ada",
        members__0__member_born="2030-01-01",
        members__1__member_name="Ben",
        members__1__member_born="2019-05-04",
        reason="job",
    )
    parsed = fields.section_parse(spec, section, data, {}, complete=True, today=TODAY)
    assert set(parsed.errors) == {"members-0-member_born"}
    assert parsed.values["members"] == [
        {"member_name": "Ada"},
        {"member_name": "Ben", "member_born": "2019-05-04"},
    ]
    removed = fields.section_parse(
        spec, section, data, {}, complete=False, today=TODAY, group_changes={"members": 0}
    )
    assert removed.values["members"] == [{"member_name": "Ben", "member_born": "2019-05-04"}]
    assert removed.raw["members-0-member_name"] == "Ben"
    assert removed.raw["members-count"] == "1"
    added = fields.section_parse(
        spec, section, data, {}, complete=False, today=TODAY, group_changes={"members": -1}
    )
    assert len(added.values["members"]) == 3
    none = fields.section_parse(
        spec, section, post(has_household="yes", reason="job"), {}, complete=True, today=TODAY
    )
    assert str(none.errors["members"]) == "Please add at least 1 entry."


def test_section_problems_at_submit_check_attachments_and_dates_again():
    spec = sample_spec()
    proof = spec["sections"][3]
    assert set(fields.section_problems(spec, proof, {}, {})) == {"payslip"}
    assert fields.section_problems(spec, proof, {}, {"payslip": 1}) == {}
    work = spec["sections"][1]
    answers = {"job_start": "2026-11-01", "job_end": "2026-10-01", "salary": "100"}
    assert set(fields.section_problems(spec, work, answers, {}, today=TODAY)) == {"job_end"}


def test_answers_round_trip_into_inputs():
    spec = sample_spec()
    raw = fields.raw_from_answers(spec["sections"][0], {"iban": "DE89370400440532013000"})
    assert raw["iban"] == "DE89 3704 0044 0532 0130 00"
    raw = fields.raw_from_answers(spec["sections"][1], {"salary": "185005"})
    assert raw["salary"] == "1850,05"
    assert fields.parse_money({"type": "money"}, raw["salary"]) == ("185005", None)
