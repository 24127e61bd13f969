"""The papers for the data-protection officer, built from a Configuration.

`papers_build(config=...)` gives the four papers; `paper_markdown` renders one as Markdown.
"""

from __future__ import annotations

from ..configuration import Configuration
from .dpia import dpia_paper
from .measures import measures_paper
from .processors import processors_paper, recipients
from .records import records_paper
from .structure import Paper, Section, Table, paper_markdown

__all__ = [
    "Paper",
    "Section",
    "Table",
    "paper_markdown",
    "papers_build",
    "recipients",
]


def papers_build(*, config: Configuration) -> list[Paper]:
    """Record of processing, DPIA draft, TOMs, processors: in the order a DPO files them."""
    return [
        records_paper(config),
        dpia_paper(config),
        measures_paper(config),
        processors_paper(config),
    ]
