"""The bidi filters: values that keep their own direction inside right-to-left text."""

from __future__ import annotations

from django.template import Context, Template


def render(source: str, **context: object) -> str:
    return Template("{% load bidi %}" + source).render(Context(context))


def test_ltr_isolates_and_escapes() -> None:
    assert render("{{ value|ltr }}", value="+49 151 <1>") == (
        '<bdi dir="ltr" class="ltr-value">+49 151 &lt;1&gt;</bdi>'
    )


def test_ltr_keeps_its_markup_inside_blocktranslate() -> None:
    html = render(
        "{% load i18n %}{% blocktranslate with number=value|ltr %}Call {{ number }}."
        "{% endblocktranslate %}",
        value="+4915123456789",
    )
    assert html == 'Call <bdi dir="ltr" class="ltr-value">+4915123456789</bdi>.'


def test_empty_values_stay_empty() -> None:
    assert render("[{{ value|ltr }}][{{ value|ltr_text }}]", value="") == "[][]"


def test_plain_text_form_uses_isolate_controls() -> None:
    assert render("{{ value|ltr_text }}", value="a-b@example.org") == "\u2066a-b@example.org\u2069"
