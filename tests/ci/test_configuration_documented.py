"""Every environment variable the settings read is documented in .env.example and README.md."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SETTINGS = REPO / "src" / "config" / "settings" / "base.py"

# os.environ["X"], os.environ.get("X"), env_bool("X"), env_list("X"), env_int("X") ...
_READ = re.compile(
    r"""(?:os\.environ(?:\.get)?\s*[\[(]|os\.getenv\(|\benv_\w+\()\s*["']([A-Z][A-Z0-9_]*)["']"""
)


def variables_read_by_settings() -> set[str]:
    return set(_READ.findall(SETTINGS.read_text(encoding="utf-8")))


def test_settings_read_the_variables_we_expect_at_least():
    # Guards the pattern above: if it stopped matching, the tests below would pass vacuously.
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "DEBUG", "ALLOWED_HOSTS"} <= (
        variables_read_by_settings()
    )


def test_every_variable_is_in_env_example():
    documented = set(
        re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", (REPO / ".env.example").read_text(), re.M)
    )
    missing = sorted(variables_read_by_settings() - documented)
    assert not missing, f"add to .env.example: {missing}"


def test_every_variable_is_in_the_readme_configuration_table():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    in_table = set(re.findall(r"^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|", readme, re.M))
    missing = sorted(variables_read_by_settings() - in_table)
    assert not missing, f"add to the configuration table in README.md: {missing}"
