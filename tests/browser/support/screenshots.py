"""Numbered screenshots of each step: test-artifacts/screenshots/<test>/NN-name.png."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Page

ARTIFACTS_DIR = Path(__file__).resolve().parents[3] / "test-artifacts"
SCREENSHOTS_DIR = ARTIFACTS_DIR / "screenshots"


def slug(text: str, max_length: int = 80) -> str:
    """A file-name-safe version of a test name or step name."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.")
    return cleaned[:max_length] or "step"


class Screenshots:
    """Takes numbered screenshots into one folder per test (emptied when the test starts)."""

    def __init__(self, test_name: str) -> None:
        self.directory = SCREENSHOTS_DIR / slug(test_name, 120)
        if self.directory.exists():
            shutil.rmtree(self.directory)
        self.directory.mkdir(parents=True)
        self.count = 0

    def take(self, page: Page, name: str, *, full_page: bool = True) -> Path:
        self.count += 1
        path = self.directory / f"{self.count:02d}-{slug(name)}.png"
        # scale="css": a 360 px phone page gives a 360 px wide image, not 720 px (faster).
        page.screenshot(path=str(path), full_page=full_page, animations="disabled", scale="css")
        return path

    __call__ = take
