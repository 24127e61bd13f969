"""The SBOM `make sbom` writes (CI: test-artifacts/ci/sbom.json) is valid CycloneDX and complete."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import sbom  # noqa: E402


def _pinned() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        name, _, version = line.partition("==")
        if version:
            pins[name.strip().lower().replace("_", "-")] = version.strip()
    return pins


@pytest.fixture(scope="module")
def produced(tmp_path_factory) -> dict:
    """The SBOM CI produced (SPRECHSTUNDE_SBOM, set by .ci/run); made here when there is none."""
    named = os.environ.get("SPRECHSTUNDE_SBOM", "")
    if named:
        path = Path(named)
        assert path.is_file(), f"CI should have written the SBOM to {path} (make sbom)"
    else:
        path = tmp_path_factory.mktemp("sbom") / "sbom.json"
        subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "sbom.py"), "--output", str(path)], check=True
        )
    return json.loads(path.read_text(encoding="utf-8"))


def test_the_sbom_is_valid_cyclonedx_1_6(produced):
    assert produced["bomFormat"] == "CycloneDX"
    assert produced["specVersion"] == "1.6"
    assert sbom.bom_problems(json.dumps(produced)) is None


def test_the_validation_catches_a_broken_document(produced):
    broken = json.loads(json.dumps(produced))
    broken["components"][0]["type"] = "package-of-some-kind"
    del broken["bomFormat"]

    assert sbom.bom_problems(json.dumps(broken)) is not None


def test_the_root_is_sprechstunde_and_depends_on_every_debian_package(produced):
    root = produced["metadata"]["component"]
    debian = [c for c in produced["components"] if c.get("purl", "").startswith("pkg:deb/")]
    entry = next(d for d in produced["dependencies"] if d["ref"] == root["bom-ref"])

    assert root["name"] == "sprechstunde"
    assert {c["bom-ref"] for c in debian} <= set(entry["dependsOn"])


def test_every_pinned_runtime_dependency_is_listed_with_its_version(produced):
    listed = {
        c["name"].lower().replace("_", "-"): c.get("version")
        for c in produced["components"]
        if c.get("purl", "").startswith("pkg:pypi/")
    }
    pins = _pinned()

    for name in ("django", "channels", "cryptography", "pyhanko", "weasyprint", "django-allauth"):
        assert listed[name] == pins[name], name


def test_every_debian_package_of_the_groups_is_listed_installed_with_its_groups(produced):
    debian = {
        c["name"]: c for c in produced["components"] if c.get("purl", "").startswith("pkg:deb/")
    }

    for group in sbom.GROUPS:
        for package in sbom.group_packages(group):
            component = debian[package]
            properties = {(p["name"], p["value"]) for p in component["properties"]}
            assert (sbom.GROUP_PROPERTY, group) in properties
            # CI installs every group first (scripts/system-deps.sh): versions must be known.
            if os.environ.get("SPRECHSTUNDE_SBOM"):
                assert (sbom.INSTALLED_PROPERTY, "yes") in properties, package
                assert f"@{quote(component['version'], safe='')}?" in component["purl"]
    assert {"coturn", "postgresql", "redis-server", "clamav-daemon"} <= set(debian)
