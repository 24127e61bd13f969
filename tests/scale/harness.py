"""What the tests/scale suites share to run the app's nodes: the environment of a web node
and the preparation of its database (migrations, static files, test data made by a
`python -m` module that prints one JSON line)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
HOST = "sprechstunde.example"


def node_environment(
    folder: Path, *, database_url: str, redis_url: str, **extra: str
) -> dict[str, str]:
    """The environment of a production-like web node (bench settings, TLS behind the proxy,
    the pool of 4) on `database_url` and `redis_url`; `extra` adds or overrides."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_", "REDIS_", "CACHE_KEY_", "PYTEST"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.settings_messaging",
            "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]),
            "DEBUG": "false",
            "SECRET_KEY": "scale-" + uuid.uuid4().hex,
            "USE_TLS": "true",
            "ALLOWED_HOSTS": f"{HOST},127.0.0.1",
            "SITE_URL": f"https://{HOST}",
            "SPRECHSTUNDE_VAR_DIR": str(folder / "var"),
            "DATABASE_URL": database_url,
            "DATABASE_POOL_MAX_SIZE": "4",
            "REDIS_URL": redis_url,
            "CACHE_KEY_PREFIX": f"test-nodes-{uuid.uuid4().hex[:8]}",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            **extra,
        }
    )
    return env


def prepare(env: dict[str, str], data_module: str) -> dict[str, Any]:
    """Migrate, collect the static files, run `python -m data_module`; its JSON line."""
    for command in (["migrate", "--no-input", "-v0"], ["collectstatic", "--no-input", "-v0"]):
        subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=REPO,
            env=env,
            check=True,
            capture_output=True,
            timeout=600,
        )
    prepared = subprocess.run(
        [sys.executable, "-m", data_module],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if prepared.returncode:
        # Say why: the exception alone names only the command.
        raise AssertionError(f"{data_module} failed:\n{prepared.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(prepared.stdout.strip().splitlines()[-1])
    return result
