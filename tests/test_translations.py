"""Nothing a client reads is left untranslated (issue 13, point 2).

The msgids are extracted afresh from the source (makemessages into a temporary folder), so a
string added to a template or module without running `make messages` fails here too. German
must translate everything (staff pages are German); the other client languages everything a
client-facing file uses (`sprechstunde.core.i18n_scope`); English is the msgid itself.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from fnmatch import fnmatch
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

from sprechstunde.core.i18n_scope import is_client_facing

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "locale"
IGNORE = [".venv/*", "var/*", "test-artifacts/*", "tests/*", "bench/*", "*/tests/*"]
# %(name)s, %s, %d, {name}, {0}: what must survive translation unchanged.
PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|%[sdif]|\{\w*\}")


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


@pytest.fixture(scope="module")
def fresh_catalogue(tmp_path_factory: pytest.TempPathFactory) -> polib.POFile:
    """The German catalogue as `make messages` would write it from today's source.

    makemessages writes into the `locale` folder beside the files it reads, so it runs on a
    copy of the source (same relative paths) and never touches the real catalogues.
    """
    work = tmp_path_factory.mktemp("extract")
    shutil.copytree(
        ROOT / "src",
        work / "src",
        ignore=shutil.ignore_patterns("tests", "__pycache__", "static", "*.mo", "*.pdf", "*.png"),
    )
    (work / "locale").mkdir()
    cwd = Path.cwd()
    os.chdir(work)
    try:
        with override_settings(LOCALE_PATHS=[]):
            call_command(
                "makemessages", locale=["de"], ignore_patterns=IGNORE, no_wrap=True, verbosity=0
            )
    finally:
        os.chdir(cwd)
    return polib.pofile(str(work / "locale" / "de" / "LC_MESSAGES" / "django.po"))


def _key(entry: polib.POEntry) -> tuple[str, str]:
    return (entry.msgctxt or "", entry.msgid)


def _catalogue(language: str) -> dict[tuple[str, str], polib.POEntry]:
    path = LOCALE / language / "LC_MESSAGES" / "django.po"
    assert path.exists(), f"no catalogue for {language}: run `make messages`"
    return {_key(entry): entry for entry in polib.pofile(str(path)) if not entry.obsolete}


def _missing(entry: polib.POEntry | None) -> bool:
    if entry is None or "fuzzy" in entry.flags:
        return True
    if entry.msgid_plural:
        return not entry.msgstr_plural or not all(entry.msgstr_plural.values())
    return not entry.msgstr


def test_every_language_has_its_catalogue() -> None:
    for language in settings.CLIENT_LANGUAGES:
        assert (LOCALE / language / "LC_MESSAGES" / "django.po").exists(), language


def test_german_translates_every_msgid_of_the_source(fresh_catalogue: polib.POFile) -> None:
    german = _catalogue("de")
    missing = [entry.msgid for entry in fresh_catalogue if _missing(german.get(_key(entry)))]
    assert not missing, f"{len(missing)} German texts missing or fuzzy, e.g. {missing[:5]}"


@pytest.mark.parametrize("language", ["uk", "ar", "tr", "ru", "fa"])
def test_client_texts_are_translated(fresh_catalogue: polib.POFile, language: str) -> None:
    catalogue = _catalogue(language)
    client_facing = [
        entry
        for entry in fresh_catalogue
        if any(is_client_facing(path) for path, _line in entry.occurrences)
    ]
    assert len(client_facing) > 300  # the scope matches real files, not nothing
    missing = [entry.msgid for entry in client_facing if _missing(catalogue.get(_key(entry)))]
    assert not missing, (
        f"{len(missing)} of {len(client_facing)} client texts missing or fuzzy in {language}, "
        f"e.g. {missing[:5]}"
    )


@pytest.mark.parametrize("language", [code for code, _name in settings.LANGUAGES])
def test_placeholders_survive_translation(language: str) -> None:
    wrong = []
    for entry in _catalogue(language).values():
        if "fuzzy" in entry.flags:
            continue
        if entry.msgid_plural:
            pairs = [
                (entry.msgid_plural if index else entry.msgid, text)
                for index, text in entry.msgstr_plural.items()
            ]
        else:
            pairs = [(entry.msgid, entry.msgstr)]
        for source, text in pairs:
            if text and placeholders(source) != placeholders(text):
                # Plural forms may drop the count in the singular ("one message").
                if entry.msgid_plural and set(placeholders(text)) <= set(placeholders(source)):
                    continue
                wrong.append((source, text))
    assert not wrong, f"placeholders differ in {language}: {wrong[:3]}"


def test_the_scope_names_files_that_exist() -> None:
    from sprechstunde.core.i18n_scope import CLIENT_FACING_PATTERNS

    base = ROOT / "src" / "sprechstunde"
    files = [path.relative_to(base).as_posix() for path in base.rglob("*") if path.is_file()]
    dead = [
        pattern
        for pattern in CLIENT_FACING_PATTERNS
        if not any(fnmatch(name, pattern) for name in files)
    ]
    assert not dead, f"scope patterns that match no file: {dead}"


def test_an_operator_can_override_any_string_through_locale_override_paths(tmp_path) -> None:
    """docs/operations.md "Languages and own wording": a folder named in the environment
    comes before the app's catalogues; strings it does not hold keep the app's wording."""
    folder = tmp_path / "de" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    catalogue = polib.POFile()
    catalogue.metadata = {"Content-Type": "text/plain; charset=UTF-8"}
    catalogue.append(polib.POEntry(msgid="Settings", msgstr="Meine Einstellungen"))
    catalogue.save_as_mofile(str(folder / "django.mo"))
    script = (
        "import django; django.setup();"
        "from django.utils import translation;"
        "translation.activate('de');"
        "print(translation.gettext('Settings'));"
        "print(translation.gettext('Language'))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "LOCALE_OVERRIDE_PATHS": str(tmp_path),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
    }
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    overridden, kept = result.stdout.strip().splitlines()[-2:]
    assert overridden == "Meine Einstellungen"
    assert kept == "Sprache"


def _glossary() -> tuple[list[str], list[tuple[str, str, dict[str, str]]]]:
    """The table in docs/translations.md: German term, English term, one stem per language."""
    text = (ROOT / "docs" / "translations.md").read_text(encoding="utf-8")
    table = text.split("<!-- glossary:start -->", 1)[1].split("<!-- glossary:end -->", 1)[0]
    lines = [line.strip() for line in table.strip().splitlines() if line.strip()]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    languages = [re.search(r"`(\w+)`", cell).group(1) for cell in header[2:]]  # type: ignore[union-attr]
    rows = []
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows.append((cells[0], cells[1], dict(zip(languages, cells[2:], strict=True))))
    return languages, rows


def test_the_glossary_covers_the_legal_terms_in_every_translated_language() -> None:
    languages, rows = _glossary()
    assert {"Bescheid", "Widerspruch", "Kooperationsplan", "Bürgergeld", "Jobcenter"} <= {
        german for german, _english, _stems in rows
    }
    assert {"Termin", "Einwilligung"} <= {german for german, _english, _stems in rows}
    assert set(languages) == {"uk", "ar", "tr", "ru", "fa"}
    for german, _english, stems in rows:
        assert all(stems.values()), german


@pytest.mark.parametrize("language", ["uk", "ar", "tr", "ru", "fa"])
def test_each_legal_term_is_translated_the_same_way_throughout(language: str) -> None:
    languages, rows = _glossary()
    assert language in languages, f"{language} has no glossary column in docs/translations.md"
    catalogue = _catalogue(language)
    checked = 0
    off = []
    for entry in catalogue.values():
        if not any(is_client_facing(path) for path, _line in entry.occurrences):
            continue
        texts = [entry.msgstr] if not entry.msgid_plural else list(entry.msgstr_plural.values())
        # A term inside a placeholder's name (%(jobcenter)s) is not text the reader sees.
        source = PLACEHOLDER.sub(" ", entry.msgid + " " + entry.msgid_plural).lower()
        for german, english, stems in rows:
            if english.lower() not in source:
                continue
            # A cell may name forms no single stem covers: "موعد / مواعيد".
            forms = [form.strip().lower() for form in stems[language].split(" / ")]
            for text in texts:
                if not text:
                    continue
                checked += 1
                seen = text.lower()
                if not any(form in seen for form in forms) and german.lower() not in seen:
                    off.append((german, entry.msgid[:60], text[:60]))
    assert checked >= 20
    assert not off, f"{len(off)} entries use another word in {language}: {off[:5]}"
