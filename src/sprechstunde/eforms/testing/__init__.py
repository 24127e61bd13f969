"""Test helpers of the form engine (never imported by production code): a small definition
that uses every field type, for the engine's own tests."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

SAMPLE_PATH = Path(__file__).resolve().parent / "engine_sample.json"
_SAMPLE: dict[str, Any] = json.loads(SAMPLE_PATH.read_text(encoding="utf-8"))


def sample_spec() -> dict[str, Any]:
    """A fresh copy of the engine's sample definition (slug `engine_sample`)."""
    return copy.deepcopy(_SAMPLE)
