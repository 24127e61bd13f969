"""Test ids named in documents (threat model, ASVS map, TOMs) must name tests that exist.

An id is `path/to/test_file.py::test_name` or `path/to/test_file.py::TestClass::test_name`,
relative to the repository root, optionally with a parameter suffix `[...]`. It exists when
the file parses and defines that function (at module level, or in that class).
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NODE_ID = re.compile(r"((?:src|tests)/[\w/]+\.py)::(\w+(?:::\w+)?)(?:\[[^\]\s]*\])?")


@cache
def _definitions(path: str) -> frozenset[str]:
    """Names `test_x` and `TestClass::test_x` defined in the file."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    names.add(f"{node.name}::{item.name}")
    return frozenset(names)


def node_ids_in(text: str) -> list[str]:
    """Every test id written in the text, in order, without parameter suffixes."""
    return [f"{match.group(1)}::{match.group(2)}" for match in NODE_ID.finditer(text)]


def node_id_exists(node_id: str) -> bool:
    path, _, name = node_id.partition("::")
    if not (ROOT / path).is_file() or not name.split("::")[-1].startswith("test_"):
        return False
    return name in _definitions(path)


def missing_node_ids(text: str) -> list[str]:
    """The ids in the text that name no existing test."""
    return [node_id for node_id in node_ids_in(text) if not node_id_exists(node_id)]
