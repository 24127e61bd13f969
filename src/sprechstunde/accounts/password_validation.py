"""Passwords must not be built around the words of this service (OWASP ASVS 6.1.2, 6.2.11).

CONTEXT_WORDS is the documented list; the parts of the Jobcenter's own name (JOBCENTER_NAME)
are added to it. Common digit-for-letter swaps ("Spr3chstunde") do not get around it.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

CONTEXT_WORDS = (
    "sprechstunde",
    "jobcenter",
    "arbeitsagentur",
    "buergergeld",
    "bürgergeld",
    "grundsicherung",
    "fallmanager",
    "fallmanagerin",
    "kooperationsplan",
    "bescheid",
    "teamleitung",
    "datenschutz",
    "administrator",
)
MIN_WORD_LENGTH = 4
_SWAPS = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "$": "s", "@": "a", "!": "i"}
)


def context_words() -> set[str]:
    """The documented words plus the parts of the Jobcenter's name."""
    words = set(CONTEXT_WORDS)
    for text in (settings.JOBCENTER_NAME,):
        words |= {
            part for part in re.split(r"[\W_]+", text.lower()) if len(part) >= MIN_WORD_LENGTH
        }
    return words


class ContextWordsValidator:
    """Refuses a password that contains a context word, also with common digit swaps."""

    def validate(self, password: str, user: Any = None) -> None:
        flat = re.sub(r"[\W_]+", "", password.lower().translate(_SWAPS))
        found = sorted(word for word in context_words() if re.sub(r"\W+", "", word) in flat)
        if found:
            raise ValidationError(
                _("The password must not contain “%(word)s”: it is easy to guess here."),
                code="password_context_word",
                params={"word": found[0]},
            )

    def get_help_text(self) -> str:
        return _("Your password must not contain the name of the Jobcenter or of this service.")
