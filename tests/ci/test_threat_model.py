"""docs/threat-model.md cannot rot: every component has its section and every row a real test."""

from __future__ import annotations

import re

from tests.ci.node_ids import ROOT, missing_node_ids, node_ids_in

DOC = ROOT / "docs" / "threat-model.md"
COMPONENTS = (
    "Browser",
    "App",
    "Worker",
    "PostgreSQL",
    "Redis",
    "Object storage",
    "coturn",
    "TSA and CSC",
    "SMTP relay",
    "SMS gateway",
)


def sections() -> dict[str, str]:
    parts = re.split(r"^## ", DOC.read_text(encoding="utf-8"), flags=re.MULTILINE)[1:]
    return {part.splitlines()[0]: part for part in parts}


def threat_rows(text: str) -> list[str]:
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    return [row for row in rows if not row.startswith(("| Threat ", "| ---"))]


def test_every_component_and_boundary_has_its_section():
    headings = sections()

    for component in COMPONENTS:
        assert any(h.startswith(component) for h in headings), component


def test_every_threat_names_a_test_that_proves_its_mitigation():
    for heading, text in sections().items():
        rows = threat_rows(text)
        assert rows, f"{heading} lists no threats"
        for row in rows:
            assert node_ids_in(row), f"no test named in: {row[:80]}"


def test_every_named_test_exists():
    text = DOC.read_text(encoding="utf-8")

    assert missing_node_ids(text) == []


def test_the_check_finds_a_test_that_does_not_exist():
    text = "`src/sprechstunde/audit/tests/test_verify.py::test_this_test_was_renamed`"

    assert missing_node_ids(text) == [
        "src/sprechstunde/audit/tests/test_verify.py::test_this_test_was_renamed"
    ]
