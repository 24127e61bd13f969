"""Text that keeps its own direction inside Arabic and Persian pages (issue 13, point 3).

Phone numbers, e-mail addresses and numeric dates are written left to right in every
language. Inside right-to-left text the Unicode bidi algorithm would move their "+", "-" or
trailing "." to the other end ("4915123456789+"); an isolate keeps them as written.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


@register.filter
def ltr(value: Any) -> SafeString | str:
    """`value` as a left-to-right isolate that wraps as a whole (an e-mail address is not
    broken at its hyphen); empty stays empty."""
    if value in (None, ""):
        return ""
    return format_html('<bdi dir="ltr" class="ltr-value">{}</bdi>', value)


@register.filter
def ltr_text(value: Any) -> str:
    """The plain-text form of `ltr` (for texts without markup: allauth's flash messages,
    which it stores unescaped): between LEFT-TO-RIGHT ISOLATE and POP DIRECTIONAL ISOLATE."""
    if value in (None, ""):
        return ""
    return f"\u2066{value}\u2069"
