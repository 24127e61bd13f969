"""Turning templates and typed values into text, HTML and PDF/A.

Decision templates use a placeholder language and nothing else: `{{ field_name }}` is
replaced by the field's value, escaped for HTML. There are no tags, filters, attribute
lookups or includes, so a template author can reach no code and no data but the values the
case manager typed (ADR 0031). Anything else that looks like template syntax (`{%`, a stray
`{{` or `}}`, an unknown name) is a syntax error shown to the admin on save; a template with
errors is never offered to staff, so it never reaches a client.

PDFs are rendered by WeasyPrint as PDF/A-2b and may fetch nothing (no URL fetcher); the app's
own documents are tagged PDF (PDF/UA-1) as well.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from sprechstunde.core.pdfa_metadata import pdf_with_local_xmp_namespaces

from .choices import FieldType

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
FIELD_NAME = re.compile(r"[a-z_][a-z0-9_]{0,39}")
WHOLE_NUMBER = re.compile(r"-?[0-9]+")
# What is left after removing well-formed placeholders must not look like template syntax.
STRAY_SYNTAX = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}")
MAX_FIELDS = 40
MAX_VALUE_LENGTH = 5000
MAX_MONEY = Decimal("1000000")

# Wording of a Rechtsfolgenbelehrung (instruction on the legal consequences of a breach of
# duty, §§ 31 ff. SGB II). Since 1 July 2023 it must not be part of the Kooperationsplan;
# it belongs only in a separate request letter (Aufforderung mit Rechtsfolgenbelehrung).
LEGAL_CONSEQUENCES_TERMS = (
    "rechtsfolgenbelehrung",
    "rechtsfolge",
    "leistungsminderung",
    "minderung",
    "sanktion",
    "pflichtverletzung",
    "leistungskürzung",
    "kürzung des bürgergeld",
    "legal consequences",
    "benefit reduction",
    "sanction",
)


def legal_consequences_terms_in(text: str) -> list[str]:
    """The Rechtsfolgenbelehrung wording found in `text` (case-insensitive), in order."""
    lowered = text.casefold()
    return [term for term in LEGAL_CONSEQUENCES_TERMS if term in lowered]


# Wording of a Rechtsbehelfsbelehrung (instruction on legal remedies). A cooperation plan is
# no administrative act (§ 15 SGB II since 2023), so there is nothing to object to: such a
# text would mislead the client about what the plan is.
LEGAL_REMEDY_TERMS = (
    "rechtsbehelf",
    "widerspruch",
    "sozialgericht",
    "klage",
    "legal remedy",
    "objection",
)
# A signature line: the plan is handed over in text form and never signed (§ 15 SGB II).
SIGNATURE_LINE = re.compile(
    r"unterschrift|unterzeichn|signatur|signature|sign here|\bgez\.|_{4,}|\.{8,}|…{3,}",
    re.IGNORECASE,
)
# The parts a Rechtsbehelfsbelehrung cannot do without (§ 36 SGB X, § 84 SGG): the remedy
# (Widerspruch) and its time limit of one month.
REMEDY_REQUIRED_TERMS = ("widerspruch", "monat")
# Placeholders every decision template may use besides its own fields; filled from the
# settings, so the legal remedy text names the place to lodge an objection.
OFFICE_PLACEHOLDERS = ("jobcenter_name", "jobcenter_address", "objection_address")


def legal_remedy_terms_in(text: str) -> list[str]:
    """The Rechtsbehelfsbelehrung wording found in `text` (case-insensitive), in order."""
    lowered = text.casefold()
    return [term for term in LEGAL_REMEDY_TERMS if term in lowered]


def plan_template_lint(template: Any) -> None:
    """Raise ValidationError (per field) when a plan template contains wording of a
    Rechtsfolgenbelehrung or a Rechtsbehelfsbelehrung, or a signature line. Run by the
    model's clean(), i.e. on every save in the app's template pages and in the admin."""
    errors: dict[str, list[str]] = {}
    for name in ("title", "intro", "support_suggestions", "closing"):
        text = getattr(template, name, "") or ""
        messages: list[str] = []
        found = legal_consequences_terms_in(text)
        if found:
            messages.append(
                str(
                    _(
                        "A cooperation plan must not contain a Rechtsfolgenbelehrung "
                        "(found: %(terms)s). Legal consequences belong only in a separate "
                        "request letter."
                    )
                    % {"terms": ", ".join(f"“{term}”" for term in found)}
                )
            )
        remedy = legal_remedy_terms_in(text)
        if remedy:
            messages.append(
                str(
                    _(
                        "A cooperation plan must not contain a Rechtsbehelfsbelehrung "
                        "(found: %(terms)s). It is no decision, so there is nothing to "
                        "object to."
                    )
                    % {"terms": ", ".join(f"“{term}”" for term in remedy)}
                )
            )
        signature = SIGNATURE_LINE.search(text)
        if signature:
            messages.append(
                str(
                    _(
                        "A cooperation plan has no signature line (found: “%(text)s”). It is "
                        "handed over in text form and needs no signature (§ 15 SGB II)."
                    )
                    % {"text": signature.group(0)[:20]}
                )
            )
        if messages:
            errors[name] = messages
    if errors:
        raise ValidationError(errors)


# --- Decision templates -------------------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    """One typed field of a decision template."""

    name: str
    label: str
    type: str
    required: bool
    choices: tuple[str, ...]
    help: str
    # Dates only: "today" refuses a later date (an application cannot come from the future).
    latest: str = ""


# The limits a date field may name as "max" (today: the application date, a receipt date).
DATE_LIMITS = ("today",)


def _field_errors(raw: Any) -> tuple[list[FieldSpec], list[str]]:
    specs: list[FieldSpec] = []
    errors: list[str] = []
    if not isinstance(raw, list):
        return [], [str(_("The fields must be a list of objects."))]
    if len(raw) > MAX_FIELDS:
        errors.append(str(_("At most %(count)d fields, please.") % {"count": MAX_FIELDS}))
    seen: set[str] = set()
    for position, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            errors.append(str(_("Field %(n)d is not an object.") % {"n": position}))
            continue
        name = str(item.get("name", ""))
        kind = str(item.get("type", "text"))
        label = str(item.get("label", "") or name)
        choices = item.get("choices", [])
        if not FIELD_NAME.fullmatch(name):  # not match(): its `$` let "name\n" through
            errors.append(
                str(
                    _(
                        "Field %(n)d: the name “%(name)s” must start with a small letter and "
                        "use only small letters, digits and _."
                    )
                    % {"n": position, "name": name[:40]}
                )
            )
            continue
        if name in seen:
            errors.append(str(_("The field name “%(name)s” is used twice.") % {"name": name}))
        if name in OFFICE_PLACEHOLDERS:
            errors.append(
                str(
                    _("The field name “%(name)s” is reserved for the Jobcenter's details.")
                    % {"name": name}
                )
            )
        seen.add(name)
        if kind not in FieldType.values:
            errors.append(
                str(
                    _("Field “%(name)s”: unknown type “%(type)s”.")
                    % {"name": name, "type": kind[:20]}
                )
            )
            continue
        if kind == FieldType.CHOICE and (
            not isinstance(choices, list)
            or not choices
            or not all(isinstance(choice, str) and choice for choice in choices)
        ):
            errors.append(
                str(_("Field “%(name)s”: a choice needs a list of options.") % {"name": name})
            )
            continue
        latest = str(item.get("max", "") or "")
        if latest and (kind != FieldType.DATE or latest not in DATE_LIMITS):
            errors.append(
                str(
                    _("Field “%(name)s”: “max” is only for dates, and only “today”.")
                    % {"name": name}
                )
            )
            continue
        specs.append(
            FieldSpec(
                name=name,
                label=label[:200],
                type=kind,
                required=bool(item.get("required", True)),
                choices=tuple(choices) if kind == FieldType.CHOICE else (),
                help=str(item.get("help", ""))[:300],
                latest=latest,
            )
        )
    return specs, errors


def field_specs(template: Any) -> list[FieldSpec]:
    """The fields of a (checked) decision template."""
    specs, _errors = _field_errors(template.fields)
    return specs


def placeholders_in(text: str) -> list[str]:
    """The placeholder names used in `text`, in order of first use."""
    names: list[str] = []
    for match in PLACEHOLDER.finditer(text):
        if match.group(1) not in names:
            names.append(match.group(1))
    return names


def syntax_errors(text: str, *, known: set[str]) -> list[str]:
    """What is wrong with the template syntax of `text`, given the known field names."""
    errors: list[str] = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        rest = PLACEHOLDER.sub("", line)
        stray = STRAY_SYNTAX.search(rest)
        if stray:
            errors.append(
                str(
                    _(
                        "Line %(line)d: “%(text)s” is not allowed. Write placeholders as "
                        "{{ field_name }}; there are no other template commands."
                    )
                    % {"line": line_number, "text": stray.group(0)}
                )
            )
        for name in placeholders_in(line):
            if name not in known:
                errors.append(
                    str(
                        _("Line %(line)d: there is no field “%(name)s”.")
                        % {"line": line_number, "name": name}
                    )
                )
    return errors


def decision_template_check(template: Any) -> None:
    """Raise ValidationError (per field) for bad field definitions or template syntax."""
    specs, field_errors = _field_errors(template.fields)
    errors: dict[str, list[str]] = {}
    if field_errors:
        errors["fields"] = field_errors
    known = {spec.name for spec in specs} | set(OFFICE_PLACEHOLDERS)
    body_errors = syntax_errors(template.body or "", known=known)
    if not (template.body or "").strip():
        body_errors.append(str(_("The text is empty.")))
    if body_errors:
        errors["body"] = body_errors
    remedy = template.legal_remedy or ""
    remedy_errors = syntax_errors(remedy, known=set(OFFICE_PLACEHOLDERS))
    if not remedy.strip():
        remedy_errors.append(str(_("A decision needs its legal remedy instruction.")))
    elif not all(term in remedy.casefold() for term in REMEDY_REQUIRED_TERMS):
        remedy_errors.append(
            str(
                _(
                    "This is no complete Rechtsbehelfsbelehrung: it must name the objection "
                    "(Widerspruch), its time limit of one month and where to lodge it "
                    "(§ 36 SGB X, § 84 SGG)."
                )
            )
        )
    if remedy_errors:
        errors["legal_remedy"] = remedy_errors
    if errors:
        raise ValidationError(errors)


def template_is_valid(template: Any) -> bool:
    """True when the template passes `decision_template_check` (only such are offered)."""
    try:
        decision_template_check(template)
    except ValidationError:
        return False
    return True


def _clean_value(spec: FieldSpec, raw: Any) -> tuple[str, str | None]:
    """(stored value, error). Stored values are plain strings: ISO dates, 2-place amounts."""
    text = "" if raw is None else str(raw).strip()
    # Every line end as LF: a lone CR left in made the value change when cleaned again.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text:
        return "", (str(_("Please fill in this field.")) if spec.required else None)
    if len(text) > MAX_VALUE_LENGTH:
        return "", str(_("At most %(limit)d characters.") % {"limit": MAX_VALUE_LENGTH})
    if spec.type in (FieldType.TEXT, FieldType.CHOICE) and "\n" in text:
        return "", str(_("Please write this on one line."))
    if spec.type == FieldType.DATE:
        try:
            day = datetime.date.fromisoformat(text)
        except ValueError:
            return "", str(_("Please enter a valid date."))
        today = timezone.localdate()
        if spec.latest == "today" and day > today:
            return "", str(
                _("This date cannot be in the future. Please enter a date up to %(today)s.")
                % {"today": formats.date_format(today, "SHORT_DATE_FORMAT")}
            )
        return day.isoformat(), None
    if spec.type == FieldType.MONEY:
        normalised = text.replace("€", "").replace(" ", "")
        if "," in normalised:
            normalised = normalised.replace(".", "").replace(",", ".")
        try:
            amount = Decimal(normalised)
        except InvalidOperation:
            return "", str(_("Please enter an amount such as 1234,56."))
        if not amount.is_finite() or amount < 0 or amount >= MAX_MONEY:
            return "", str(_("Please enter an amount such as 1234,56."))
        if amount != amount.quantize(Decimal("0.01")):
            return "", str(_("At most two decimal places, please."))
        return str(amount.quantize(Decimal("0.01"))), None
    if spec.type == FieldType.NUMBER:
        if not WHOLE_NUMBER.fullmatch(text) or len(text) > 12:
            return "", str(_("Please enter a whole number."))
        return str(int(text)), None
    if spec.type == FieldType.CHOICE and text not in spec.choices:
        return "", str(_("Please choose one of the options."))
    return text, None


def decision_values_clean(
    template: Any, raw: dict[str, Any]
) -> tuple[dict[str, str], dict[str, str]]:
    """The typed values for `template` from form input, and the errors per field name."""
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    for spec in field_specs(template):
        value, error = _clean_value(spec, raw.get(spec.name))
        values[spec.name] = value
        if error:
            errors[spec.name] = error
    return values, errors


def value_display(spec: FieldSpec, value: str) -> str:
    """A stored value as the document shows it (German formats by default)."""
    if not value:
        return ""
    if spec.type == FieldType.DATE:
        return formats.date_format(datetime.date.fromisoformat(value), "SHORT_DATE_FORMAT")
    if spec.type == FieldType.MONEY:
        amount = formats.number_format(Decimal(value), 2, use_l10n=True, force_grouping=True)
        return f"{amount} €"
    return value


def _paragraphs(text: str) -> SafeString:
    """Escaped text as paragraphs (blank line) with line breaks (single new line)."""
    blocks = [block.strip() for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n"))]
    html = "".join(
        "<p>" + escape(block).replace("\n", "<br>") + "</p>" for block in blocks if block
    )
    return mark_safe(html)  # noqa: S308 - built from escaped text only


def _one_line(name: str, address: str) -> str:
    lines = [line.strip() for line in address.splitlines() if line.strip()]
    return ", ".join([name, *lines]) if lines else name


def office_values() -> dict[str, str]:
    """The values of the office placeholders: the Jobcenter's name, its address on one line
    (JOBCENTER_ADDRESS) and the place to lodge an objection (JOBCENTER_OBJECTION_ADDRESS
    where set, else the Jobcenter's address)."""
    name = str(getattr(settings, "JOBCENTER_NAME", "") or "")
    address = str(getattr(settings, "JOBCENTER_ADDRESS", "") or "")
    objection = str(getattr(settings, "JOBCENTER_OBJECTION_ADDRESS", "") or "")
    return {
        "jobcenter_name": name,
        "jobcenter_address": _one_line(name, address),
        # The objection address names its office itself ("Jobcenter X, Widerspruchsstelle, …").
        "objection_address": ", ".join(
            line.strip() for line in objection.splitlines() if line.strip()
        )
        or _one_line(name, address),
    }


def fill_placeholders(text: str, template: Any, values: dict[str, str]) -> str:
    """Plain text with every placeholder replaced by its displayed value."""
    specs = {spec.name: spec for spec in field_specs(template)}
    office = office_values()

    def replace(match: re.Match[str]) -> str:
        if match.group(1) in office:
            return office[match.group(1)]
        spec = specs.get(match.group(1))
        return value_display(spec, values.get(spec.name, "")) if spec else ""

    return PLACEHOLDER.sub(replace, text)


def decision_body_html(template: Any, values: dict[str, str]) -> SafeString:
    """The decision text as HTML paragraphs: placeholders filled, everything escaped."""
    return _paragraphs(fill_placeholders(template.body, template, values))


def decision_remedy_html(template: Any) -> SafeString:
    """The legal remedy instruction as HTML, with the Jobcenter placeholders filled."""
    return _paragraphs(fill_placeholders(template.legal_remedy, template, {}))


def text_html(text: str) -> SafeString:
    return _paragraphs(text)


# --- PDF/A --------------------------------------------------------------------------------


def _no_fetching(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise ValueError(f"Documents do not load external resources ({url[:40]}).")


def html_to_pdfa(
    html: str,
    *,
    stylesheet_template: str = "agreements/pdf/document.css",
    tagged: bool = False,
) -> bytes:
    """Render HTML (with a print stylesheet, by default the agreements one) to PDF/A-2b.
    The client letters (clients.letters) come through here too.

    `tagged`: also a tagged PDF for screen readers, built to the structure rules of PDF/UA-1:
    a structure tree from the HTML elements (headings, paragraphs, tables, lists), MarkInfo
    /Marked true, /Lang from `<html lang>`, the title shown. It does not claim PDF/UA in its
    metadata: no validator for that runs here (ADR 0078). The seal is an incremental update,
    so tags and the PDF/A claim stay."""
    # Imported here: loading WeasyPrint parses its stylesheets, which would slow every start.
    from weasyprint import CSS, HTML

    stylesheet = CSS(string=render_to_string(stylesheet_template))
    document = HTML(string=html, url_fetcher=_no_fetching)
    pdf = bytes(
        document.write_pdf(stylesheets=[stylesheet], pdf_variant="pdf/a-2b", pdf_tags=tagged) or b""
    )
    return pdf_with_local_xmp_namespaces(pdf)


def render_pdf(template_name: str, context: dict[str, Any]) -> bytes:
    """A tagged PDF/A-2b document from one of the app's print templates (decisions, plans,
    confirmations, delivery logs), in the office language."""
    with translation.override(settings.LANGUAGE_CODE):
        html = render_to_string(
            template_name, {**context, "jobcenter_name": settings.JOBCENTER_NAME}
        )
    return html_to_pdfa(html, tagged=True)
