"""Decision templates (ADR 0031: placeholders only). For any template text, with any
placeholder-like syntax (`{{`, `{%`, `{#`, `{x}`, unknown names, nested braces, unicode):
the check either accepts it or reports what is wrong; an accepted template renders to
escaped HTML in which every placeholder is replaced by its own field's value only, so no
template tag runs and no other value (nor anything from the context) can appear.
"""

from __future__ import annotations

import html
import re

import pytest
from django.core.exceptions import ValidationError
from hypothesis import event, given
from hypothesis import strategies as st

from sprechstunde.agreements import rendering
from sprechstunde.agreements.models import DecisionTemplate

from .profiles import budget

pytestmark = pytest.mark.fuzz

FIELDS = [
    {"name": "betrag", "type": "money"},
    {"name": "datum", "type": "date"},
    {"name": "text", "type": "textarea"},
    {"name": "anzahl", "type": "number", "required": False},
]
VALUES = {"betrag": "12.50", "datum": "2026-01-15", "anzahl": "3"}
# A value that only the template's own placeholders could bring into the output: it is in the
# values handed to rendering (as a view might), but under a name that is no field.
SECRET = "Qx7SecretValueQx7"

_fragments = st.sampled_from(
    [
        "{{",
        "}}",
        "{%",
        "%}",
        "{#",
        "#}",
        "{",
        "}",
        "{x}",
        "{{ betrag }}",
        "{{datum}}",
        "{{ text }}",
        "{{  anzahl\t}}",
        "{{ secret }}",
        "{{ geheim }}",
        "{{ betrag|safe }}",
        "{{ betrag.__class__ }}",
        "{% now 'Y' %}",
        "{% include 'x.html' %}",
        "{% debug %}",
        "{{ settings.SECRET_KEY }}",
        "{{{ betrag }}}",
        "{ { betrag } }",
        "{{ BETRAG }}",
        "{{ bet\u0430rag }}",  # a Cyrillic a
        "<script>alert(1)</script>",
        "&amp;",
        "\n",
        "\r\n",
        "\n\n",
        "\u2028",
        "ä€😀",
        " ",
    ]
)
texts = st.one_of(
    st.lists(st.one_of(_fragments, st.text(max_size=8)), max_size=25).map("".join),
    st.text(),
)


@st.composite
def field_values(draw: st.DrawFn) -> dict[str, str]:
    return {
        **VALUES,
        "text": draw(st.text(max_size=40) | st.sampled_from(["{{ betrag }}", "{% debug %}"])),
        "secret": SECRET,
        "geheim": SECRET,
    }


# The lint wants a Rechtsbehelfsbelehrung naming the Widerspruch and its one-month limit.
REMEDY = "Widerspruch binnen eines Monats. "


def _template(body: str, legal_remedy: str = REMEDY) -> DecisionTemplate:
    return DecisionTemplate(
        key="fuzz", title="Fuzz", body=body, legal_remedy=legal_remedy, fields=FIELDS
    )


def _expected_text(body: str, template: DecisionTemplate, values: dict[str, str]) -> str:
    """The placeholders replaced by hand (names of fields only), nothing else touched."""
    specs = {spec.name: spec for spec in rendering.field_specs(template)}
    pieces = []
    position = 0
    for match in re.finditer(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}", body):
        pieces.append(body[position : match.start()])
        if match.group(1) in rendering.OFFICE_PLACEHOLDERS:
            pieces.append(rendering.office_values()[match.group(1)])
        else:
            spec = specs[match.group(1)]  # accepted templates use declared fields only
            pieces.append(rendering.value_display(spec, values.get(spec.name, "")))
        position = match.end()
    pieces.append(body[position:])
    return "".join(pieces)


@budget(ci=500)
@given(body=texts, legal_remedy=st.one_of(texts, texts.map(REMEDY.__add__)), values=field_values())
def test_any_template_text_is_rendered_with_field_values_only_or_reported(
    body, legal_remedy, values
):
    template = _template(body, legal_remedy)
    try:
        rendering.decision_template_check(template)
    except ValidationError as error:
        event("reported")
        assert error.message_dict
        for messages in error.message_dict.values():
            assert messages and all(str(message).strip() for message in messages)
        return
    event("accepted")
    for text in (body, legal_remedy):
        # What the check accepts holds no template syntax but whole, known placeholders.
        names = "betrag|datum|text|anzahl|" + "|".join(rendering.OFFICE_PLACEHOLDERS)
        rest = re.sub(r"\{\{\s*(" + names + r")\s*\}\}", "", text)
        assert not re.search(r"\{\{|\}\}|\{%|%\}|\{#|#\}", rest)
    filled = rendering.fill_placeholders(body, template, values)
    assert filled == _expected_text(body, template, values)
    if SECRET not in body:
        assert SECRET not in filled
    rendered = str(rendering.decision_body_html(template, values))
    markup = re.sub(r"</?p>|<br>", "", rendered)
    assert "<" not in markup and ">" not in markup  # everything typed is escaped
    assert html.unescape(markup).replace("\n", "") == "".join(
        block.strip().replace("\n", "")
        for block in re.split(r"\n\s*\n", filled.replace("\r\n", "\n"))
    )
    assert isinstance(rendering.text_html(legal_remedy), str)


@given(text=texts)
def test_syntax_errors_are_messages_for_any_text(text):
    errors = rendering.syntax_errors(text, known={"betrag"})
    assert all(isinstance(message, str) and message.strip() for message in errors)
    assert isinstance(rendering.placeholders_in(text), list)
