"""Named points inside jobs where the fault tests stop a worker process (ADR 0082).

Production never sets SPRECHSTUNDE_FAULT_POINT, and then `fault_point()` does nothing. A
test starts a worker with SPRECHSTUNDE_FAULT_POINT=<name> and SPRECHSTUNDE_FAULT_POINT_FILE
=<path>: on reaching that point the worker writes the file and waits there, so the test can
kill it with SIGKILL at exactly that step.
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def fault_point(name: str, kind: str = "") -> None:
    """Wait forever at this point when a test asked for it (by `name`, or by `name:kind` to
    stop only for one kind of job); otherwise return at once."""
    target = os.environ.get("SPRECHSTUNDE_FAULT_POINT")
    if not target or target not in (name, f"{name}:{kind}"):
        return
    marker = os.environ.get("SPRECHSTUNDE_FAULT_POINT_FILE", "")
    if marker:
        Path(marker).write_text(f"{os.getpid()}\n", encoding="utf-8")
    while True:
        time.sleep(1)
