"""Settings for the server processes started by test_two_processes: production settings
(from the environment: SQLite file, Redis channel layer) with the per-connection rate limit
lifted, because that test is about loss and duplicates, not about throttling."""

import os

# Production settings refuse to start without a mail server; nobody reads these mails.
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.dummy.EmailBackend")

from config.settings.base import *  # noqa: F403

MESSAGE_WS_SEND_RATE = (100_000, 1.0)
MESSAGE_WS_FRAME_RATE = (100_000, 1.0)
