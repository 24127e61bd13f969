"""deploy/nginx/sprechstunde.conf made runnable in a test: certificates, ports, log paths and
the upstream nodes replaced, nothing else changed."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SITE = REPO / "deploy" / "nginx" / "sprechstunde.conf"


def nginx_binary() -> str | None:
    found = shutil.which("nginx")
    if found:
        return found
    return "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None


def free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def self_signed(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "fullchain.pem", folder / "privkey.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=sprechstunde.example", "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def nginx_config(
    folder: Path, *, http_port: int, https_port: int, nodes: list[int] | None = None
) -> Path:
    """Write nginx.conf (including the shipped site) into `folder`; returns its path. `nodes`:
    the web nodes' ports in place of 8001 and 8002."""
    cert, key = self_signed(folder)
    site = SITE.read_text()
    site = site.replace("/etc/ssl/sprechstunde/fullchain.pem", str(cert))
    site = site.replace("/etc/ssl/sprechstunde/privkey.pem", str(key))
    site = site.replace("/var/log/nginx/", f"{folder}/")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
    site = site.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;")
    site = re.sub(r"\s*listen \[::\]:\d+[^;]*;", "", site)
    if nodes is not None:
        shipped = re.findall(r"^\s*server 127\.0\.0\.1:\d+[^;]*;\n", site, flags=re.M)
        assert len(shipped) == 2, "the shipped upstream has two nodes"
        lines = "".join(shipped[0].replace("127.0.0.1:8001", f"127.0.0.1:{port}") for port in nodes)
        site = site.replace("".join(shipped), lines)
    (folder / "site.conf").write_text(site)
    main = folder / "nginx.conf"
    main.write_text(
        f"pid {folder}/nginx.pid;\n"
        f"error_log {folder}/error.log;\n"
        "events {}\n"
        "http {\n"
        f"  access_log {folder}/access.log;\n"
        f"  client_body_temp_path {folder}/body;\n"
        f"  proxy_temp_path {folder}/proxy;\n"
        f"  include {folder}/site.conf;\n"
        "}\n"
    )
    return main
