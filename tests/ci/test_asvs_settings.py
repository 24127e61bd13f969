"""Settings-level ASVS requirements, checked on the production settings (docs/asvs.md)."""

from __future__ import annotations

import ast
import re
import ssl

import pytest
from django.conf import global_settings

from sprechstunde.compliance.configuration import reference_settings
from tests.ci.node_ids import ROOT

SRC = ROOT / "src" / "sprechstunde"


@pytest.fixture(scope="module")
def production():
    return reference_settings(USE_TLS="true")


def _source_files():
    return [p for p in SRC.rglob("*.py") if "tests" not in p.parts and "testing" not in p.name]


def test_hsts_lasts_a_year_and_covers_subdomains(production):
    assert production.SECURE_HSTS_SECONDS >= 365 * 24 * 60 * 60
    assert production.SECURE_HSTS_INCLUDE_SUBDOMAINS is True


def test_pages_redirect_to_https_and_cookies_are_secure(production):
    assert production.SECURE_SSL_REDIRECT is True
    assert production.SESSION_COOKIE_SECURE is True
    assert production.CSRF_COOKIE_SECURE is True
    assert production.DEBUG is False


def test_passwords_are_hashed_with_a_slow_key_derivation_function(production):
    hashers = getattr(production, "PASSWORD_HASHERS", global_settings.PASSWORD_HASHERS)

    assert hashers[0].rsplit(".", 1)[1] in {
        "PBKDF2PasswordHasher",
        "Argon2PasswordHasher",
        "ScryptPasswordHasher",
    }


def test_timestamps_are_time_zone_aware(production):
    assert production.USE_TZ is True


def test_logs_go_only_to_the_documented_console_handler(production):
    handlers = production.LOGGING["handlers"]

    assert list(handlers) == ["console"]
    assert handlers["console"]["class"] == "logging.StreamHandler"
    assert "Logs and monitoring" in (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")


def test_no_code_turns_certificate_checks_off():
    forbidden = re.compile(
        r"verify\s*=\s*False|CERT_NONE|_create_unverified_context|"
        r"check_hostname\s*=\s*False"
    )

    offenders = [p for p in _source_files() if forbidden.search(p.read_text(encoding="utf-8"))]

    assert offenders == []
    assert ssl.create_default_context().verify_mode == ssl.CERT_REQUIRED


# Calls that read XML. Building XML (the e-file hand-over writes xdomea with lxml) reads none.
XML_READING = {"parse", "fromstring", "fromstringlist", "XML", "XMLParser", "iterparse", "HTML"}


# Modules that read XML the app itself just wrote, never outside input.
OWN_XML_ONLY = {
    # the XMP packet WeasyPrint wrote into our own PDF, rewritten for PDF/A (ADR 0078)
    "sprechstunde/core/pdfa_metadata.py",
    # test support: the report of the PDFBox Preflight run on our own PDFs (ADR 0078)
    "sprechstunde/core/testing/pdfa.py",
}


def test_no_xml_parser_reads_outside_input():
    parsers = {"xml", "lxml", "defusedxml"}
    offenders = []
    for path in _source_files():
        if any(str(path).endswith(own) for own in OWN_XML_ONLY):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = []
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            imported += [n for n in names if n.split(".")[0] in parsers]
        if not imported:
            continue
        reads = sorted(
            {
                node.attr if isinstance(node, ast.Attribute) else node.id
                for node in ast.walk(tree)
                if (isinstance(node, ast.Attribute) and node.attr in XML_READING)
                or (isinstance(node, ast.Name) and node.id in XML_READING)
            }
        )
        offenders += [f"{path}: {name} ({', '.join(reads)})" for name in imported if reads]

    assert offenders == []


def test_the_key_inventory_names_every_secret_setting():
    settings_source = (ROOT / "src" / "config" / "settings" / "base.py").read_text(encoding="utf-8")
    secret = re.compile(r"(SECRET|PASSWORD|PASSPHRASE|TOKEN$|_PIN$|MASTER_KEYS)")
    read = set(re.findall(r'os\.environ(?:\.get)?[\[(]"([A-Z0-9_]+)"', settings_source))
    read |= {"SMS_GATEWAY_TOKEN", "CALDAV_PASSWORD"}  # read where the feature is (getattr)
    operations = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    section = operations.split("## Secrets and keys", 1)[1].split("\n## ", 1)[0]

    secrets = sorted(name for name in read if secret.search(name))
    assert "SECRET_KEY" in secrets and "DOCUMENT_MASTER_KEYS" in secrets
    assert [name for name in secrets if f"`{name}`" not in section] == []
    for algorithm in ("HMAC-SHA256", "AES-256-GCM", "SHA-256", "PBKDF2-SHA256"):
        assert algorithm in section


@pytest.mark.django_db
def test_source_control_metadata_is_not_served(client):
    for path in ("/.git/HEAD", "/.git/config", "/static/.git/HEAD", "/.env"):
        assert client.get(path).status_code == 404, path
