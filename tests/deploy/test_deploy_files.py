"""The deployment files in deploy/ are the ones docs/operations.md tells operators to copy:
systemd units checked by `systemd-analyze verify`, the nginx site by `nginx -t`, and the coturn
configuration by starting coturn with it and asking it for a relay with the app's credentials.

Each file is checked as shipped, with only the host-specific parts replaced (the install path by
this checkout, certificate paths by a self-signed pair, ports by free ones)."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sprechstunde.video_calls.tests.coturn import allocate
from tests.deploy.nginx_site import free_tcp_port as _free_tcp_port
from tests.deploy.nginx_site import nginx_config as _nginx_config
from tests.deploy.nginx_site import self_signed as _self_signed
from tests.netem.coturn import TURNSERVER, free_udp_port, stun_binding_ok

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
UNITS = sorted(
    p for p in (DEPLOY / "systemd").iterdir() if p.suffix in {".service", ".timer", ".target"}
)
INSTALL_PATH = "/srv/sprechstunde/app"


def _tool(name: str, package: str) -> str:
    found = shutil.which(name) or next(
        (str(p) for p in (Path("/usr/sbin") / name, Path("/usr/bin") / name) if p.exists()), None
    )
    if found is None:
        pytest.skip(f"{name} is not installed (apt-get install {package})")
    return found


# --- systemd ------------------------------------------------------------------------------------


def test_every_unit_the_operations_guide_names_is_shipped():
    guide = (REPO / "docs" / "operations.md").read_text()
    names = {p.name for p in UNITS}
    for required in (
        "sprechstunde-web@.service",
        "sprechstunde-worker@.service",
        "sprechstunde-dispatch.service",
        "sprechstunde-agreements-dispatch.timer",
        "sprechstunde-documents-remind.timer",
        "sprechstunde-audit-verify.timer",
        "sprechstunde.target",
    ):
        assert required in names
        assert required in guide, f"docs/operations.md does not mention {required}"
    # Every timer starts the service of the same name.
    for timer in (p for p in UNITS if p.suffix == ".timer"):
        assert timer.with_suffix(".service").exists()


def test_systemd_analyze_verify_accepts_every_unit(tmp_path):
    analyze = _tool("systemd-analyze", "systemd")
    unit_dir = tmp_path / "units"
    unit_dir.mkdir()
    for unit in UNITS:
        text = unit.read_text().replace(INSTALL_PATH, str(REPO))
        # The .venv of this checkout: CI's interpreter when there is none (same command line).
        if not (REPO / ".venv" / "bin" / "python").exists():
            text = text.replace(str(REPO / ".venv" / "bin" / "python"), sys.executable)
        (unit_dir / unit.name).write_text(text)
    # Template units are verified as instances, the way they are started.
    paths = []
    for unit in sorted(unit_dir.iterdir()):
        if unit.name.endswith("@.service"):
            instance = unit_dir / unit.name.replace("@.", "@8001.")
            shutil.copy(unit, instance)
            paths.append(instance)
        else:
            paths.append(unit)
    result = subprocess.run(
        [analyze, "verify", "--man=no", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=unit_dir,
    )
    # Unknown keys and unsafe settings are only warnings for systemd: none may appear.
    complaints = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if "sprechstunde" in line and "not loaded" not in line
    ]
    assert result.returncode == 0, result.stderr
    assert complaints == []


def test_every_unit_runs_a_management_command_that_exists():
    """systemd checks the program, not its arguments: the manage.py command is checked here."""
    from django.core.management import get_commands

    commands = get_commands()
    started = []
    for unit in UNITS:
        for line in unit.read_text().splitlines():
            match = re.match(r"ExecStart=\S+ manage\.py (\S+)", line)
            if match:
                started.append(match.group(1))
                assert match.group(1) in commands, f"{unit.name}: no command {match.group(1)}"
    assert {"serve", "db_worker", "agreements_dispatch", "audit_verify"} <= set(started)


def test_a_unit_with_a_mistake_is_refused(tmp_path):
    """The check above can fail: a typo in a key and a missing program are both reported."""
    analyze = _tool("systemd-analyze", "systemd")
    unit = tmp_path / "sprechstunde-broken.service"
    text = (DEPLOY / "systemd" / "sprechstunde-dispatch.service").read_text()
    unit.write_text(text.replace("Restart=always", "Restrat=always"))
    result = subprocess.run(
        [analyze, "verify", "--man=no", str(unit)], capture_output=True, text=True, timeout=60
    )
    output = result.stdout + result.stderr
    assert "Unknown key" in output or "Restrat" in output
    assert "is not executable" in output or result.returncode != 0


def test_the_units_run_the_app_unprivileged_and_read_only():
    for unit in UNITS:
        if unit.suffix != ".service":
            continue
        text = unit.read_text()
        assert "User=sprechstunde" in text
        assert "ProtectSystem=strict" in text
        assert "NoNewPrivileges=yes" in text
        assert "EnvironmentFile=/etc/sprechstunde.env" in text
        assert "DJANGO_SETTINGS_MODULE=config.settings.base" in text


# --- nginx --------------------------------------------------------------------------------------


def test_nginx_accepts_the_site(tmp_path):
    nginx = _tool("nginx", "nginx-light")
    config = _nginx_config(tmp_path, http_port=_free_tcp_port(), https_port=_free_tcp_port())
    result = subprocess.run(
        [nginx, "-t", "-c", str(config), "-p", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_nginx_refuses_a_broken_site(tmp_path):
    nginx = _tool("nginx", "nginx-light")
    config = _nginx_config(tmp_path, http_port=_free_tcp_port(), https_port=_free_tcp_port())
    site = tmp_path / "site.conf"
    site.write_text(site.read_text().replace("proxy_pass http://sprechstunde;", "proxy_pass;", 1))
    result = subprocess.run(
        [nginx, "-t", "-c", str(config), "-p", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0


def test_nginx_redirects_to_https_and_passes_requests_to_a_node(tmp_path):
    """The site really runs: plain HTTP is sent to HTTPS, and HTTPS reaches a node (here a
    one-line HTTP server standing in for `manage.py serve` on port 8001/8002's place)."""
    nginx = _tool("nginx", "nginx-light")
    node_port = _free_tcp_port()
    http_port, https_port = _free_tcp_port(), _free_tcp_port()
    config = _nginx_config(tmp_path, http_port=http_port, https_port=https_port)
    site = tmp_path / "site.conf"
    text = site.read_text()
    text = text.replace("server 127.0.0.1:8001", f"server 127.0.0.1:{node_port}")
    text = text.replace("server 127.0.0.1:8002", f"server 127.0.0.1:{node_port}")
    site.write_text(text)
    node = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(node_port), "--bind", "127.0.0.1"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    (tmp_path / "hello.txt").write_text("node says hello")
    server = subprocess.Popen(
        [nginx, "-c", str(config), "-p", str(tmp_path), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        import ssl
        import urllib.request

        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", https_port), timeout=1):
                    pass
                with socket.create_connection(("127.0.0.1", node_port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: object, **kwargs: object) -> None:
                return None

        opener = urllib.request.build_opener(NoRedirect)
        request = urllib.request.Request(
            f"http://127.0.0.1:{http_port}/hello.txt", headers={"Host": "sprechstunde.example"}
        )
        with pytest.raises(urllib.error.HTTPError) as redirect:
            opener.open(request, timeout=5)
        assert redirect.value.code == 301
        assert redirect.value.headers["Location"] == "https://sprechstunde.example/hello.txt"

        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        request = urllib.request.Request(
            f"https://127.0.0.1:{https_port}/hello.txt", headers={"Host": "sprechstunde.example"}
        )
        with urllib.request.urlopen(request, timeout=5, context=context) as response:  # noqa: S310
            assert response.read() == b"node says hello"
    finally:
        server.terminate()
        node.terminate()
        server.wait(timeout=10)
        node.wait(timeout=10)


# --- coturn -------------------------------------------------------------------------------------


def test_coturn_runs_with_the_shipped_configuration_and_the_apps_credentials(tmp_path, settings):
    if not Path(TURNSERVER).exists():
        pytest.skip("coturn is not installed (apt-get install coturn)")
    from sprechstunde.video_calls.turn import turn_credentials

    cert, key = _self_signed(tmp_path)
    port, tls_port = free_udp_port(), _free_tcp_port()
    secret = "deploy-test-secret"
    text = (DEPLOY / "coturn" / "turnserver.conf").read_text()
    replaced = {
        "listening-port=3478": f"listening-port={port}\nlistening-ip=127.0.0.1\nrelay-ip=127.0.0.1",
        "tls-listening-port=443": f"tls-listening-port={tls_port}",
        "cert=/etc/ssl/turn/fullchain.pem": f"cert={cert}",
        "pkey=/etc/ssl/turn/privkey.pem": f"pkey={key}",
        "static-auth-secret=CHANGE-ME-same-as-TURN_SHARED_SECRET": f"static-auth-secret={secret}",
        "syslog": f"log-file={tmp_path / 'turn.log'}\npidfile={tmp_path / 'turn.pid'}\n"
        f"userdb={tmp_path / 'turndb.sqlite'}",
    }
    for old, new in replaced.items():
        assert old in text, f"deploy/coturn/turnserver.conf no longer has {old!r}"
        text = text.replace(old, new)
    config = tmp_path / "turnserver.conf"
    config.write_text(text)
    proc = subprocess.Popen(
        [TURNSERVER, "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 15
        while not stun_binding_ok("127.0.0.1", port):
            assert proc.poll() is None, "coturn exited with the shipped configuration"
            assert time.monotonic() < deadline, "coturn did not answer"
            time.sleep(0.2)
        settings.TURN_SHARED_SECRET = secret
        username, password = turn_credentials(participant_id=7)
        assert allocate(port, username, password) == 0
        settings.TURN_SHARED_SECRET = "another secret"
        username, password = turn_credentials(participant_id=7)
        assert allocate(port, username, password) == 401
    finally:
        proc.terminate()
        proc.wait(timeout=10)
