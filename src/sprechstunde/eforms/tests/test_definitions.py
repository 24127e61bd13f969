"""The validator and loader of form definitions (ADR 0087)."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from sprechstunde.eforms.definitions import (
    DefinitionError,
    definition_file_read,
    definition_parse,
    definition_validate,
    definitions_load,
)
from sprechstunde.eforms.models import FormDefinition
from sprechstunde.eforms.testing import sample_spec


def problems_of(spec) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        definition_validate(spec, source="bad.json")
    return caught.value.problems


def test_sample_definition_is_valid():
    definition_validate(sample_spec(), source="engine_sample.json")


def test_missing_language_is_named_with_its_json_path():
    spec = sample_spec()
    del spec["sections"][1]["fields"][0]["label"]["fa"]
    problems = problems_of(spec)
    assert problems == ["$.sections[1].fields[0].label: lacks the language(s) fa"]


def test_error_message_names_the_file():
    spec = sample_spec()
    spec["sections"][0]["title"]["ar"] = " "
    with pytest.raises(DefinitionError) as caught:
        definition_validate(spec, source="umzug.json")
    assert str(caught.value) == "umzug.json: $.sections[0].title.ar: must be a non-empty string"


def test_unknown_type_is_refused():
    spec = sample_spec()
    spec["sections"][0]["fields"][0]["type"] = "colour"
    problems = problems_of(spec)
    assert len(problems) == 1
    assert problems[0].startswith("$.sections[0].fields[0].type: unknown type 'colour'")


def test_show_if_pointing_at_a_later_field_is_refused():
    spec = sample_spec()
    spec["sections"][0]["fields"][0]["show_if"] = {"field": "has_household", "equals": "yes"}
    assert problems_of(spec) == [
        '$.sections[0].fields[0].show_if.field: points at "has_household", which is not a '
        "field placed before"
    ]


def test_show_if_with_a_value_the_choice_does_not_have_is_refused():
    spec = sample_spec()
    spec["sections"][2]["fields"][3]["show_if"] = {"field": "reason", "equals": "holiday"}
    assert problems_of(spec) == [
        '$.sections[2].fields[3].show_if: "holiday" is not a value of field "reason"'
    ]


def test_section_show_if_can_point_at_an_earlier_section():
    spec = sample_spec()
    spec["sections"][3]["show_if"] = {"field": "reason", "in": ["job", "other"]}
    definition_validate(spec, source="ok.json")


def test_duplicate_field_keys_are_refused_also_inside_groups():
    spec = sample_spec()
    spec["sections"][2]["fields"][1]["fields"][0]["key"] = "iban"
    assert problems_of(spec) == [
        '$.sections[2].fields[1].fields[0].key: "iban" is used by another field'
    ]


def test_duplicate_section_keys_and_choice_values_are_refused():
    spec = sample_spec()
    spec["sections"][1]["key"] = "bank"
    spec["sections"][2]["fields"][2]["options"][0]["value"] = "other"
    assert problems_of(spec) == [
        '$.sections[1].key: "bank" is used by another section',
        '$.sections[2].fields[2].options[1].value: "other" is used by another option',
    ]


def test_duplicate_names_in_the_json_text_are_refused():
    text = '{"format": 1, "slug": "a", "slug": "b"}'
    with pytest.raises(DefinitionError) as caught:
        definition_parse(text, source="twice.json")
    assert 'twice.json: $: the name "slug" appears twice' in str(caught.value)


def test_broken_json_names_line_and_column():
    with pytest.raises(DefinitionError) as caught:
        definition_parse('{"format": 1,\n  "slug": }', source="broken.json")
    assert "broken.json: $: not valid JSON (line 2, column 11)" in str(caught.value)


def test_not_before_must_be_an_earlier_date_field():
    spec = sample_spec()
    spec["sections"][1]["fields"][0]["not_before"] = "job_end"
    spec["sections"][1]["fields"][2]["type"] = "date"
    spec["sections"][1]["fields"][2].pop("min")
    spec["sections"][1]["fields"][2].pop("max")
    spec["sections"][1]["fields"][2]["not_before"] = "account_holder"
    assert problems_of(spec) == [
        '$.sections[1].fields[0].not_before: points at "job_end", which is not a field placed '
        "before",
        '$.sections[1].fields[2].not_before: "account_holder" is not a date field',
    ]


def test_min_greater_than_max_and_typos_in_options_are_refused():
    spec = sample_spec()
    spec["sections"][1]["fields"][3]["min"] = 70
    spec["sections"][0]["fields"][1]["requried"] = True
    assert problems_of(spec) == [
        "$.sections[0].fields[1].requried: is not a known option here",
        "$.sections[1].fields[3]: min (70) is greater than max (60)",
    ]


def test_groups_cannot_nest_groups_or_attachments():
    spec = sample_spec()
    spec["sections"][2]["fields"][1]["fields"].append(
        {"key": "photo", "type": "attachment", "label": spec["sections"][3]["fields"][1]["label"]}
    )
    assert problems_of(spec) == [
        "$.sections[2].fields[1].fields[2].type: a group cannot hold a field of type attachment"
    ]


def test_format_bad_key_and_empty_sections_are_refused():
    spec = sample_spec()
    spec["format"] = 2
    spec["sections"][0]["fields"][0]["key"] = "Kontoinhaber"
    spec["sections"][3]["fields"] = []
    assert problems_of(spec) == [
        "$.format: must be 1 (found 2)",
        "$.sections[0].fields[0].key: must match [a-z][a-z0-9_]{0,59}",
        "$.sections[3].fields: must be a non-empty list",
    ]


def test_slug_must_be_the_file_name(tmp_path: Path):
    path = tmp_path / "other_name.json"
    path.write_text(json.dumps(sample_spec()), encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        definition_file_read(path)
    assert str(caught.value) == (
        'other_name.json: $.slug: "engine_sample" must be the file\'s name ("other_name")'
    )


def write(folder: Path, spec: dict, *, indent: int | None = 2) -> None:
    (folder / f"{spec['slug']}.json").write_text(json.dumps(spec, indent=indent), encoding="utf-8")


@pytest.mark.django_db
def test_load_makes_a_new_version_only_on_changed_content(tmp_path: Path):
    spec = sample_spec()
    write(tmp_path, spec)
    first = definitions_load(tmp_path)
    assert [(r.definition.version, r.created) for r in first] == [(1, True)]
    # The same content with other formatting loads nothing.
    write(tmp_path, spec, indent=None)
    again = definitions_load(tmp_path)
    assert [(r.definition.version, r.created) for r in again] == [(1, False)]
    spec["sections"][0]["title"]["de"] = "Ihr Konto"
    write(tmp_path, spec)
    changed = definitions_load(tmp_path)
    assert [(r.definition.version, r.created) for r in changed] == [(2, True)]
    rows = list(FormDefinition.objects.filter(slug="engine_sample").order_by("version"))
    assert [(row.version, row.is_current) for row in rows] == [(1, False), (2, True)]
    assert rows[1].spec["sections"][0]["title"]["de"] == "Ihr Konto"


@pytest.mark.django_db
def test_one_bad_file_loads_nothing_and_the_command_names_it(tmp_path: Path):
    write(tmp_path, sample_spec())
    bad = sample_spec()
    bad["slug"] = "kaputt"
    del bad["title"]["uk"]
    write(tmp_path, bad)
    with pytest.raises(CommandError) as caught:
        call_command("eforms_load", directory=str(tmp_path), stdout=StringIO())
    assert "kaputt.json: $.title: lacks the language(s) uk" in str(caught.value)
    assert not FormDefinition.objects.exists()


@pytest.mark.django_db
def test_command_loads_and_reports(tmp_path: Path):
    write(tmp_path, sample_spec())
    out = StringIO()
    call_command("eforms_load", directory=str(tmp_path), stdout=out)
    assert "engine_sample: version 1 (new version)" in out.getvalue()
    out = StringIO()
    call_command("eforms_load", directory=str(tmp_path), stdout=out)
    assert "engine_sample: version 1 (unchanged)" in out.getvalue()
    assert FormDefinition.objects.get().is_current


@pytest.mark.django_db
def test_shipped_definitions_folder_loads():
    # Whatever is shipped in eforms/definitions/ must pass the validator.
    definitions_load()
