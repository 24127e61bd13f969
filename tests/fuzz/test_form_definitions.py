"""Field definitions of decision templates (JSON an admin types) and the values a case
manager types into them: any JSON is either accepted as sound fields or reported with
messages; any input for accepted fields is either a clean value or a message per field.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from hypothesis import event, given
from hypothesis import strategies as st

from sprechstunde.agreements import rendering
from sprechstunde.agreements.choices import FieldType
from sprechstunde.agreements.models import DecisionTemplate

from .profiles import budget

pytestmark = pytest.mark.fuzz

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=15,
)
_near_names = st.one_of(
    st.from_regex(r"[a-z_][a-z0-9_]{0,39}", fullmatch=True),
    st.from_regex(r"[a-z_][a-z0-9_]{0,45}\n?", fullmatch=True),
    st.text(max_size=50),
    _json,
)
_field = st.fixed_dictionaries(
    {},
    optional={
        "name": _near_names,
        "type": st.sampled_from([*FieldType.values, "TEXT", "file", ""]) | _json,
        "label": _json,
        "required": _json,
        "choices": st.lists(st.text(max_size=10), max_size=4) | _json,
        "help": _json,
    },
)
# Nearly sound definitions, so that the accepting branch is exercised as much as the refusals.
_nearly_sound = st.lists(
    st.fixed_dictionaries(
        {
            "name": st.one_of(
                st.from_regex(r"[a-z_][a-z0-9_]{0,39}", fullmatch=True),
                st.from_regex(r"[a-zA-Z_][a-z0-9_]{0,45}\n?", fullmatch=True),
            ),
            "type": st.sampled_from(FieldType.values),
            "choices": st.lists(st.text(min_size=1, max_size=5), min_size=1, max_size=3),
        }
    ),
    min_size=1,
    max_size=3,
)
definitions = st.one_of(_json, _nearly_sound, st.lists(st.one_of(_field, _json), max_size=45))


def _template(fields: object) -> DecisionTemplate:
    return DecisionTemplate(
        key="fuzz",
        title="Fuzz",
        body="Text",
        legal_remedy="Widerspruch binnen eines Monats.",
        fields=fields,
    )


def _assert_messages(error: ValidationError) -> None:
    assert error.message_dict
    for messages in error.message_dict.values():
        assert messages and all(str(message).strip() for message in messages)


@budget(ci=400)
@given(fields=definitions)
def test_any_definition_is_accepted_as_sound_fields_or_reported(fields):
    template = _template(fields)
    try:
        rendering.decision_template_check(template)
    except ValidationError as error:
        _assert_messages(error)
        event("reported")
        return
    event("accepted")
    specs = rendering.field_specs(template)
    assert len(specs) == len(fields) <= rendering.MAX_FIELDS
    assert len({spec.name for spec in specs}) == len(specs)
    for spec in specs:
        assert rendering.FIELD_NAME.fullmatch(spec.name), spec.name
        assert "\n" not in spec.name
        assert spec.type in FieldType.values
        if spec.type == FieldType.CHOICE:
            assert spec.choices and all(isinstance(c, str) and c for c in spec.choices)


_inputs = st.one_of(
    st.none(),
    st.integers(),
    st.floats(),
    st.text(),
    st.text(st.sampled_from(list("-+0123456789.,€ eE_\n\r\t")), max_size=20),
    st.sampled_from(["2026-01-15", "20260115", "2026-W03-4", "NaN", "-Infinity", "1e999", "--5"]),
    _json,
)


@budget(ci=300)
@given(
    fields=st.lists(
        st.fixed_dictionaries(
            {
                "name": st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True),
                "type": st.sampled_from(FieldType.values),
                "required": st.booleans(),
                "choices": st.lists(st.text(min_size=1, max_size=10), min_size=1, max_size=3),
            }
        ),
        max_size=6,
        unique_by=lambda field: field["name"],
    ),
    data=st.data(),
)
def test_any_input_for_sound_fields_is_a_clean_value_or_a_message(fields, data):
    template = _template(fields)
    rendering.decision_template_check(template)
    raw = {field["name"]: data.draw(_inputs) for field in fields}
    values, errors = rendering.decision_values_clean(template, raw)
    assert set(values) == {field["name"] for field in fields}
    assert set(errors) <= set(values)
    assert all(isinstance(message, str) and message.strip() for message in errors.values())
    for spec in rendering.field_specs(template):
        if spec.name in errors:
            continue
        # A clean value is stored and shown later: it must stay clean and displayable.
        again, again_errors = rendering.decision_values_clean(template, {**raw, **values})
        assert again[spec.name] == values[spec.name] and spec.name not in again_errors
        assert isinstance(rendering.value_display(spec, values[spec.name]), str)


def test_a_field_name_with_a_trailing_new_line_is_refused():
    """Found by the fuzzer: `$` in the name pattern let "betrag\\n" through."""
    with pytest.raises(ValidationError) as caught:
        rendering.decision_template_check(_template([{"name": "betrag\n", "type": "text"}]))
    assert len(caught.value.message_dict["fields"]) == 1


def test_a_number_with_two_minus_signs_is_a_message_not_a_crash():
    """Found by the fuzzer: "--5" passed the whole-number test and int() then raised."""
    template = _template([{"name": "anzahl", "type": "number"}])
    values, errors = rendering.decision_values_clean(template, {"anzahl": "--5"})
    assert values == {"anzahl": ""} and set(errors) == {"anzahl"}
    values, errors = rendering.decision_values_clean(template, {"anzahl": "-5"})
    assert values == {"anzahl": "-5"} and errors == {}


def test_a_lone_carriage_return_is_a_line_end():
    """Found by the fuzzer: "0\\r\\r\\n0" was stored as "0\\r\\n0", which changed when cleaned
    again; and a one-line text field took a CR as part of its line."""
    template = _template([{"name": "notiz", "type": "textarea"}, {"name": "zeile"}])
    values, errors = rendering.decision_values_clean(
        template, {"notiz": "0\r\r\n0", "zeile": "a\rb"}
    )
    assert values["notiz"] == "0\n\n0"
    assert set(errors) == {"zeile"}
