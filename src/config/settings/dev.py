"""Settings for `make run`: the embedded defaults with DEBUG on and a worker thread."""

import os

os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("USE_TLS", "false")
os.environ.setdefault("EMBEDDED_TASK_WORKER", "true")

from .base import *  # noqa: F403
