"""A throw-away Sprechstunde for benchmarks: temp data dir, demo data, `manage.py serve`.

The server runs as in production (DEBUG off, WhiteNoise with collected, compressed static
files, uvicorn) with bench/settings_bench.py, on a free loopback port.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class BenchServer:
    """A running server plus what bench/prepare.py created for it."""

    base_url: str
    var_dir: Path
    log_path: Path
    fixtures: dict[str, str] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def client_cookie(self) -> str:
        """The Cookie header of a logged-in client (the session created by prepare.py)."""
        return f"{self.fixtures['session_cookie_name']}={self.fixtures['session_key']}"


def bench_env(
    var_dir: Path, port: int, database_url: str | None, redis_url: str | None = None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.settings_bench",
            "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]),
            "DEBUG": "false",
            "SECRET_KEY": "bench-only-" + os.urandom(16).hex(),
            "USE_TLS": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SITE_URL": f"http://127.0.0.1:{port}",
            "SPRECHSTUNDE_VAR_DIR": str(var_dir),
            "EMBEDDED_TASK_WORKER": "false",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def _manage(
    env: dict[str, str], *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, str(REPO / "manage.py"), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=check,
        timeout=600,
    )


def _wait_until_up(url: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    raise RuntimeError(f"server did not answer {url} within 60 s:\n{log_path.read_text()[-3000:]}")


def serve_and_wait(
    *, port: int, env: dict[str, str], log_path: Path
) -> tuple[subprocess.Popen[bytes], str]:
    """Start `manage.py serve` on 127.0.0.1:port (output to log_path) and wait for its health
    check; returns the process and its base URL."""
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [PYTHON, str(REPO / "manage.py"), "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base_url + "/gesundheit/", proc, log_path)
    except BaseException:
        if proc.poll() is None:  # the caller never gets it, so stop it here
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        raise
    return proc, base_url


@contextlib.contextmanager
def running_server(
    *, database_url: str | None = None, redis_url: str | None = None, quiet: bool = False
) -> Iterator[BenchServer]:
    """Prepare a fresh database and serve it; everything is removed again on exit.

    `database_url` must name an empty database (PostgreSQL); `redis_url` puts the cache on
    Redis (the scaled configuration)."""
    var_dir = Path(tempfile.mkdtemp(prefix="sprechstunde-bench-"))
    port = free_port()
    env = bench_env(var_dir, port, database_url, redis_url)
    log_path = var_dir / "server.log"

    def note(text: str) -> None:
        if not quiet:
            print(f"  [setup] {text}", file=sys.stderr, flush=True)

    proc: subprocess.Popen[bytes] | None = None
    try:
        note(f"data dir {var_dir}")
        _manage(env, "migrate", "--no-input", "-v0")
        _manage(env, "collectstatic", "--no-input", "-v0")
        # --force: DEBUG is off here; the published demo passwords harm nobody in a temp DB.
        demo = _manage(env, "load_demo_data", "--force", check=False)
        if demo.returncode != 0:
            last = (demo.stderr.strip().splitlines() or ["no output"])[-1]
            note(f"load_demo_data failed ({last}); continuing without demo data")
        prepared = subprocess.run(
            [PYTHON, "-m", "bench.prepare"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        )
        fixtures = json.loads(prepared.stdout.strip().splitlines()[-1])
        proc, base_url = serve_and_wait(port=port, env=env, log_path=log_path)
        note(f"serving at {base_url} (pid {proc.pid})")
        yield BenchServer(base_url=base_url, var_dir=var_dir, log_path=log_path, fixtures=fixtures)
    except subprocess.CalledProcessError as error:
        raise RuntimeError(
            f"bench setup step failed: {error.cmd}\n{error.stdout}\n{error.stderr}"
        ) from error
    finally:
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        shutil.rmtree(var_dir, ignore_errors=True)


def machine_info() -> str:
    """One line about the machine the figures come from."""
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB RAM"
    return f"{os.cpu_count()} CPUs ({cpu}){memory}, Python {sys.version.split()[0]}"
