"""Right to left (issue 13, point 3): the stylesheets use logical properties only, so Arabic
and Persian pages mirror by `dir="rtl"` alone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "sprechstunde"
PHYSICAL = re.compile(
    r"(?<![\w-])(?:margin-left|margin-right|padding-left|padding-right|border-left|border-right"
    r"|left|right|float|clear)\s*:|text-align:\s*(?:left|right)\b"
)
# A four-value shorthand names top, right, bottom, left: when right and left differ, it is
# physical too (`inset: auto auto .5rem .5rem` stays on the left in Arabic).
FOUR_SIDES = re.compile(
    r"(?<![\w-])(inset|margin|padding|border-width|border-style|border-color)\s*:\s*([^;{}]+)"
)
SHEETS = sorted(SRC.rglob("*.css"))
# Paged media with a physical layout: the PDFs in German with a binding edge, and the letters,
# whose address must sit in the envelope's window on the paper's left (DIN 5008) whatever the
# language's reading direction.
LETTER_SHEET = "agreements/templates/agreements/pdf/letter.css"
# The window block shared by letters and decisions (DIN 5008), physical for the same reason.
WINDOW_SHEET = "agreements/templates/agreements/pdf/window.css"
PHYSICAL_SHEETS = {LETTER_SHEET, WINDOW_SHEET}
PRINT_SHEETS = {"agreements/templates/agreements/pdf/document.css", *PHYSICAL_SHEETS}


def _split_values(text: str) -> list[str]:
    """The values of a shorthand, with calc(...) and var(...) kept whole."""
    values, depth, current = [], 0, ""
    for char in text.replace("!important", "").strip():
        depth += (char == "(") - (char == ")")
        if char.isspace() and depth == 0:
            if current:
                values.append(current)
            current = ""
        else:
            current += char
    if current:
        values.append(current)
    return values


def one_sided_shorthands(line: str) -> list[str]:
    """Four-value shorthands on `line` whose right and left values differ."""
    return [
        match.group(0).strip()
        for match in FOUR_SIDES.finditer(line)
        if len(values := _split_values(match.group(2))) == 4 and values[1] != values[3]
    ]


def test_there_are_stylesheets_to_check() -> None:
    assert len(SHEETS) >= 3


@pytest.mark.parametrize(
    "sheet",
    [sheet for sheet in SHEETS if str(sheet.relative_to(SRC)) not in PHYSICAL_SHEETS],
    ids=lambda path: str(path.relative_to(SRC)),
)
def test_no_physical_left_or_right_in_stylesheets(sheet: Path) -> None:
    found = [
        f"{number}: {line.strip()}"
        for number, line in enumerate(sheet.read_text(encoding="utf-8").splitlines(), start=1)
        if PHYSICAL.search(line)
    ]
    assert not found, found


@pytest.mark.parametrize(
    "sheet",
    [sheet for sheet in SHEETS if str(sheet.relative_to(SRC)) not in PRINT_SHEETS],
    ids=lambda path: str(path.relative_to(SRC)),
)
def test_no_one_sided_four_value_shorthands(sheet: Path) -> None:
    found = [
        f"{number}: {item}"
        for number, line in enumerate(sheet.read_text(encoding="utf-8").splitlines(), start=1)
        for item in one_sided_shorthands(line)
    ]
    assert not found, found


def test_the_shorthand_check_finds_what_it_is_for() -> None:
    assert one_sided_shorthands(".a { inset: auto auto .5rem .5rem; }")
    assert one_sided_shorthands(".a { margin: 0 1rem 0 0; }")
    assert one_sided_shorthands(".a { padding: 0 calc(1rem + 2px) 0 var(--x); }")
    assert not one_sided_shorthands(".a { padding: .35rem .25rem calc(.35rem + env(x, 0px)); }")
    assert not one_sided_shorthands(".a { margin: 0 1rem 0 1rem; inset: 0; }")
    assert not one_sided_shorthands(".a { border-radius: 12px 12px 0 0; }")


def test_the_check_finds_what_it_is_for() -> None:
    assert PHYSICAL.search(".a { margin-left: 1rem; }")
    assert PHYSICAL.search(".a { left: 0; }")
    assert PHYSICAL.search(".a { text-align: right; }")
    assert not PHYSICAL.search(".a { margin-inline-start: 1rem; inset-inline-start: 0; }")
    assert not PHYSICAL.search(".a { text-align: start; }")
