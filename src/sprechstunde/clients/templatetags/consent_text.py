"""Renders a consent text: paragraphs split by blank lines; a short first line heads its block."""

from __future__ import annotations

from django import template
from django.conf import settings
from django.utils.html import escape, format_html_join
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

# A first line up to this length, followed by more lines, reads as the block's heading.
_HEADING_MAX = 60


@register.filter
def consent_body(text: str, heading_level: int = 3) -> SafeString:
    """Plain text in, escaped HTML out: <hN> for short leading lines, <p> for the rest."""
    level = min(max(int(heading_level), 2), 6)
    parts: list[str] = []
    for block in str(text or "").replace("\r\n", "\n").split("\n\n"):
        lines = [line.strip() for line in block.strip().split("\n") if line.strip()]
        if not lines:
            continue
        if len(lines) > 1 and len(lines[0]) <= _HEADING_MAX:
            parts.append(f"<h{level}>{escape(lines[0])}</h{level}>")
            lines = lines[1:]
        parts.append(str(format_html_join("", "<p>{}</p>", ((line,) for line in lines))))
    return mark_safe("".join(parts))  # noqa: S308 (every piece was escaped above)


@register.simple_tag
def binding_german_text(text: object) -> object:
    """The German text of the same purpose, when `text` is a translation: only the German
    text is binding (issue 13), so a translated text always names it and shows it one tap
    away. None for a German text."""
    language = getattr(text, "language", "")
    if not language or language == settings.LANGUAGE_CODE:
        return None
    from sprechstunde.clients.selectors import consent_text_current

    return consent_text_current(
        purpose=getattr(text, "purpose", ""), language=settings.LANGUAGE_CODE
    )
