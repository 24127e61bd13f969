"""Settings for `make run`: the embedded defaults with DEBUG on and a worker thread."""

import os

os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("USE_TLS", "false")
os.environ.setdefault("EMBEDDED_TASK_WORKER", "true")
# The demo seal enables decisions, which need the Jobcenter's address, phone and objection
# place (agreements.checks): a made-up Jobcenter, so `make run` starts from a fresh clone.
os.environ.setdefault("JOBCENTER_ADDRESS", "Musterstraße 1\n88212 Musterstadt")
os.environ.setdefault("JOBCENTER_PHONE", "0751 123456-0")
os.environ.setdefault(
    "JOBCENTER_OBJECTION_ADDRESS",
    "Jobcenter Musterstadt, Widerspruchsstelle, Musterstraße 1, 88212 Musterstadt",
)

from .base import *  # noqa: F403
