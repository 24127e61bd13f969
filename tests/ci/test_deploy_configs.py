"""The deployment files in deploy/ are the ones docs/operations.md tells operators to copy;
they are checked by the tools that will read them: `systemd-analyze verify` for the systemd
units (with the paths of this checkout, so that every ExecStart is a real executable) and
`nginx -t` for the nginx site. Debian packages: systemd, nginx-light (scripts/system-deps.sh
test)."""

from __future__ import annotations

import datetime
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SYSTEMD = REPO / "deploy" / "systemd"
NGINX_SITE = REPO / "deploy" / "nginx" / "sprechstunde.conf"
INSTALLED_APP = "/srv/sprechstunde/app"


def _units_for_this_checkout(target: Path) -> list[Path]:
    units = []
    for unit in sorted(SYSTEMD.iterdir()):
        text = unit.read_text(encoding="utf-8")
        text = text.replace(f"{INSTALLED_APP}/.venv/bin/python", sys.executable)
        text = text.replace(INSTALLED_APP, str(REPO))
        (target / unit.name).write_text(text, encoding="utf-8")
        if unit.name.endswith("@.service"):
            # A template is checked through an instance, as `systemctl enable name@1` makes.
            instance = target / unit.name.replace("@.", "@1.")
            instance.write_text(text, encoding="utf-8")
            units.append(instance)
        else:
            units.append(target / unit.name)
    return units


def test_the_systemd_units_pass_systemd_analyze_verify(tmp_path):
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is missing (Debian package systemd)")
    units = _units_for_this_checkout(tmp_path)
    names = {unit.name for unit in units}
    assert {"sprechstunde-web.service", "sprechstunde-worker@1.service"} <= names
    assert any(name.endswith(".timer") for name in names), "scheduled jobs run from timers"
    result = subprocess.run(
        [tool, "verify", "--man=no", *[str(unit) for unit in units]],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


def test_every_unit_runs_a_management_command_that_exists():
    from django.core.management import get_commands

    commands = get_commands()
    started = []
    for unit in SYSTEMD.glob("*.service"):
        for line in unit.read_text(encoding="utf-8").splitlines():
            match = re.match(r"ExecStart=\S+ manage\.py (\S+)", line)
            if match:
                started.append(match.group(1))
                assert match.group(1) in commands, f"{unit.name}: no command {match.group(1)}"
    assert {"serve", "db_worker", "agreements_dispatch"} <= set(started)


def _self_signed(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sprechstunde.example.org")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path = directory / "fullchain.pem"
    key_path = directory / "privkey.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_the_nginx_site_passes_nginx_t(tmp_path):
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if nginx is None:
        pytest.skip("nginx is missing (Debian package nginx-light)")
    cert, key = _self_signed(tmp_path)
    site = NGINX_SITE.read_text(encoding="utf-8")
    site = site.replace("/etc/ssl/sprechstunde/fullchain.pem", str(cert))
    site = site.replace("/etc/ssl/sprechstunde/privkey.pem", str(key))
    (tmp_path / "site.conf").write_text(site, encoding="utf-8")
    # The frame of Debian's /etc/nginx/nginx.conf, minimal, with every path in tmp_path.
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\n"
        f"error_log {tmp_path}/error.log;\n"
        "events {}\n"
        "http {\n"
        f"    access_log {tmp_path}/access.log;\n"
        f"    client_body_temp_path {tmp_path}/body;\n"
        f"    proxy_temp_path {tmp_path}/proxy;\n"
        f"    include {tmp_path}/site.conf;\n"
        "}\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [
            nginx,
            "-t",
            "-p",
            str(tmp_path),
            "-e",
            str(tmp_path / "error.log"),
            "-c",
            str(tmp_path / "nginx.conf"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
    assert "[warn]" not in result.stderr, result.stderr
