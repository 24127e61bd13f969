"""Typed answers: parsing what the client typed into the clean value kept in the answers
(dates ISO, money as a string of cents, IBAN without spaces), the checks of each field type,
and the conditions (`show_if`) that hide questions.

Each parser returns `(value, error)`: `value` None means "no answer". Error messages are
gettext strings, shown at the field in the client's language. A section is parsed as a
whole (`section_parse`): valid answers are kept even when another field is wrong, and what
the client typed is kept to show it back.
"""

# mypy: disallow-untyped-defs, disallow-incomplete-defs

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import formats, timezone
from django.utils.functional import Promise
from django.utils.translation import get_language, ngettext_lazy
from django.utils.translation import gettext_lazy as _

from .definitions import DEFAULT_MAX_LENGTH, text_for

Message = str | Promise

# ISO 13616 lengths of the countries our clients' accounts are most often in (SEPA); an
# IBAN of another country is checked by its check digits and the general 15..34 length.
IBAN_LENGTHS = {
    "AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22,
    "DK": 18, "EE": 20, "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GR": 27, "HR": 21,
    "HU": 28, "IE": 22, "IS": 26, "IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21,
    "MC": 27, "MT": 31, "NL": 18, "NO": 15, "PL": 28, "PT": 25, "RO": 24, "SE": 24,
    "SI": 19, "SK": 24, "SM": 27, "TR": 26, "UA": 29,
}  # fmt: skip
IBAN_SHAPE = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]+$")
ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
GERMAN_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
PHONE_CHARS = re.compile(r"^\+?[0-9 ()/.\-]+$")
INTEGER = re.compile(r"^-?[0-9]{1,12}$")
MAX_MONEY_CENTS = 10**11  # a billion euros: anything above is a typo
EARLIEST_DATE = datetime.date(1900, 1, 1)
LATEST_DATE = datetime.date(2100, 12, 31)

REQUIRED = _("Please answer this question.")


# What a section is parsed from: request.POST, or a dict of input names (the answers put
# back into inputs); anything with `.get(name)`.
Getter = Any


def _clean_text(raw: Any, *, multiline: bool) -> str:
    """Text as typed, without control characters; line breaks only where allowed."""
    text = unicodedata.normalize("NFC", str(raw or ""))
    keep = {"\n"} if multiline else set()
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(char for char in text if char in keep or unicodedata.category(char)[0] != "C")
    return text.strip()


def _label(spec: Mapping[str, Any]) -> str:
    return text_for(spec.get("label"), get_language() or "de")


def show_date(value: str) -> str:
    """An ISO date of the answers in the active language's short format."""
    try:
        return str(formats.date_format(datetime.date.fromisoformat(value), "SHORT_DATE_FORMAT"))
    except ValueError:
        return value


def show_money(cents: str) -> str:
    """Cents of the answers as euros in the active language's format ("1.234,50 €")."""
    try:
        amount = int(cents)
    except ValueError:
        return cents
    euros = formats.number_format(amount / 100, decimal_pos=2, use_l10n=True, force_grouping=True)
    return f"{euros} €"


# --- one value per type -------------------------------------------------------------------


def parse_text(spec: Mapping[str, Any], raw: Any) -> tuple[str | None, Message | None]:
    multiline = spec["type"] == "textarea"
    text = _clean_text(raw, multiline=multiline)
    if not text:
        return None, None
    limit = int(spec.get("max_length") or DEFAULT_MAX_LENGTH[spec["type"]])
    if len(text) > limit:
        return None, ngettext_lazy(
            "Please shorten this to %(limit)d character (it has %(count)d).",
            "Please shorten this to %(limit)d characters (it has %(count)d).",
            "limit",
        ) % {"limit": limit, "count": len(text)}
    return text, None


def parse_date(raw: Any) -> tuple[datetime.date | None, Message | None]:
    text = _clean_text(raw, multiline=False)
    if not text:
        return None, None
    match = ISO_DATE.match(text)
    if match:
        year, month, day = (int(part) for part in match.groups())
    else:
        match = GERMAN_DATE.match(text)
        if not match:
            return None, _("Please enter a date such as 31.12.2026.")
        day, month, year = (int(part) for part in match.groups())
    try:
        value = datetime.date(year, month, day)
    except ValueError:
        return None, _("This date does not exist. Please check day and month.")
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        return None, _("Please check the year.")
    return value, None


def check_date(
    spec: Mapping[str, Any],
    value: datetime.date,
    *,
    today: datetime.date,
    earlier: datetime.date | None,
    earlier_spec: Mapping[str, Any] | None,
) -> Message | None:
    """The date rules of a field; `earlier` is the answer of its `not_before` field."""
    if spec.get("not_in_future") and value > today:
        return _("This date cannot be in the future.")
    if spec.get("not_before_today") and value < today:
        return _("This date cannot be in the past.")
    days = spec.get("max_days_ahead")
    if days is not None and value > today + datetime.timedelta(days=int(days)):
        return ngettext_lazy(
            "This date can be at most %(days)d day from today.",
            "This date can be at most %(days)d days from today.",
            "days",
        ) % {"days": int(days)}
    if earlier is not None and value < earlier:
        return _("This date cannot be before “%(other)s” (%(date)s).") % {
            "other": _label(earlier_spec or {}),
            "date": formats.date_format(earlier, "SHORT_DATE_FORMAT"),
        }
    return None


def parse_money(spec: Mapping[str, Any], raw: Any) -> tuple[str | None, Message | None]:
    """Euros with a decimal comma or point ("1.234,50", "1234.5", "12 €") → cents."""
    text = _clean_text(raw, multiline=False)
    text = re.sub(r"(?i)\s|€|eur(o)?", "", text).replace("\u00a0", "")
    if not text:
        return None, None
    invalid = _("Please enter an amount in euros, such as 450,00.")
    if not re.fullmatch(r"[0-9.,]+", text):
        if text.startswith("-"):
            return None, _("The amount cannot be negative.")
        return None, invalid
    last = max(text.rfind(","), text.rfind("."))
    euros, cents = text, ""
    if last >= 0 and len(text) - last - 1 in (1, 2) and text.count(text[last]) == 1:
        euros, cents = text[:last], text[last + 1 :]
    # What is left of the euros may only use one separator, in groups of three digits.
    separators = set(re.sub(r"[0-9]", "", euros))
    if len(separators) > 1:
        return None, invalid
    if separators:
        groups = re.split(r"[.,]", euros)
        if not groups[0] or len(groups[0]) > 3 or any(len(group) != 3 for group in groups[1:]):
            return None, invalid
        euros = "".join(groups)
    if not euros:
        euros = "0"
    amount = int(euros) * 100 + int(cents.ljust(2, "0") or "0")
    if amount > MAX_MONEY_CENTS:
        return None, invalid
    low, high = spec.get("min"), spec.get("max")
    if low is not None and amount < int(low):
        return None, _("The amount must be at least %(amount)s.") % {"amount": show_money(str(low))}
    if high is not None and amount > int(high):
        return None, _("The amount can be at most %(amount)s.") % {"amount": show_money(str(high))}
    return str(amount), None


def parse_integer(spec: Mapping[str, Any], raw: Any) -> tuple[int | None, Message | None]:
    text = _clean_text(raw, multiline=False).replace(" ", "")
    if not text:
        return None, None
    if not INTEGER.match(text):
        return None, _("Please enter a whole number, such as 12.")
    value = int(text)
    low, high = spec.get("min"), spec.get("max")
    if low is not None and value < int(low):
        return None, _("The number must be at least %(min)d.") % {"min": int(low)}
    if high is not None and value > int(high):
        return None, _("The number can be at most %(max)d.") % {"max": int(high)}
    return value, None


def iban_checksum_ok(iban: str) -> bool:
    """ISO 13616 / ISO 7064 mod-97-10: the rearranged number modulo 97 is 1."""
    moved = iban[4:] + iban[:4]
    digits = "".join(str(int(char, 36)) for char in moved)
    return int(digits) % 97 == 1


def parse_iban(raw: Any) -> tuple[str | None, Message | None]:
    text = re.sub(r"[\s\-]", "", _clean_text(raw, multiline=False)).upper()
    if not text:
        return None, None
    if not IBAN_SHAPE.match(text):
        return None, _(
            "An IBAN starts with two letters for the country and two digits, such as DE12 …"
        )
    expected = IBAN_LENGTHS.get(text[:2])
    if expected is not None and len(text) != expected:
        return None, _(
            "An IBAN from this country has %(expected)d characters; this one has %(count)d. "
            "Please check whether a character is missing or one too many."
        ) % {"expected": expected, "count": len(text)}
    if expected is None and not 15 <= len(text) <= 34:
        return None, _("An IBAN has between 15 and 34 characters; this one has %(count)d.") % {
            "count": len(text)
        }
    if not iban_checksum_ok(text):
        return None, _(
            "The IBAN's check digits do not match: there is a typo somewhere. Please compare "
            "it with your bank card or statement."
        )
    return text, None


def parse_phone(raw: Any) -> tuple[str | None, Message | None]:
    text = " ".join(_clean_text(raw, multiline=False).split())
    if not text:
        return None, None
    digits = re.sub(r"[^0-9]", "", text)
    if not PHONE_CHARS.match(text) or not 6 <= len(digits) <= 20:
        return None, _("Please enter a phone number, such as 0170 1234567.")
    return text, None


def parse_email(raw: Any) -> tuple[str | None, Message | None]:
    text = _clean_text(raw, multiline=False)
    if not text:
        return None, None
    try:
        validate_email(text)
    except ValidationError:
        return None, _("Please enter an e-mail address, such as name@example.org.")
    return text, None


def parse_choice(spec: Mapping[str, Any], raw: Any) -> tuple[str | None, Message | None]:
    text = str(raw or "").strip()
    if not text:
        return None, None
    if spec["type"] == "yesno":
        allowed = {"yes", "no"}
    else:
        allowed = {option["value"] for option in spec["options"]}
    if text not in allowed:
        return None, _("Please choose one of the answers.")
    return text, None


def parse_value(spec: Mapping[str, Any], raw: Any) -> tuple[Any, Message | None]:
    """The clean value of one simple field (no group, attachment or info)."""
    kind = spec["type"]
    if kind in {"text", "textarea"}:
        return parse_text(spec, raw)
    if kind == "date":
        value, error = parse_date(raw)
        return (value.isoformat() if value else None), error
    if kind == "money":
        return parse_money(spec, raw)
    if kind == "integer":
        return parse_integer(spec, raw)
    if kind == "iban":
        return parse_iban(raw)
    if kind == "phone":
        return parse_phone(raw)
    if kind == "email":
        return parse_email(raw)
    if kind in {"choice", "yesno"}:
        return parse_choice(spec, raw)
    raise ValueError(f"no simple field type: {kind}")


# --- conditions ---------------------------------------------------------------------------


def condition_met(condition: Mapping[str, Any] | None, answers: Mapping[str, Any]) -> bool:
    """Whether a `show_if` holds for the answers so far (no condition: always)."""
    if not condition:
        return True
    value = answers.get(condition["field"])
    if value is None:
        return False
    value = str(value)
    if "equals" in condition:
        return value == condition["equals"]
    return value in condition["in"]


def visible_sections(spec: Mapping[str, Any], answers: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        section for section in spec["sections"] if condition_met(section.get("show_if"), answers)
    ]


def answers_prune(spec: Mapping[str, Any], answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers without those of hidden sections and questions (and without keys the
    definition does not have). Conditions point backwards, so one pass in form order
    decides each question on what is already decided."""
    kept: dict[str, Any] = {}
    for section in spec["sections"]:
        if not condition_met(section.get("show_if"), kept):
            continue
        for item in section["fields"]:
            key = item["key"]
            if item["type"] in {"info", "attachment"} or key not in answers:
                continue
            if not condition_met(item.get("show_if"), kept):
                continue
            if item["type"] == "group":
                entries = answers[key] if isinstance(answers[key], list) else []
                kept[key] = [_item_prune(item, kept, entry) for entry in entries]
            else:
                kept[key] = answers[key]
    return kept


def _item_prune(group: Mapping[str, Any], outer: Mapping[str, Any], entry: Any) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    if not isinstance(entry, dict):
        return kept
    for item in group["fields"]:
        key = item["key"]
        if item["type"] == "info" or key not in entry:
            continue
        if condition_met(item.get("show_if"), {**outer, **kept}):
            kept[key] = entry[key]
    return kept


# --- a section at once --------------------------------------------------------------------


@dataclass
class SectionInput:
    """A section as posted: the clean values of its answered questions (`None`: no answer),
    the text typed into each input (by input name, to show back) and the errors by input
    name (a group's own errors, such as too few entries, under the group's key)."""

    values: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, Message] = field(default_factory=dict)


def group_count(data: Getter, key: str, maximum: int) -> int:
    value = str(data.get(f"{key}-count") or "0")
    count = int(value) if value.isascii() and value.isdigit() and len(value) < 4 else 0
    return min(count, maximum)


def _parse_into(
    result: SectionInput,
    spec: Mapping[str, Any],
    name: str,
    data: Getter,
    context: dict[str, Any],
    *,
    complete: bool,
    today: datetime.date,
    all_fields: Mapping[str, Mapping[str, Any]],
    target: dict[str, Any],
) -> None:
    """Parse one simple field posted as `name` into `target[key]`."""
    raw = data.get(name)
    result.raw[name] = "" if raw is None else str(raw)
    value, error = parse_value(spec, raw)
    if error is None and value is not None and spec["type"] == "date":
        bound_key = spec.get("not_before")
        bound = context.get(bound_key) if bound_key else None
        error = check_date(
            spec,
            datetime.date.fromisoformat(value),
            today=today,
            earlier=datetime.date.fromisoformat(bound) if bound else None,
            earlier_spec=all_fields.get(bound_key) if bound_key else None,
        )
        if error is not None:
            value = None
    if error is not None:
        result.errors[name] = error
        return
    if value is None and complete and spec.get("required"):
        result.errors[name] = REQUIRED
    target[spec["key"]] = value
    context[spec["key"]] = value


def section_parse(
    spec: Mapping[str, Any],
    section: Mapping[str, Any],
    data: Getter,
    answers: Mapping[str, Any],
    *,
    complete: bool,
    today: datetime.date | None = None,
    group_changes: Mapping[str, int] | None = None,
) -> SectionInput:
    """Parse a posted section. `complete`: the client goes on (required questions must be
    answered); otherwise she saves a draft and only wrong values are errors. Hidden
    questions (their `show_if` not met by the answers including this post) are skipped.
    `group_changes`: {group key: item index to remove, or -1 to add one}."""
    today = today or timezone.localdate()
    result = SectionInput()
    context: dict[str, Any] = dict(answers)
    all_fields = fields_by_key(spec)
    changes = group_changes or {}
    for item in section["fields"]:
        kind, key = item["type"], item["key"]
        if kind in {"info", "attachment"}:
            continue
        if not condition_met(item.get("show_if"), context):
            result.values[key] = None
            context.pop(key, None)
            # What was typed stays on the page (the condition may change back).
            _keep_raw(result, item, data)
            continue
        if kind != "group":
            _parse_into(
                result,
                item,
                key,
                data,
                context,
                complete=complete,
                today=today,
                all_fields=all_fields,
                target=result.values,
            )
            continue
        entries: list[dict[str, Any]] = []
        maximum = int(item.get("max", 50))
        count = group_count(data, key, maximum)
        remove = changes.get(key)
        for index in range(count):
            if remove is not None and remove == index:
                continue
            entry: dict[str, Any] = {}
            inner = dict(context)
            position = len(entries)
            for sub in item["fields"]:
                if sub["type"] == "info":
                    continue
                name = f"{key}-{index}-{sub['key']}"
                if not condition_met(sub.get("show_if"), inner):
                    continue
                before = len(result.errors)
                _parse_into(
                    result,
                    sub,
                    name,
                    data,
                    inner,
                    complete=complete,
                    today=today,
                    all_fields=all_fields,
                    target=entry,
                )
                if position != index:
                    # Inputs after a removed entry move up by one.
                    new_name = f"{key}-{position}-{sub['key']}"
                    result.raw[new_name] = result.raw.pop(name)
                    if len(result.errors) > before:
                        result.errors[new_name] = result.errors.pop(name)
            entries.append({name: value for name, value in entry.items() if value is not None})
        if remove == -1:
            if len(entries) < maximum:
                entries.append({})
            else:
                result.errors[key] = _("No more entries can be added here.")
        minimum = int(item.get("min", 0))
        if complete and len(entries) < minimum:
            result.errors[key] = ngettext_lazy(
                "Please add at least %(count)d entry.",
                "Please add at least %(count)d entries.",
                "count",
            ) % {"count": minimum}
        result.values[key] = entries
        result.raw[f"{key}-count"] = str(len(entries))
        context[key] = entries
    return result


def _keep_raw(result: SectionInput, item: Mapping[str, Any], data: Getter) -> None:
    if item["type"] != "group":
        raw = data.get(item["key"])
        result.raw[item["key"]] = "" if raw is None else str(raw)
        return
    count = group_count(data, item["key"], int(item.get("max", 50)))
    result.raw[f"{item['key']}-count"] = str(count)
    for index in range(count):
        for sub in item["fields"]:
            name = f"{item['key']}-{index}-{sub['key']}"
            raw = data.get(name)
            result.raw[name] = "" if raw is None else str(raw)


def answers_merge(
    spec: Mapping[str, Any], answers: Mapping[str, Any], parsed: SectionInput
) -> dict[str, Any]:
    """The answers with a section's valid values: invalid ones leave the saved answer as it
    was, emptied ones remove it; hidden questions go."""
    merged = dict(answers)
    for key, value in parsed.values.items():
        if value is None or value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    return answers_prune(spec, merged)


def raw_from_answers(section: Mapping[str, Any], answers: Mapping[str, Any]) -> dict[str, str]:
    """The inputs of a section filled from saved answers (what a page shows on opening)."""
    raw: dict[str, str] = {}
    for item in section["fields"]:
        key = item["key"]
        if item["type"] == "group":
            entries = answers.get(key) or []
            raw[f"{key}-count"] = str(len(entries))
            for index, entry in enumerate(entries):
                for sub in item["fields"]:
                    if sub["key"] in entry:
                        raw[f"{key}-{index}-{sub['key']}"] = _input_text(sub, entry[sub["key"]])
        elif key in answers:
            raw[key] = _input_text(item, answers[key])
    return raw


def section_problems(
    spec: Mapping[str, Any],
    section: Mapping[str, Any],
    answers: Mapping[str, Any],
    attachment_counts: Mapping[str, int],
    *,
    today: datetime.date | None = None,
) -> dict[str, Message]:
    """What keeps a saved section from being submitted: its answers checked again as if
    typed now (required questions, date rules as of today, group sizes) and its required
    attachments. Empty when the section is hidden or complete."""
    if not condition_met(section.get("show_if"), answers):
        return {}
    parsed = section_parse(
        spec, section, raw_from_answers(section, answers), answers, complete=True, today=today
    )
    problems = dict(parsed.errors)
    for item in section["fields"]:
        if item["type"] != "attachment" or not condition_met(item.get("show_if"), answers):
            continue
        if item.get("required") and attachment_counts.get(item["key"], 0) == 0:
            problems[item["key"]] = _("Please attach at least one file.")
    return problems


def _input_text(spec: Mapping[str, Any], value: Any) -> str:
    """A saved value as it goes back into its input."""
    if spec["type"] == "money":
        amount = int(value)
        return f"{amount // 100},{amount % 100:02d}"
    if spec["type"] == "iban":
        text = str(value)
        return " ".join(text[index : index + 4] for index in range(0, len(text), 4))
    return str(value)


def fields_by_key(spec: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Every field of the form (group members included) by its key."""
    found: dict[str, Mapping[str, Any]] = {}
    for section in spec["sections"]:
        for item in section["fields"]:
            found[item["key"]] = item
            for sub in item.get("fields", []) if item["type"] == "group" else []:
                found[sub["key"]] = sub
    return found


def answer_display(spec: Mapping[str, Any], value: Any, language: str) -> str:
    """An answer as the review page and the PDF show it, in `language`."""
    kind = spec["type"]
    if value is None or value == "":
        return ""
    if kind == "date":
        return show_date(str(value))
    if kind == "money":
        return show_money(str(value))
    if kind == "iban":
        return _input_text(spec, value)
    if kind == "yesno":
        return str(_("yes") if value == "yes" else _("no"))
    if kind == "choice":
        for option in spec["options"]:
            if option["value"] == value:
                return text_for(option["label"], language)
    return str(value)
