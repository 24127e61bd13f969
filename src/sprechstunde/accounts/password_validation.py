"""Passwords must not be built around the words of this service (OWASP ASVS 6.1.2, 6.2.11).

CONTEXT_WORDS is the documented list; the parts of the Jobcenter's own name (JOBCENTER_NAME)
are added to it. Common digit-for-letter swaps ("Spr3chstunde") do not get around it.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
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


class BreachedPasswordValidator:
    """Refuses a password found in an offline list of breached passwords (OWASP ASVS 6.2.12).

    BREACHED_PASSWORDS_FILE: upper-case SHA-1 hex digests sorted ascending, one a line, each
    optionally followed by ":count" (the Pwned Passwords download). Searched on disk by bisection.
    """

    def validate(self, password: str, user: Any = None) -> None:
        path = settings.BREACHED_PASSWORDS_FILE
        if not path:
            return
        digest = hashlib.sha1(password.encode(), usedforsecurity=False).hexdigest().upper()
        if sorted_digest_file_contains(Path(path), digest):
            raise ValidationError(
                _("This password is known from data breaches. Please choose another one."),
                code="password_breached",
            )

    def get_help_text(self) -> str:
        return _("Your password must not be one known from data breaches.")


def _line_key(line: bytes) -> bytes:
    return line.split(b":", 1)[0].strip().upper()


def sorted_digest_file_contains(path: Path, digest: str) -> bool:
    """Whether the sorted file has a line for `digest`; reads about log2(size) lines."""
    key = digest.upper().encode()
    with path.open("rb") as file:

        def first_line_from(position: int) -> bytes:
            # The first line that starts at or after `position`.
            file.seek(max(position - 1, 0))
            if position > 0:
                file.readline()
            return file.readline()

        low, high = 0, file.seek(0, 2)
        while low < high:
            middle = (low + high) // 2
            line = first_line_from(middle)
            if not line or _line_key(line) >= key:
                high = middle
            else:
                low = middle + 1
        line = first_line_from(low)
    return bool(line) and _line_key(line) == key
