"""Renders a consent text: paragraphs split by blank lines; a short first line heads its block."""

from __future__ import annotations

from django import template
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
