"""Free text as staff type it into notes and letters, cleaned the same way everywhere."""

# mypy: disallow-untyped-defs, disallow-incomplete-defs

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext_lazy as _

from .errors import ApplicationError

_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_text(value: Any, *, limit: int, field: str, required: bool = False) -> str:
    """Text as stored: line ends unified, control characters removed, trimmed, bounded."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ApplicationError(_("Please enter text."), field=field)
    value = value.encode("utf-8", errors="replace").decode("utf-8")
    text = _CONTROL_CHARACTERS.sub("", value.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if required and not text:
        raise ApplicationError(_("Please fill in this field."), field=field)
    if len(text) > limit:
        raise ApplicationError(
            _("At most %(limit)d characters, please.") % {"limit": limit}, field=field
        )
    return text
