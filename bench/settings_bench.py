"""Settings for `make bench` only: production settings plus two baseline views.

The baselines live in bench/urls_bench.py, which wraps config.urls; production URLs never
contain them.
"""

import os

# Production settings refuse to start without document master keys; the bench keeps no
# documents worth protecting, so a fixed, public bench-only key will do (32 bytes).
os.environ.setdefault(
    "DOCUMENT_MASTER_KEYS", "bench-only:YmVuY2gtb25seS1kb2N1bWVudC1tYXN0ZXIta2V5ISE="
)

# Production settings refuse to start without a mail server; nobody reads these mails.
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.dummy.EmailBackend")

from config.settings.base import *  # noqa: F403
from config.settings.base import BASE_DIR, TEMPLATES

ROOT_URLCONF = "bench.urls_bench"
TEMPLATES[0]["DIRS"] = [*TEMPLATES[0]["DIRS"], BASE_DIR / "bench" / "templates"]
