"""Statutory public holidays in Germany, to prefill the admin's list for one Land.

Nationwide holidays plus the extra ones of each Land (state law; regional holidays that
hold only in some municipalities, such as Augsburg's Friedensfest, are left to the admin).
"""

from __future__ import annotations

import datetime

NATIONWIDE = "nationwide"


def easter_sunday(year: int) -> datetime.date:
    """Easter Sunday in the Gregorian calendar (anonymous Gregorian algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    leap = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * leap) // 451
    month, day = divmod(h + leap - 7 * m + 114, 31)
    return datetime.date(year, month, day + 1)


def _repentance_day(year: int) -> datetime.date:
    """Buß- und Bettag: the Wednesday before 23 November."""
    day = datetime.date(year, 11, 22)
    return day - datetime.timedelta(days=(day.weekday() - 2) % 7)


# Extra holidays per Land (ISO 3166-2:DE codes), by key in `holidays_for`.
LAND_EXTRAS: dict[str, tuple[str, ...]] = {
    "BW": ("epiphany", "corpus_christi", "all_saints"),
    "BY": ("epiphany", "corpus_christi", "all_saints"),
    "BE": ("womens_day",),
    "BB": ("reformation",),
    "HB": ("reformation",),
    "HH": ("reformation",),
    "HE": ("corpus_christi",),
    "MV": ("womens_day", "reformation"),
    "NI": ("reformation",),
    "NW": ("corpus_christi", "all_saints"),
    "RP": ("corpus_christi", "all_saints"),
    "SL": ("corpus_christi", "assumption", "all_saints"),
    "SN": ("reformation", "repentance"),
    "ST": ("epiphany", "reformation"),
    "SH": ("reformation",),
    "TH": ("childrens_day", "reformation"),
}


def holidays_for(*, year: int, land: str) -> list[tuple[datetime.date, str]]:
    """(date, German name) of the statutory holidays of `land` in `year`, sorted by date."""
    land = land.upper()
    if land not in LAND_EXTRAS:
        raise ValueError(f"Unknown Land {land!r}; use one of {', '.join(sorted(LAND_EXTRAS))}.")
    easter = easter_sunday(year)

    def after_easter(days: int) -> datetime.date:
        return easter + datetime.timedelta(days=days)

    nationwide = [
        (datetime.date(year, 1, 1), "Neujahr"),
        (after_easter(-2), "Karfreitag"),
        (after_easter(1), "Ostermontag"),
        (datetime.date(year, 5, 1), "Tag der Arbeit"),
        (after_easter(39), "Christi Himmelfahrt"),
        (after_easter(50), "Pfingstmontag"),
        (datetime.date(year, 10, 3), "Tag der Deutschen Einheit"),
        (datetime.date(year, 12, 25), "1. Weihnachtstag"),
        (datetime.date(year, 12, 26), "2. Weihnachtstag"),
    ]
    extras = {
        "epiphany": (datetime.date(year, 1, 6), "Heilige Drei Könige"),
        "womens_day": (datetime.date(year, 3, 8), "Internationaler Frauentag"),
        "corpus_christi": (after_easter(60), "Fronleichnam"),
        "assumption": (datetime.date(year, 8, 15), "Mariä Himmelfahrt"),
        "childrens_day": (datetime.date(year, 9, 20), "Weltkindertag"),
        "reformation": (datetime.date(year, 10, 31), "Reformationstag"),
        "all_saints": (datetime.date(year, 11, 1), "Allerheiligen"),
        "repentance": (_repentance_day(year), "Buß- und Bettag"),
    }
    days = nationwide + [extras[key] for key in LAND_EXTRAS[land]]
    return sorted(days)
