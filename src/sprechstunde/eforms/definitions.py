"""Form definitions: the validator of the JSON format (ADR 0087) and the loader that stores
each changed file as a new `FormDefinition` version.

The validator collects every problem of a file and names each one by the file and the JSON
path (`sonstiges_anliegen.json: $.sections[0].fields[2].label: ...`), so the author of a
form fixes them in one go. The helpers at the end let the engine walk a validated spec.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from django.db import transaction

from .models import FormDefinition

FORMAT = 1
DEFINITIONS_DIR = Path(__file__).resolve().parent / "definitions"
# The client languages every text of a definition must carry (ADR 0087).
LANGUAGES: tuple[str, ...] = ("de", "en", "uk", "ar", "tr", "ru", "fa")
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
SLUG_RE = re.compile(r"^[a-z][a-z0-9_-]{0,59}$")

# Options each field type accepts besides the common ones; a typo ("requried") is an error.
COMMON_FIELD_OPTIONS = {"key", "type", "label", "help", "required", "show_if"}
TYPE_OPTIONS: dict[str, set[str]] = {
    "text": {"max_length", "autocomplete"},
    "textarea": {"max_length"},
    "date": {"not_in_future", "not_before_today", "not_before", "max_days_ahead"},
    "money": {"min", "max"},
    "integer": {"min", "max"},
    "iban": set(),
    "choice": {"options", "widget"},
    "yesno": set(),
    "phone": set(),
    "email": set(),
    "group": {"min", "max", "item_label", "fields"},
    "attachment": {"max_files"},
    "info": {"text"},
}
FIELD_TYPES = tuple(TYPE_OPTIONS)
# Types whose answer a condition can test.
VALUE_TYPES = {"text", "date", "money", "integer", "choice", "yesno", "phone", "email"}
DEFAULT_MAX_LENGTH = {"text": 200, "textarea": 4000}
DEFAULT_MAX_FILES = 5
MAX_GROUP_ITEMS = 50
MAX_FILES_LIMIT = 20
# The HTML autocomplete tokens a text field may ask for (address and name parts).
AUTOCOMPLETE_TOKENS = {
    "name",
    "given-name",
    "family-name",
    "street-address",
    "address-line1",
    "address-line2",
    "postal-code",
    "address-level2",
    "country-name",
    "bday",
    "organization",
}


class DefinitionError(ValueError):
    """A definition file is not valid; `problems` holds one line per problem."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {problem}" for problem in problems))


@dataclass
class _Checker:
    """Walks one definition and collects problems as `$.path: message` lines."""

    problems: list[str] = field(default_factory=list)
    # Field key -> (type, spec) in the order the form places them.
    seen_fields: dict[str, dict[str, Any]] = field(default_factory=dict)
    seen_sections: set[str] = field(default_factory=set)
    # Every field key of the form, group members included: keys are unique in the form.
    all_keys: set[str] = field(default_factory=set)

    def problem(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    # --- small pieces -----------------------------------------------------------------

    def text(self, value: Any, path: str, *, required: bool = True) -> None:
        if value is None:
            if required:
                self.problem(path, "is missing (a text in all seven languages)")
            return
        if not isinstance(value, dict):
            self.problem(path, f"must be an object with the languages {', '.join(LANGUAGES)}")
            return
        missing = [language for language in LANGUAGES if language not in value]
        if missing:
            self.problem(path, f"lacks the language(s) {', '.join(missing)}")
        extra = sorted(set(value) - set(LANGUAGES))
        if extra:
            self.problem(path, f"has unknown language(s) {', '.join(extra)}")
        for language in LANGUAGES:
            text = value.get(language)
            if language in value and (not isinstance(text, str) or not text.strip()):
                self.problem(f"{path}.{language}", "must be a non-empty string")

    def boolean(self, spec: dict[str, Any], name: str, path: str) -> None:
        if name in spec and not isinstance(spec[name], bool):
            self.problem(f"{path}.{name}", "must be true or false")

    def integer(self, spec: dict[str, Any], name: str, path: str, *, minimum: int = 0) -> None:
        if name not in spec:
            return
        value = spec[name]
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(f"{path}.{name}", "must be a whole number")
        elif value < minimum:
            self.problem(f"{path}.{name}", f"must be at least {minimum}")

    def min_max(self, spec: dict[str, Any], path: str, *, minimum: int) -> None:
        self.integer(spec, "min", path, minimum=minimum)
        self.integer(spec, "max", path, minimum=minimum)
        low, high = spec.get("min"), spec.get("max")
        if (
            isinstance(low, int)
            and isinstance(high, int)
            and not isinstance(low, bool)
            and not isinstance(high, bool)
            and low > high
        ):
            self.problem(path, f"min ({low}) is greater than max ({high})")

    def unknown(self, spec: dict[str, Any], allowed: set[str], path: str) -> None:
        for name in sorted(set(spec) - allowed):
            self.problem(f"{path}.{name}", "is not a known option here")

    def key(self, value: Any, path: str) -> bool:
        if not isinstance(value, str) or not KEY_RE.match(value):
            self.problem(path, "must match [a-z][a-z0-9_]{0,59}")
            return False
        return True

    # --- conditions and references ----------------------------------------------------

    def earlier_field(
        self, name: Any, path: str, scope: dict[str, dict[str, Any]]
    ) -> dict[str, Any] | None:
        if not isinstance(name, str):
            self.problem(path, "must name a field key")
            return None
        if name not in scope:
            self.problem(path, f'points at "{name}", which is not a field placed before')
            return None
        return scope[name]

    def show_if(self, condition: Any, path: str, scope: dict[str, dict[str, Any]]) -> None:
        if not isinstance(condition, dict):
            self.problem(path, 'must be {"field": k, "equals": v} or {"field": k, "in": [...]}')
            return
        self.unknown(condition, {"field", "equals", "in"}, path)
        target = self.earlier_field(condition.get("field"), f"{path}.field", scope)
        has_equals, has_in = "equals" in condition, "in" in condition
        if has_equals == has_in:
            self.problem(path, 'needs exactly one of "equals" or "in"')
            return
        values = [condition["equals"]] if has_equals else condition["in"]
        if has_in and (not isinstance(values, list) or not values):
            self.problem(f"{path}.in", "must be a non-empty list")
            return
        for value in values:
            if not isinstance(value, str):
                self.problem(path, "compares with strings only (as answers are stored)")
                return
        if target is None:
            return
        if target.get("type") not in VALUE_TYPES:
            self.problem(f"{path}.field", f"a {target.get('type')} field cannot be tested")
            return
        allowed = _allowed_values(target)
        if allowed is not None:
            for value in values:
                if value not in allowed:
                    self.problem(path, f'"{value}" is not a value of field "{target["key"]}"')

    # --- the structure ----------------------------------------------------------------

    def definition(self, spec: Any) -> None:
        if not isinstance(spec, dict):
            self.problem("$", "must be an object")
            return
        self.unknown(
            spec, {"format", "slug", "title", "summary", "decided_by_staff", "sections"}, "$"
        )
        if spec.get("format") != FORMAT:
            self.problem("$.format", f"must be {FORMAT} (found {spec.get('format')!r})")
        slug = spec.get("slug")
        if not isinstance(slug, str) or not SLUG_RE.match(slug):
            self.problem("$.slug", "must match [a-z][a-z0-9_-]{0,59}")
        self.text(spec.get("title"), "$.title")
        self.text(spec.get("summary"), "$.summary")
        self.boolean(spec, "decided_by_staff", "$")
        sections = spec.get("sections")
        if not isinstance(sections, list) or not sections:
            self.problem("$.sections", "must be a non-empty list")
            return
        for index, section in enumerate(sections):
            self.section(section, f"$.sections[{index}]")

    def section(self, section: Any, path: str) -> None:
        if not isinstance(section, dict):
            self.problem(path, "must be an object")
            return
        self.unknown(section, {"key", "title", "intro", "show_if", "fields"}, path)
        key = section.get("key")
        if self.key(key, f"{path}.key"):
            if key in self.seen_sections:
                self.problem(f"{path}.key", f'"{key}" is used by another section')
            self.seen_sections.add(str(key))
        self.text(section.get("title"), f"{path}.title")
        self.text(section.get("intro"), f"{path}.intro", required=False)
        if "show_if" in section:
            self.show_if(section["show_if"], f"{path}.show_if", dict(self.seen_fields))
        fields = section.get("fields")
        if not isinstance(fields, list) or not fields:
            self.problem(f"{path}.fields", "must be a non-empty list")
            return
        for index, item in enumerate(fields):
            self.field(item, f"{path}.fields[{index}]", self.seen_fields, in_group=False)

    def field(
        self,
        spec: Any,
        path: str,
        scope: dict[str, dict[str, Any]],
        *,
        in_group: bool,
    ) -> None:
        if not isinstance(spec, dict):
            self.problem(path, "must be an object")
            return
        kind = spec.get("type")
        if kind not in TYPE_OPTIONS:
            self.problem(f"{path}.type", f"unknown type {kind!r} (known: {', '.join(FIELD_TYPES)})")
            return
        if in_group and kind in {"group", "attachment"}:
            self.problem(f"{path}.type", f"a group cannot hold a field of type {kind}")
            return
        self.unknown(spec, COMMON_FIELD_OPTIONS | TYPE_OPTIONS[kind], path)
        key = spec.get("key")
        key_ok = self.key(key, f"{path}.key")
        if key_ok and key in self.all_keys:
            self.problem(f"{path}.key", f'"{key}" is used by another field')
            key_ok = False
        if key_ok:
            self.all_keys.add(str(key))
        if kind == "info":
            if "label" not in spec and "text" not in spec:
                self.problem(path, 'an info field needs a "text" (or a "label")')
            self.text(spec.get("label"), f"{path}.label", required=False)
            self.text(spec.get("text"), f"{path}.text", required=False)
        else:
            self.text(spec.get("label"), f"{path}.label")
        self.text(spec.get("help"), f"{path}.help", required=False)
        self.boolean(spec, "required", path)
        if "show_if" in spec:
            self.show_if(spec["show_if"], f"{path}.show_if", scope)
        getattr(self, f"options_{kind}")(spec, path, scope)
        if key_ok:
            scope[str(key)] = spec

    # --- per-type options -------------------------------------------------------------

    def options_text(self, spec: dict[str, Any], path: str, scope: Any) -> None:
        self.integer(spec, "max_length", path, minimum=1)
        token = spec.get("autocomplete")
        if token is not None and token not in AUTOCOMPLETE_TOKENS:
            self.problem(
                f"{path}.autocomplete", f"must be one of {', '.join(sorted(AUTOCOMPLETE_TOKENS))}"
            )

    def options_textarea(self, spec: dict[str, Any], path: str, scope: Any) -> None:
        self.integer(spec, "max_length", path, minimum=1)

    def options_date(self, spec: dict[str, Any], path: str, scope: dict[str, Any]) -> None:
        for flag in ("not_in_future", "not_before_today"):
            self.boolean(spec, flag, path)
        if spec.get("not_in_future") and spec.get("not_before_today") is True:
            self.problem(path, "not_in_future and not_before_today leave only today: use one")
        self.integer(spec, "max_days_ahead", path, minimum=0)
        if "not_before" in spec:
            target = self.earlier_field(spec["not_before"], f"{path}.not_before", scope)
            if target is not None and target.get("type") != "date":
                self.problem(f"{path}.not_before", f'"{target["key"]}" is not a date field')

    def options_money(self, spec: dict[str, Any], path: str, scope: Any) -> None:
        self.min_max(spec, path, minimum=0)

    def options_integer(self, spec: dict[str, Any], path: str, scope: Any) -> None:
        self.min_max(spec, path, minimum=-(10**9))

    def options_iban(self, spec: dict[str, Any], path: str, scope: Any) -> None:
        pass

    options_yesno = options_phone = options_email = options_iban

    def options_choice(self, spec: dict[str, Any], path: str, scope: Any) -> None:
        if spec.get("widget", "radio") not in {"radio", "select"}:
            self.problem(f"{path}.widget", 'must be "radio" or "select"')
        options = spec.get("options")
        if not isinstance(options, list) or not options:
            self.problem(f"{path}.options", "must be a non-empty list")
            return
        values: set[str] = set()
        for index, option in enumerate(options):
            option_path = f"{path}.options[{index}]"
            if not isinstance(option, dict):
                self.problem(option_path, "must be an object")
                continue
            self.unknown(option, {"value", "label"}, option_path)
            value = option.get("value")
            if not isinstance(value, str) or not value or len(value) > 60:
                self.problem(f"{option_path}.value", "must be a string of 1 to 60 characters")
            elif value in values:
                self.problem(f"{option_path}.value", f'"{value}" is used by another option')
            else:
                values.add(value)
            self.text(option.get("label"), f"{option_path}.label")

    def options_group(self, spec: dict[str, Any], path: str, scope: dict[str, Any]) -> None:
        self.min_max(spec, path, minimum=0)
        if isinstance(spec.get("max"), int) and spec["max"] > MAX_GROUP_ITEMS:
            self.problem(f"{path}.max", f"must be at most {MAX_GROUP_ITEMS}")
        self.text(spec.get("item_label"), f"{path}.item_label")
        fields = spec.get("fields")
        if not isinstance(fields, list) or not fields:
            self.problem(f"{path}.fields", "must be a non-empty list")
            return
        # Inside a group a condition or a date bound may point at an earlier field of the
        # same item or at a field placed before the group.
        inner: dict[str, dict[str, Any]] = dict(scope)
        for index, item in enumerate(fields):
            self.field(item, f"{path}.fields[{index}]", inner, in_group=True)

    def options_attachment(self, spec: dict[str, Any], path: str, scope: Any) -> None:
        self.integer(spec, "max_files", path, minimum=1)
        if isinstance(spec.get("max_files"), int) and spec["max_files"] > MAX_FILES_LIMIT:
            self.problem(f"{path}.max_files", f"must be at most {MAX_FILES_LIMIT}")

    def options_info(self, spec: dict[str, Any], path: str, scope: Any) -> None:
        if spec.get("required"):
            self.problem(f"{path}.required", "an info field asks nothing and cannot be required")


def _allowed_values(spec: dict[str, Any]) -> set[str] | None:
    """The answers a field can have, where they are a closed set."""
    if spec.get("type") == "yesno":
        return {"yes", "no"}
    if spec.get("type") == "choice" and isinstance(spec.get("options"), list):
        return {
            option["value"]
            for option in spec["options"]
            if isinstance(option, dict) and isinstance(option.get("value"), str)
        }
    return None


def _no_duplicate_names(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for name, value in pairs:
        if name in seen:
            raise ValueError(f'the name "{name}" appears twice in one object')
        seen[name] = value
    return seen


def definition_parse(text: str, *, source: str) -> dict[str, Any]:
    """Parse and validate one definition's JSON text; raises `DefinitionError`."""
    try:
        spec = json.loads(text, object_pairs_hook=_no_duplicate_names)
    except json.JSONDecodeError as error:
        raise DefinitionError(
            source, [f"$: not valid JSON (line {error.lineno}, column {error.colno}): {error.msg}"]
        ) from error
    except ValueError as error:
        raise DefinitionError(source, [f"$: {error}"]) from error
    definition_validate(spec, source=source)
    return cast(dict[str, Any], spec)


def definition_validate(spec: Any, *, source: str) -> None:
    """Check a parsed definition against format 1; raises `DefinitionError` listing all
    problems with their JSON paths."""
    checker = _Checker()
    checker.definition(spec)
    if not checker.problems and not any_field(spec):
        checker.problem("$.sections", "hold no question")
    if checker.problems:
        raise DefinitionError(source, checker.problems)


def definition_file_read(path: Path) -> dict[str, Any]:
    """Read and validate one file; the slug must be the file's name."""
    source = path.name
    spec = definition_parse(path.read_text(encoding="utf-8"), source=source)
    if spec["slug"] != path.stem:
        raise DefinitionError(
            source, [f'$.slug: "{spec["slug"]}" must be the file\'s name ("{path.stem}")']
        )
    return spec


def spec_sha256(spec: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON (sorted names, no spaces): formatting changes of the
    file make no new version."""
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class LoadResult:
    definition: FormDefinition
    created: bool


def definition_store(*, spec: dict[str, Any]) -> LoadResult:
    """Store a validated spec: a new version when its content differs from the newest one,
    else nothing; afterwards only the newest version of the slug is current."""
    digest = spec_sha256(spec)
    slug = spec["slug"]
    with transaction.atomic():
        versions = FormDefinition.objects.select_for_update().filter(slug=slug)
        newest = versions.order_by("-version").first()
        if newest is not None and newest.spec_sha256 == digest:
            created = False
            definition = newest
        else:
            created = True
            definition = FormDefinition.objects.create(
                slug=slug,
                version=(newest.version + 1) if newest else 1,
                spec=spec,
                spec_sha256=digest,
                is_current=True,
            )
        versions.exclude(pk=definition.pk).filter(is_current=True).update(is_current=False)
        if not definition.is_current:
            definition.is_current = True
            definition.save(update_fields=["is_current"])
    return LoadResult(definition=definition, created=created)


def definitions_load(directory: Path | None = None) -> list[LoadResult]:
    """Validate every `*.json` in the directory, then store them. One invalid file stops
    the whole load (nothing is stored), so a release never half-updates the forms."""
    folder = directory or DEFINITIONS_DIR
    problems: list[str] = []
    specs: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.json")):
        try:
            specs.append(definition_file_read(path))
        except DefinitionError as error:
            problems.extend(str(error).splitlines())
    if problems:
        raise DefinitionError(str(folder), problems)
    return [definition_store(spec=spec) for spec in specs]


# --- walking a validated spec ----------------------------------------------------------


def text_for(text: dict[str, str] | None, language: str) -> str:
    """A definition text in the language, German when the language is not one of them."""
    if not text:
        return ""
    return text.get(language) or text.get("de") or ""


def any_field(spec: Any) -> bool:
    return any(
        field.get("type") != "info"
        for section in spec.get("sections", [])
        if isinstance(section, dict)
        for field in section.get("fields", [])
        if isinstance(field, dict)
    )


def iter_fields(spec: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(section, field) pairs of the top level in form order."""
    for section in spec["sections"]:
        for item in section["fields"]:
            yield section, item


def section_by_key(spec: dict[str, Any], key: str) -> dict[str, Any] | None:
    return next((section for section in spec["sections"] if section["key"] == key), None)
