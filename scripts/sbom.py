#!/usr/bin/env python3
"""Write the CycloneDX SBOM of Sprechstunde: the Python environment and the Debian packages.

The Python part comes from cyclonedx-py (the environment of the interpreter given, the venv by
default); the Debian packages are the groups of scripts/system-deps.sh that the app and its
CI need, with the versions dpkg reports. Both go into one CycloneDX 1.6 JSON document, which
is validated against the schema before it is written. Usage (or `make sbom`):

    python scripts/sbom.py --output test-artifacts/sbom.json [--python .venv/bin/python]
"""
# ruff: noqa: S603, S607 - runs bash, dpkg-query and cyclonedx-py with fixed arguments

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
SYSTEM_DEPS = ROOT / "scripts" / "system-deps.sh"
# What the app runs on and what CI needs; "bench" and "clock" are developer tools.
GROUPS = ("python", "runtime", "services", "test")
GROUP_PROPERTY = "sprechstunde:system-deps-group"
INSTALLED_PROPERTY = "sprechstunde:installed"
SPEC_VERSION = "1.6"


def group_packages(group: str) -> list[str]:
    """The Debian packages system-deps.sh installs for a group."""
    listed = subprocess.run(
        ["bash", str(SYSTEM_DEPS), group],
        env={**os.environ, "SYSTEM_DEPS_LIST": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    return [line.strip() for line in listed.stdout.splitlines() if line.strip()]


def installed_versions(packages: list[str]) -> dict[str, tuple[str, str]]:
    """Package -> (version, architecture) for the packages dpkg knows as installed."""
    if not packages or shutil.which("dpkg-query") is None:
        return {}
    result = subprocess.run(
        [
            "dpkg-query",
            "-W",
            "-f=${Package}\t${Version}\t${Architecture}\t${db:Status-Status}\n",
            *packages,
        ],
        capture_output=True,
        text=True,
        check=False,  # exit 1 when one of them is unknown: the others are still listed
    )
    found = {}
    for line in result.stdout.splitlines():
        name, version, arch, status = [*line.split("\t"), "", "", ""][:4]
        if status == "installed":
            found[name] = (version, arch)
    return found


def distribution() -> tuple[str, str]:
    """(id, version) of the operating system, e.g. ("debian", "12")."""
    values = {}
    os_release = Path("/etc/os-release")
    if os_release.is_file():
        for line in os_release.read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition("=")
            values[key] = value.strip().strip('"')
    return values.get("ID", "debian"), values.get("VERSION_ID", "")


def debian_components() -> list[dict]:
    """One CycloneDX component per Debian package of GROUPS, with the groups that need it."""
    groups_of: dict[str, list[str]] = {}
    for group in GROUPS:
        for package in group_packages(group):
            groups_of.setdefault(package, []).append(group)
    versions = installed_versions(sorted(groups_of))
    distro_id, distro_version = distribution()
    components = []
    for package in sorted(groups_of):
        version, arch = versions.get(package, ("", ""))
        qualifiers = "&".join(
            part
            for part in (
                f"arch={arch}" if arch else "",
                f"distro={distro_id}-{distro_version}" if distro_version else "",
            )
            if part
        )
        purl = f"pkg:deb/{distro_id}/{quote(package)}"
        purl += f"@{quote(version, safe='')}" if version else ""
        purl += f"?{qualifiers}" if qualifiers else ""
        component = {
            "type": "library",
            "bom-ref": purl,
            "name": package,
            "purl": purl,
            "properties": [
                *({"name": GROUP_PROPERTY, "value": group} for group in groups_of[package]),
                {"name": INSTALLED_PROPERTY, "value": "yes" if version else "no"},
            ],
        }
        if version:
            component["version"] = version
        components.append(component)
    return components


def python_bom(python: str) -> dict:
    """The environment's SBOM as cyclonedx-py writes it, with this project as root component."""
    tool = Path(sys.executable).with_name("cyclonedx-py")
    command = [str(tool)] if tool.exists() else [sys.executable, "-m", "cyclonedx_py"]
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "python.json"
        subprocess.run(
            [
                *command,
                "environment",
                "--pyproject",
                str(ROOT / "pyproject.toml"),
                "--sv",
                SPEC_VERSION,
                "--of",
                "JSON",
                "--output-reproducible",
                "--no-validate",
                "-o",
                str(target),
                python,
            ],
            check=True,
        )
        return json.loads(target.read_text(encoding="utf-8"))


def bom_merge(bom: dict, debian: list[dict]) -> dict:
    """Add the Debian packages as components the root component depends on."""
    bom.setdefault("components", []).extend(debian)
    root = bom.get("metadata", {}).get("component", {}).get("bom-ref")
    dependencies = bom.setdefault("dependencies", [])
    entry = next((d for d in dependencies if d.get("ref") == root), None)
    if root and entry is None:
        entry = {"ref": root, "dependsOn": []}
        dependencies.append(entry)
    if entry is not None:
        entry.setdefault("dependsOn", []).extend(c["bom-ref"] for c in debian)
        entry["dependsOn"] = sorted(set(entry["dependsOn"]))
    for component in debian:
        dependencies.append({"ref": component["bom-ref"]})
    return bom


def bom_problems(text: str) -> str | None:
    """The first schema error of a CycloneDX JSON document, or None when it is valid.

    Validates the structure against the schema bundled with cyclonedx-python-lib, without
    jsonschema's format checks (its IRI check alone takes minutes on a full SBOM).
    """
    from importlib.resources import files

    from jsonschema import Draft7Validator
    from referencing import Registry
    from referencing.jsonschema import DRAFT7

    folder = files("cyclonedx.schema") / "_res"
    resources = [
        (
            f"http://cyclonedx.org/schema/{item.name}",
            DRAFT7.create_resource(json.loads(item.read_text())),
        )
        for item in folder.iterdir()
        if item.name.endswith(".schema.json")
    ]
    schema = json.loads((folder / f"bom-{SPEC_VERSION}.SNAPSHOT.schema.json").read_text())
    validator = Draft7Validator(schema, registry=Registry().with_resources(resources))
    error = next(validator.iter_errors(json.loads(text)), None)
    if error is None:
        return None
    return f"{error.message} at /{'/'.join(str(part) for part in error.absolute_path)}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=str(ROOT / "test-artifacts" / "sbom.json"))
    parser.add_argument("--python", default=sys.executable, help="interpreter of the venv")
    args = parser.parse_args()
    bom = bom_merge(python_bom(args.python), debian_components())
    text = json.dumps(bom, indent=2, sort_keys=False) + "\n"
    problem = bom_problems(text)
    if problem:
        print(f"The SBOM does not validate: {problem}", file=sys.stderr)
        return 1
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    count = len(bom["components"])
    python_count = len([c for c in bom["components"] if c.get("purl", "").startswith("pkg:pypi")])
    print(f"SBOM with {count} components ({python_count} Python) written to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
