"""Test settings: the embedded defaults, or PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set."""

import os
import tempfile

os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production")
# A fixed, public test key (32 bytes "test-only-document-master-key!!!"); documents tests
# set their own per test (sprechstunde.documents.testing).
os.environ.setdefault(
    "DOCUMENT_MASTER_KEYS", "test-only:dGVzdC1vbmx5LWRvY3VtZW50LW1hc3Rlci1rZXkhISE="
)
os.environ.setdefault("USE_TLS", "false")
# Production settings refuse to start without DEBUG and without a mail server; tests collect
# mails in memory (django.core.mail.outbox).
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
# Redis keeps the cache between runs and is shared by parallel runs: each run gets its own keys,
# so that counters such as the per-account login budget never leak from one run into the next.
os.environ.setdefault("CACHE_KEY_PREFIX", f"sprechstunde-test-{os.getpid()}")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
# Decisions name where an objection is lodged (required with decisions enabled,
# agreements.checks). JOBCENTER_ADDRESS and _PHONE stay empty by default: tests that show
# them set them, and tests enable decisions per test (seal_pki), never for the checks.
os.environ.setdefault(
    "JOBCENTER_OBJECTION_ADDRESS",
    "Jobcenter Musterstadt, Widerspruchsstelle, Musterstraße 1, 88212 Musterstadt",
)
os.environ.setdefault(
    "SPRECHSTUNDE_VAR_DIR", tempfile.mkdtemp(prefix=f"sprechstunde-test-{os.getpid()}-")
)

from .base import *  # noqa: F403
from .base import DATABASES, VAR_DIR

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not :memory:, so the browser tests' server thread sees the same database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
    # Tests keep opening and closing connections as before (the server default is 60 s).
    if not os.environ.get("DATABASE_CONN_MAX_AGE"):
        DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    # Parallel runs (several developers, CI) must not share one test database.
    DATABASES["default"]["TEST"] = {
        "NAME": os.environ.get("TEST_DATABASE_NAME", f"test_sprechstunde_{os.getpid()}")
    }
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Same backend, but tables are emptied between tests with DELETE, not TRUNCATE (10 to
        # 30 times faster on our nearly empty test tables); see config/testing/postgresql.
        DATABASES["default"]["ENGINE"] = "config.testing.postgresql"

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
WHITENOISE_USE_FINDERS = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tests run with DEBUG off (as in production) but need the outbox page: the browser journeys
# read codes and links from it. Only the test settings turn it on without DEBUG.
DEV_OUTBOX_ENABLED = True
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
