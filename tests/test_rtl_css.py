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
SHEETS = sorted(SRC.rglob("*.css"))


def test_there_are_stylesheets_to_check() -> None:
    assert len(SHEETS) >= 3


@pytest.mark.parametrize("sheet", SHEETS, ids=lambda path: str(path.relative_to(SRC)))
def test_no_physical_left_or_right_in_stylesheets(sheet: Path) -> None:
    found = [
        f"{number}: {line.strip()}"
        for number, line in enumerate(sheet.read_text(encoding="utf-8").splitlines(), start=1)
        if PHYSICAL.search(line)
    ]
    assert not found, found


def test_the_check_finds_what_it_is_for() -> None:
    assert PHYSICAL.search(".a { margin-left: 1rem; }")
    assert PHYSICAL.search(".a { left: 0; }")
    assert PHYSICAL.search(".a { text-align: right; }")
    assert not PHYSICAL.search(".a { margin-inline-start: 1rem; inset-inline-start: 0; }")
    assert not PHYSICAL.search(".a { text-align: start; }")
