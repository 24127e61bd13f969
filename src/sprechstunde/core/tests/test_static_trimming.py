"""Production's static storage trims comments and indentation from JavaScript and CSS
(docs/decisions/0074): what is code stays byte for byte, each line keeps its number, and a
file whose text could hide comment-like content (template literals, continued strings) is
left alone."""

from __future__ import annotations

from pathlib import Path

from django.core.files.base import ContentFile

from sprechstunde.core.staticfiles import ModuleAwareStaticFilesStorage, trim_source

SOURCE = """/* A module.
 * Why it exists. */
import { a } from "./a.js";

// Why this is so.
export function f(x) {
  var url = "wss://" + x; // a comment after code stays
  /* inline */ return url.replace(/\\/+/g, "/");
}
"""


def test_whole_line_comments_and_indentation_go_and_line_numbers_stay() -> None:
    trimmed = trim_source(SOURCE)
    assert trimmed.split("\n") == [
        "",
        "",
        'import { a } from "./a.js";',
        "",
        "",
        "export function f(x) {",
        'var url = "wss://" + x; // a comment after code stays',
        'return url.replace(/\\/+/g, "/");',
        "}",
        "",
    ]


def test_css_comments_and_indentation_go() -> None:
    css = "/* Call page. */\n.a {\n  color: red; /* why */\n}\n/* one\n   two */ .b { margin: 0 }\n"
    assert trim_source(css) == "\n.a {\ncolor: red; /* why */\n}\n\n.b { margin: 0 }\n"


def test_files_with_template_literals_or_continued_strings_are_left_alone() -> None:
    for text in ("var t = `\n  // not a comment\n`;\n", 'var s = "a\\\n  // text";\n'):
        assert trim_source(text) == text


def test_collectstatic_trims_what_it_stores_and_hashes_the_trimmed_text(tmp_path) -> None:
    storage = ModuleAwareStaticFilesStorage(location=tmp_path, base_url="/static/")
    source = SOURCE.replace('import { a } from "./a.js";', "")  # no import to rewrite
    storage.save("x/m.js", ContentFile(source.encode()))
    storage.save("x/s.css", ContentFile(b"/* c */\n  .a { color: red }\n"))
    storage.save("x/i.svg", ContentFile(b"<svg>\n  <!-- kept -->\n</svg>\n"))
    found = {name: (storage, name) for name in ("x/m.js", "x/s.css", "x/i.svg")}
    problems = [r for _o, _h, r in storage.post_process(found) if isinstance(r, Exception)]
    assert not problems, problems
    hashed = Path(storage.path(storage.stored_name("x/m.js")))
    assert hashed.read_text("utf-8") == trim_source(source)
    assert Path(storage.path(storage.stored_name("x/s.css"))).read_text() == "\n.a { color: red }\n"
    assert Path(storage.path("x/i.svg")).read_bytes() == b"<svg>\n  <!-- kept -->\n</svg>\n"
