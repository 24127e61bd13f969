"""The shape of a paper: sections of paragraphs, lists and tables, rendered as Markdown or HTML."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Section:
    heading: str
    paragraphs: tuple[str, ...] = ()
    items: tuple[str, ...] = ()
    table: Table | None = None


@dataclass(frozen=True)
class Paper:
    """One document the data-protection officer signs or files; `slug` names its file."""

    slug: str
    title: str
    intro: tuple[str, ...]
    sections: tuple[Section, ...] = field(default_factory=tuple)

    @property
    def filename(self) -> str:
        return f"{self.slug}.md"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def paper_markdown(paper: Paper, *, source: str) -> str:
    """The paper as Markdown, headed by where its facts came from."""
    lines = [f"# {paper.title}", "", f"<!-- {source} -->", ""]
    for paragraph in paper.intro:
        lines += [paragraph, ""]
    for section in paper.sections:
        lines += [f"## {section.heading}", ""]
        for paragraph in section.paragraphs:
            lines += [paragraph, ""]
        if section.items:
            lines += [f"- {item}" for item in section.items] + [""]
        if section.table is not None:
            lines.append("| " + " | ".join(_cell(h) for h in section.table.headers) + " |")
            lines.append("|" + "|".join(" --- " for _ in section.table.headers) + "|")
            lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in section.table.rows]
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"
