"""Static file storage for production: WhiteNoise's compressed manifest storage that also
rewrites the `import ... from "./x.js"` lines of native ES modules to the hashed names, and
trims comments and indentation from JavaScript and CSS as it collects them.

Without the rewrite a module would import the unhashed file while the page preloads the
hashed one (`<link rel="modulepreload">`): every module would be fetched twice, and an old
copy could be cached under the unhashed name. The modules' imports must form no cycle
(the manifest hashes a file after the files it names). docs/decisions/0053.

The trimming (docs/decisions/0074) keeps the sources readable and commented while a phone
downloads and parses only code: about 15 % of the call page's gzip weight were comments.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.files.base import ContentFile
from whitenoise.storage import CompressedManifestStaticFilesStorage

TRIMMED = (".js", ".mjs", ".css")
# Template literals and line continuations can hold text that looks like comments or
# indentation: such files are left as they are.
UNSAFE = re.compile(r"`|\\\r?\n")


def trim_source(text: str) -> str:
    """Drops whole-line comments (`// ...`, and `/* ... */` that start a line) and each
    line's leading and trailing blanks, from JavaScript or CSS.

    Line by line on purpose, with no tokenizer: a line whose first characters are `//` or
    `/*` is a comment in both languages (an empty regular expression is no valid JavaScript),
    once template literals and continued strings are ruled out. Comments after code stay.
    Every line keeps its place (a dropped line becomes empty), so an error's line number in
    production still points into the source.
    """
    if UNSAFE.search(text):
        return text
    out: list[str] = []
    in_comment = False
    for line in text.split("\n"):
        rest = line.strip()
        if in_comment:
            end = rest.find("*/")
            if end < 0:
                out.append("")
                continue
            rest = rest[end + 2 :].strip()
            in_comment = False
        if rest.startswith("//"):
            out.append("")
            continue
        while rest.startswith("/*"):
            end = rest.find("*/", 2)
            if end < 0:
                in_comment = True
                rest = ""
                break
            rest = rest[end + 2 :].strip()
        out.append(rest)
    return "\n".join(out)


class ModuleAwareStaticFilesStorage(CompressedManifestStaticFilesStorage):
    """CompressedManifestStaticFilesStorage with Django's ES module import rewriting on, and
    JavaScript and CSS trimmed whenever a copy is stored (the plain and the hashed one, so
    WhiteNoise compresses trimmed text). The hash in a name is still that of the source."""

    support_js_module_import_aggregation = True

    def _save(self, name: str, content: Any) -> str:
        if name.endswith(TRIMMED):
            content.seek(0)
            raw = content.read()
            text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
            content = ContentFile(trim_source(text).encode("utf-8"))
        return super()._save(name, content)
