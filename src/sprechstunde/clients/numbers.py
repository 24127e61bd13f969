"""The Jobcenter's numbers for a client and the folded keys that client search compares.

Kundennummer (customer number, § 51a SGB II): three digits, a capital letter, six digits,
"123D456789". BG-Nummer (number of the benefit community): the five-digit office number,
"BG", seven digits, "12345BG0012345". Both are written with or without spaces; we store them
without (ADR 0061).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from typing import Literal

from django.conf import settings

CUSTOMER_NUMBER_RE = re.compile(r"^[0-9]{3}[A-Z][0-9]{6}$")
BG_NUMBER_RE = re.compile(r"^[0-9]{5}BG[0-9]{7}$")
_SPACES = re.compile(r"[\s\-/.]")
# Letters NFKD does not take apart: the Turkish dotless i, ß, and letters with a stroke.
_NO_DECOMPOSITION = str.maketrans(
    {
        "\u0131": "i",
        "ß": "ss",
        "ẞ": "ss",
        "ø": "o",
        "Ø": "o",
        "đ": "d",
        "Đ": "d",
        "ł": "l",
        "Ł": "l",
        "æ": "ae",
        "Æ": "ae",
        "œ": "oe",
        "Œ": "oe",
        "þ": "th",
    }
)
# The German way of writing umlauts without them: "Müller" is also found as "Mueller".
_GERMAN_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "ae", "Ö": "oe", "Ü": "ue"})

SearchKind = Literal["name", "customer_number", "bg_number", "email", "phone"]


def compact_number(value: str) -> str:
    """A number as typed ("123 D 456789") in the stored form ("123D456789")."""
    return _SPACES.sub("", value or "").upper()


def is_customer_number(value: str) -> bool:
    return bool(CUSTOMER_NUMBER_RE.match(value))


def is_bg_number(value: str) -> bool:
    return bool(BG_NUMBER_RE.match(value))


def fold(text: str) -> str:
    """Lower case without diacritics, one space between words: "Y\u0131lmaz" → "yilmaz"."""
    decomposed = unicodedata.normalize("NFKD", (text or "").translate(_NO_DECOMPOSITION))
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(bare.casefold().split())


def name_search_key(first_name: str, last_name: str) -> str:
    """What a name search compares: the folded name, and its "ue" spelling when different."""
    name = f"{first_name} {last_name}"
    keys = dict.fromkeys([fold(name), fold(name.translate(_GERMAN_UMLAUTS))])
    return " | ".join(keys)


def phone_digits(value: str) -> str:
    """A phone number as digits in national form: "+49 170 123" and "0170 123" agree."""
    digits = re.sub(r"[^0-9+]", "", value or "")
    if digits.startswith("+49"):
        digits = "0" + digits[3:]
    elif digits.startswith("0049"):
        digits = "0" + digits[4:]
    return digits.replace("+", "")


def search_kind(term: str) -> SearchKind:
    """Which field a search term is meant for, judged by its form alone."""
    compact = compact_number(term)
    if is_bg_number(compact) or re.fullmatch(r"[0-9]{0,5}BG[0-9]{1,7}", compact):
        return "bg_number"
    if is_customer_number(compact):
        return "customer_number"
    if "@" in term:
        return "email"
    stripped = re.sub(r"[\s\-/().]", "", term)
    if re.fullmatch(r"\+?[0-9]{4,20}", stripped):
        return "phone"
    return "name"


def search_term_digest(term: str) -> str:
    """A keyed hash of a search term for the audit trail: equal searches can be told apart
    from different ones by those who hold the key, but the term is never stored."""
    key = hashlib.sha256(b"client-search\x1f" + settings.SECRET_KEY.encode()).digest()
    return hmac.new(key, fold(term).encode(), hashlib.sha256).hexdigest()[:32]
