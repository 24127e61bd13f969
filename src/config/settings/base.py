"""Settings for Sprechstunde, read from environment variables (see .env.example).

With no environment at all this is the embedded mode: SQLite, in-process channel layer,
in-process task worker, local file storage and (with DEBUG) a dev outbox for e-mail.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parents[3]
SRC_DIR = BASE_DIR / "src"
VAR_DIR = Path(os.environ.get("SPRECHSTUNDE_VAR_DIR") or BASE_DIR / "var")


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if DEBUG:
        SECRET_KEY = "insecure-dev-key-only-for-make-run"  # noqa: S105
    else:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable "
            "(see .env.example), or DEBUG=true for local development."
        )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# The public base URL is used in e-mails (invitation links) where no request is at hand.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    # Before django_tasks_db: core's `db_worker` command (the same worker, which first
    # queues the periodic jobs) takes the place of the upstream one.
    "sprechstunde.core",
    "django_tasks",
    "django_tasks_db",
    "sprechstunde.audit",
    "sprechstunde.accounts",
    "sprechstunde.clients",
    "sprechstunde.appointments",
    "sprechstunde.messaging",
    "sprechstunde.reporting",
    "sprechstunde.documents",
    "sprechstunde.video_calls",
    "sprechstunde.signatures",
    "sprechstunde.agreements",
    "sprechstunde.compliance",
    "sprechstunde.subject_access",
    "sprechstunde.accessibility",
    "sprechstunde.retention",
    "sprechstunde.desk",
    "sprechstunde.eforms",
    "sprechstunde.efile",
    "sprechstunde.backups",
]

MIDDLEWARE = [
    # Outermost: the request id for every log line, and the time of the whole answer.
    "sprechstunde.core.middleware.RequestObservationMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "sprechstunde.core.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After WhiteNoise (static files stay cacheable), before sessions (sees what they did).
    "sprechstunde.core.middleware.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "sprechstunde.accounts.middleware.UserLanguageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # allauth's session tracking, written at most once per interval (ADR 0092).
    "sprechstunde.accounts.middleware.UserSessionActivityMiddleware",
    "sprechstunde.accounts.middleware.StaffMFARequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Innermost: turns a view's refusal of another role's page into "who can use this".
    "sprechstunde.accounts.middleware.OtherRolePageMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [SRC_DIR / "sprechstunde" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "sprechstunde.core.context_processors.site",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
VAR_DIR.mkdir(parents=True, exist_ok=True)
(VAR_DIR / "static").mkdir(exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE") or "0"),
    )
}
# SQLite (the embedded configuration) keeps its connection for a minute unless told otherwise:
# opening the file again for every websocket frame and closing it after (the last connection
# to close checkpoints the write-ahead log) cost a chat message more than its own statements
# (ADR 0091). PostgreSQL uses the pool below instead.
SQLITE_DEFAULT_CONN_MAX_AGE = 60
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3" and not os.environ.get(
    "DATABASE_CONN_MAX_AGE"
):
    DATABASES["default"]["CONN_MAX_AGE"] = SQLITE_DEFAULT_CONN_MAX_AGE
DATABASE_POOL_MAX_SIZE = int(os.environ.get("DATABASE_POOL_MAX_SIZE", "10"))
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and DATABASE_POOL_MAX_SIZE:
    # A connection pool per process (psycopg_pool). Under ASGI, persistent connections
    # (CONN_MAX_AGE) are held per request thread and pile up until PostgreSQL refuses new
    # clients; the pool bounds them and still saves the connect per request (ADR 0038).
    if DATABASES["default"]["CONN_MAX_AGE"]:
        raise ImproperlyConfigured(
            "DATABASE_CONN_MAX_AGE must be 0 (unset) while the connection pool is on; "
            "set DATABASE_POOL_MAX_SIZE=0 to use persistent connections instead."
        )
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": min(2, DATABASE_POOL_MAX_SIZE),
        "max_size": DATABASE_POOL_MAX_SIZE,
        "timeout": float(os.environ.get("DATABASE_POOL_TIMEOUT", "10")),
    }
    # A pooled connection the server has closed (restart, idle timeout) is replaced, not used.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web server and the task worker share the file.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache and channel layer ---------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "sprechstunde"),
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            # channels_redis's layer, with a receive a closing consumer can always stop.
            "BACKEND": "sprechstunde.core.channel_layers.RedisChannelLayer",
            "CONFIG": {
                # redis-py 8 times reads out after 5 s by default, exactly as long as
                # channels_redis blocks in BZPOPMIN: a race that kills consumers. Wait longer.
                # redis-py's asyncio pool refuses a 101st concurrent connection instead of
                # waiting; 200 chat sockets sending at once need more (bench/messaging_fanout.py).
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_timeout": 30,
                        "max_connections": int(os.environ.get("REDIS_MAX_CONNECTIONS", "1000")),
                    }
                ],
                "prefix": os.environ.get("CACHE_KEY_PREFIX", "sprechstunde") + ":asgi",
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "sprechstunde",
        }
    }
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Background tasks -----------------------------------------------------------------------
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# make run starts a worker thread inside the server process; production runs db_worker.
EMBEDDED_TASK_WORKER = env_bool("EMBEDDED_TASK_WORKER", False)
# Every worker beats this often; a job whose worker has not beaten for the lease is put back
# into the queue, and given up after this many dead workers (ADR 0082).
TASK_WORKER_HEARTBEAT_SECONDS = float(os.environ.get("TASK_WORKER_HEARTBEAT_SECONDS", "10"))
TASK_WORKER_LEASE_SECONDS = float(os.environ.get("TASK_WORKER_LEASE_SECONDS", "60"))
TASK_MAX_WORKER_LOSSES = int(os.environ.get("TASK_MAX_WORKER_LOSSES", "5"))

# --- Authentication -------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # The documented context words (OWASP ASVS 6.1.2): the service's and the Jobcenter's names.
    {"NAME": "sprechstunde.accounts.password_validation.ContextWordsValidator"},
    # An offline list of breached passwords (ASVS 6.2.12), on top of Django's common ones.
    {"NAME": "sprechstunde.accounts.password_validation.BreachedPasswordValidator"},
]
# Sorted SHA-1 digests of breached passwords, one a line (the Pwned Passwords download); empty:
# only Django's list of 20,000 common passwords applies. docs/operations.md says how to get it.
BREACHED_PASSWORDS_FILE = os.environ.get("BREACHED_PASSWORDS_FILE", "")
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "account_login"

ACCOUNT_ADAPTER = "sprechstunde.accounts.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_TIMEOUT = 10 * 60
# Three wrong tries and the code is void: a new one must be requested (and mailed).
ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS = 3
ACCOUNT_LOGIN_BY_CODE_FORMAT = {"numeric": True, "length": 6, "dashed": False}
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
ACCOUNT_RATE_LIMITS = {
    # Login codes: at most 20 requests a minute from one IP; for one address 3 in 10 minutes
    # and 10 a day, so requesting codes cannot flood a client's mailbox.
    "request_login_code": "20/m/ip,3/10m/key,10/d/key",
    # Failed logins (password and code): per IP and per account.
    "login_failed": "10/m/ip,5/5m/key",
    "login": "30/m/ip",
    "reset_password": "20/m/ip,5/m/key",
}
# One failure budget per account (sprechstunde.accounts.login_budget) over codes, passwords
# and TOTP, on top of allauth's short-term limits. The arithmetic: docs/login-codes.md.
LOGIN_FAILURE_BUDGET = 10  # failed attempts, then sign-in pauses ...
LOGIN_FAILURE_MEMORY = 30 * 24 * 3600  # ... counting failures of the last 30 days
LOGIN_PAUSE_FIRST = 60 * 60  # the first pause: one hour ...
LOGIN_PAUSE_FACTOR = 4  # ... each further pause four times longer ...
LOGIN_PAUSE_MAX = 30 * 24 * 3600  # ... up to 30 days
ACCOUNT_FORMS = {
    "login": "sprechstunde.accounts.forms.StaffLoginForm",
    # Codes by e-mail are for clients only; staff addresses are treated like unknown ones.
    "request_login_code": "sprechstunde.accounts.forms.client_login.ClientLoginCodeForm",
    "confirm_login_code": "sprechstunde.accounts.forms.client_login.NumericCodeConfirmForm",
    # Passwords are for staff only; a client's address gets no reset mail.
    "reset_password": "sprechstunde.accounts.forms.StaffPasswordResetForm",
}
# Nobody can sign up, so a mail "there is no account, sign up here" would only confuse.
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False

MFA_ADAPTER = "sprechstunde.accounts.adapters.MFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
# TOTP and recovery codes count against the same per-account budget as passwords and codes.
MFA_FORMS = {"authenticate": "sprechstunde.accounts.forms.BudgetedMFAAuthenticateForm"}
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_TOTP_ISSUER = os.environ.get("MFA_TOTP_ISSUER", "Sprechstunde")
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG
MFA_RECOVERY_CODE_COUNT = 10
# Sign-up is closed (accounts are made by admins or invitations), so the attack this guards
# against (squatting an unverified address) cannot happen; staff addresses are not verified
# through allauth's e-mail confirmation, and must be able to set up 2FA at once.
MFA_ALLOW_UNVERIFIED_EMAIL = True
# Every staff login asks for the second factor; no "trust this browser".
MFA_TRUST_ENABLED = False

SOCIALACCOUNT_ADAPTER = "sprechstunde.accounts.adapters.SocialAccountAdapter"
SOCIALACCOUNT_ONLY = False
# allauth's OpenID Connect client with a nonce, PKCE and the ID token always checked (ADR 0071).
SOCIALACCOUNT_PROVIDERS: dict[str, dict[str, object]] = {
    "openid_connect": {
        "provider_class": "sprechstunde.accounts.oidc.provider.StrictOpenIDConnectProvider"
    }
}
if os.environ.get("OIDC_SERVER_URL"):
    SOCIALACCOUNT_PROVIDERS["openid_connect"]["APPS"] = [
        {
            "provider_id": "authority",
            "name": os.environ.get("OIDC_NAME", "Single sign-on"),
            "client_id": os.environ.get("OIDC_CLIENT_ID", ""),
            "secret": os.environ.get("OIDC_CLIENT_SECRET", ""),
            "settings": {"server_url": os.environ["OIDC_SERVER_URL"]},
        }
    ]

USERSESSIONS_TRACK_ACTIVITY = True
# The list of active sessions: last activity written at most this often per session (a
# changed IP address or browser at once); 0 writes on every request (ADR 0092).
USERSESSIONS_ACTIVITY_INTERVAL = 300

# --- Sessions, cookies, security headers ----------------------------------------------------
USE_TLS = env_bool("USE_TLS", not DEBUG)
SESSION_COOKIE_SECURE = USE_TLS
CSRF_COOKIE_SECURE = USE_TLS
# Under TLS the cookies carry the __Host- prefix (OWASP ASVS 3.3.1, 3.3.3; ADR 0071): browsers
# then accept them only with Secure, Path=/ and no Domain, so no subdomain can set or shadow
# them. Without TLS (make run, tests) browsers would drop such cookies, so the plain names stay.
_COOKIE_PREFIX = "__Host-" if USE_TLS else ""
SESSION_COOKIE_NAME = f"{_COOKIE_PREFIX}sessionid"
CSRF_COOKIE_NAME = f"{_COOKIE_PREFIX}csrftoken"
LANGUAGE_COOKIE_NAME = f"{_COOKIE_PREFIX}django_language"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SECURE = USE_TLS
LANGUAGE_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(8 * 60 * 60)))
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if USE_TLS:
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 60 * 60)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Probes and the metrics scraper may ask a node directly over plain HTTP (ADR 0081).
    SECURE_REDIRECT_EXEMPT = [r"^gesundheit/", r"^metrics$"]

# --- Invitations and consent ----------------------------------------------------------------
INVITATION_VALID_DAYS = int(os.environ.get("INVITATION_VALID_DAYS", "7"))
# Where a booked video appointment goes when the client withdraws the video consent (ADR 0051):
# "phone" or "on_site" (at the address of the case manager's office hours, else JOBCENTER_ADDRESS).
APPOINTMENT_CHANNEL_WITHOUT_VIDEO = os.environ.get("APPOINTMENT_CHANNEL_WITHOUT_VIDEO", "phone")
if APPOINTMENT_CHANNEL_WITHOUT_VIDEO not in ("phone", "on_site"):
    raise ImproperlyConfigured('APPOINTMENT_CHANNEL_WITHOUT_VIDEO must be "phone" or "on_site".')

# --- Messages -------------------------------------------------------------------------------
# An e-mail notice "you have a new message" goes out when a message is still unread this long.
MESSAGE_NOTICE_DELAY_SECONDS = int(os.environ.get("MESSAGE_NOTICE_DELAY_SECONDS", "900"))
# Per websocket connection: at most N messages (and N frames of any kind) in S seconds.
MESSAGE_WS_SEND_RATE = (20, 10.0)
MESSAGE_WS_FRAME_RATE = (60, 10.0)

# --- Video calls ----------------------------------------------------------------------------
# Our own coturn only (no public STUN): "turn:turn.example.org:3478?transport=udp,turns:...".
# Empty: no ICE servers at all, so browsers on one LAN still connect by host candidates.
TURN_URLS = env_list("TURN_URLS")
# coturn's static-auth-secret (use-auth-secret); credentials are minted per participant.
TURN_SHARED_SECRET = os.environ.get("TURN_SHARED_SECRET", "")
TURN_CREDENTIAL_TTL_SECONDS = int(os.environ.get("TURN_CREDENTIAL_TTL_SECONDS", "1800"))
# Send all media through coturn (hides participants' addresses from each other).
TURN_RELAY_ONLY = env_bool("TURN_RELAY_ONLY", False)
# Per websocket connection of a call: at most N frames in S seconds (ICE candidates included).
VIDEO_WS_FRAME_RATE = (200, 10.0)

# --- Plans and decisions (agreements) ---------------------------------------------------------
# When a decision counts as announced (Bekanntgabe, § 37 SGB X): on day N after the content-free
# notice about the postbox (§ 37 (2a): 3), or after it was handed to the post (§ 37 (2): 4 since
# 2025). Settings, so that a change of the law is not a code change.
DECISION_PORTAL_ANNOUNCEMENT_DAYS = int(os.environ.get("DECISION_PORTAL_ANNOUNCEMENT_DAYS", "3"))
DECISION_POSTAL_ANNOUNCEMENT_DAYS = int(os.environ.get("DECISION_POSTAL_ANNOUNCEMENT_DAYS", "4"))

# --- Signatures (PAdES seal and validation; docs/operations.md) ------------------------------
# Where the platform seal key lives: pkcs12 | pkcs11 | csc, or demo (self-signed, var/seal-demo,
# the default only with DEBUG). Empty: sealing raises SealingUnavailable.
SEAL_KEY_SOURCE = os.environ.get("SEAL_KEY_SOURCE", "demo" if DEBUG else "").strip().lower()
SEAL_DEFAULT_LEVEL = os.environ.get("SEAL_DEFAULT_LEVEL", "B-LT")
SEAL_PKCS12_PATH = os.environ.get("SEAL_PKCS12_PATH", "")
SEAL_PKCS12_PASSPHRASE = os.environ.get("SEAL_PKCS12_PASSPHRASE", "")
SEAL_PKCS11_MODULE = os.environ.get("SEAL_PKCS11_MODULE", "")
SEAL_PKCS11_TOKEN_LABEL = os.environ.get("SEAL_PKCS11_TOKEN_LABEL", "")
SEAL_PKCS11_PIN = os.environ.get("SEAL_PKCS11_PIN", "")
SEAL_PKCS11_KEY_LABEL = os.environ.get("SEAL_PKCS11_KEY_LABEL", "")
SEAL_PKCS11_CERT_LABEL = os.environ.get("SEAL_PKCS11_CERT_LABEL", "")
SEAL_CSC_URL = os.environ.get("SEAL_CSC_URL", "")
SEAL_CSC_CREDENTIAL_ID = os.environ.get("SEAL_CSC_CREDENTIAL_ID", "")
SEAL_CSC_TOKEN = os.environ.get("SEAL_CSC_TOKEN", "")
SEAL_CSC_PIN = os.environ.get("SEAL_CSC_PIN", "")
# RFC 3161 time-stamping service (needed from level B-T on).
SEAL_TSA_URL = os.environ.get("SEAL_TSA_URL", "")
# PEM files (comma-separated): roots of the seal and TSA chains; intermediates for a token
# that holds only the seal certificate.
SEAL_TRUST_ROOTS = os.environ.get("SEAL_TRUST_ROOTS", "")
SEAL_CERT_CHAIN = os.environ.get("SEAL_CERT_CHAIN", "")
SEAL_NETWORK_TIMEOUT = float(os.environ.get("SEAL_NETWORK_TIMEOUT", "10"))
# B-LT seals reuse OCSP responses and CRLs until shortly before their nextUpdate, but never
# longer than this many seconds (0: fetch them for every seal).
SEAL_REVOCATION_CACHE_SECONDS = float(os.environ.get("SEAL_REVOCATION_CACHE_SECONDS", "3600"))
SEAL_DEMO_DIR = Path(os.environ.get("SEAL_DEMO_DIR") or VAR_DIR / "seal-demo")
# Checking uploaded PDFs: size limit, and whether staff checks may fetch missing OCSP/CRL
# data online (public and client checks never fetch; ADR 0040).
SIGNATURE_VALIDATION_MAX_BYTES = int(
    os.environ.get("SIGNATURE_VALIDATION_MAX_BYTES", str(20 * 1024 * 1024))
)
SIGNATURE_VALIDATION_FETCH = env_bool("SIGNATURE_VALIDATION_FETCH", True)
# URL prefixes of in-house OCSP/CRL services that staff checks may reach although their
# address is private or loopback (comma-separated; default none).
SIGNATURE_REVOCATION_INTERNAL_URLS = os.environ.get("SIGNATURE_REVOCATION_INTERNAL_URLS", "")
# The login-free check page: checks per minute from one address (IPv6: one /64), and in all.
SIGNATURE_PUBLIC_CHECK_PER_ADDRESS = int(os.environ.get("SIGNATURE_PUBLIC_CHECK_PER_ADDRESS", "10"))
SIGNATURE_PUBLIC_CHECK_TOTAL = int(os.environ.get("SIGNATURE_PUBLIC_CHECK_TOTAL", "60"))

# --- Documents ------------------------------------------------------------------------------
# Limits for one document (a file, or the photos that become one PDF).
DOCUMENT_MAX_BYTES = int(os.environ.get("DOCUMENT_MAX_BYTES", str(50 * 1024 * 1024)))
DOCUMENT_MAX_PAGES = int(os.environ.get("DOCUMENT_MAX_PAGES", "50"))
DOCUMENT_MAX_FILES = int(os.environ.get("DOCUMENT_MAX_FILES", "30"))
# Larger images are refused before decoding (decompression bombs); photos are scaled down.
DOCUMENT_MAX_IMAGE_PIXELS = int(os.environ.get("DOCUMENT_MAX_IMAGE_PIXELS", "50000000"))
DOCUMENT_IMAGE_MAX_EDGE = int(os.environ.get("DOCUMENT_IMAGE_MAX_EDGE", "2000"))
DOCUMENT_JPEG_QUALITY = int(os.environ.get("DOCUMENT_JPEG_QUALITY", "80"))
DOCUMENT_PREVIEW_WIDTH = int(os.environ.get("DOCUMENT_PREVIEW_WIDTH", "1000"))
# Untrusted files are decoded in a child process (ADR 0043) with this much address space, for
# DOCUMENT_DECODE_SECONDS plus ..._PER_PAGE per page (CPU and wall clock), and may unpack to
# at most DOCUMENT_DECODE_MAX_BYTES in all (images at their declared pixel size).
DOCUMENT_DECODE_MEMORY_MB = int(os.environ.get("DOCUMENT_DECODE_MEMORY_MB", "768"))
DOCUMENT_DECODE_SECONDS = float(os.environ.get("DOCUMENT_DECODE_SECONDS", "30"))
DOCUMENT_DECODE_SECONDS_PER_PAGE = float(os.environ.get("DOCUMENT_DECODE_SECONDS_PER_PAGE", "10"))
DOCUMENT_DECODE_MAX_BYTES = int(
    os.environ.get("DOCUMENT_DECODE_MAX_BYTES", str(2 * 1024 * 1024 * 1024))
)
# Resumable uploads: chunks are appended to files here (plaintext only until completion).
DOCUMENT_UPLOAD_DIR = Path(os.environ.get("DOCUMENT_UPLOAD_DIR") or VAR_DIR / "uploads")
DOCUMENT_UPLOAD_CHUNK_BYTES = int(os.environ.get("DOCUMENT_UPLOAD_CHUNK_BYTES", str(512 * 1024)))
DOCUMENT_UPLOAD_EXPIRY_HOURS = int(os.environ.get("DOCUMENT_UPLOAD_EXPIRY_HOURS", "24"))
# Per user, uploads not yet turned into a document (unexpired; finished or not, as both hold
# disk): at most this many, declaring at most this many bytes together. The count must allow
# a full batch of photos (DOCUMENT_MAX_FILES); the bytes default to two documents' worth.
DOCUMENT_MAX_OPEN_UPLOADS = int(os.environ.get("DOCUMENT_MAX_OPEN_UPLOADS", "40"))
DOCUMENT_MAX_OPEN_UPLOAD_BYTES = int(
    os.environ.get("DOCUMENT_MAX_OPEN_UPLOAD_BYTES", str(2 * DOCUMENT_MAX_BYTES))
)
if DOCUMENT_MAX_OPEN_UPLOADS < DOCUMENT_MAX_FILES:
    raise ImproperlyConfigured(
        "DOCUMENT_MAX_OPEN_UPLOADS must be at least DOCUMENT_MAX_FILES: every photo of a "
        "document is one upload until the document is sent."
    )
# The task worker sweeps every N minutes: processing left unfinished (the worker died) is
# queued again after the grace period, at most MAX_ATTEMPTS runs in all before the document
# is marked failed; documents whose virus check failed are checked again; expired uploads go.
DOCUMENT_SWEEP_INTERVAL_MINUTES = int(os.environ.get("DOCUMENT_SWEEP_INTERVAL_MINUTES", "5"))
DOCUMENT_PROCESSING_GRACE_MINUTES = int(os.environ.get("DOCUMENT_PROCESSING_GRACE_MINUTES", "30"))
DOCUMENT_PROCESSING_MAX_ATTEMPTS = int(os.environ.get("DOCUMENT_PROCESSING_MAX_ATTEMPTS", "3"))
# "id:base64-of-32-bytes,old-id:..." - the first key wraps new data keys, the others only
# unwrap until `manage.py documents_rotate_keys` has re-wrapped everything. Required unless
# DEBUG: a key made up silently would leave documents readable by anyone with the disk and
# lost with the folder. With DEBUG (`make run`) a key file in SPRECHSTUNDE_VAR_DIR is made.
DOCUMENT_MASTER_KEYS = os.environ.get("DOCUMENT_MASTER_KEYS", "").strip()
if not DOCUMENT_MASTER_KEYS and not DEBUG:
    raise ImproperlyConfigured(
        "DOCUMENT_MASTER_KEYS is not set. Set it to 'key-id:base64-of-32-random-bytes' "
        "(see .env.example and docs/operations.md), or DEBUG=true for local development."
    )
# ClamAV daemon: a Unix socket, or host and port. Neither set: documents wait for the check.
CLAMD_SOCKET = os.environ.get("CLAMD_SOCKET", "")
CLAMD_HOST = os.environ.get("CLAMD_HOST", "")
CLAMD_PORT = int(os.environ.get("CLAMD_PORT", "3310"))
CLAMD_TIMEOUT = float(os.environ.get("CLAMD_TIMEOUT", "60"))
# Days before a requested document's due date on which the client gets a content-free
# reminder e-mail (at most one a day; `manage.py documents_remind` is the safety net).
DOCUMENT_REQUEST_REMIND_DAYS = [
    int(day) for day in env_list("DOCUMENT_REQUEST_REMIND_DAYS", "3,1") if day.isdigit()
]

# --- SMS (issue 13): an HTTP gateway as German providers offer (core/sms_gateway.py) ----------
# Empty URL: no text messages are sent (clients without e-mail are reached by post/phone).
SMS_GATEWAY_URL = os.environ.get("SMS_GATEWAY_URL", "")
# Phone numbers without a country code are read as numbers of this country (ISO 3166).
PHONE_DEFAULT_REGION = os.environ.get("PHONE_DEFAULT_REGION", "DE")
SMS_GATEWAY_TOKEN = os.environ.get("SMS_GATEWAY_TOKEN", "")
SMS_SENDER = os.environ.get("SMS_SENDER", "Jobcenter")[:11]
# The bearer token the gateway sends with delivery reports to /sms/status/.
SMS_STATUS_TOKEN = os.environ.get("SMS_STATUS_TOKEN", "")

# --- i18n -----------------------------------------------------------------------------------
LANGUAGE_CODE = "de"
# Clients read the portal, mails, SMS, calendar texts and receipts in any of these; staff pages
# exist in German and English only (issue 13). The order is the order of the language switch.
LANGUAGES = [
    ("de", _("German")),
    ("en", _("English")),
    ("uk", _("Ukrainian")),
    ("ar", _("Arabic")),
    ("tr", _("Turkish")),
    ("ru", _("Russian")),
    ("fa", _("Persian")),
]
CLIENT_LANGUAGES = [code for code, _name in LANGUAGES]
# A video explaining the portal in German Sign Language (DGS), served by the operator from
# this site (a path such as /media/dgs/portal.mp4, never a third-party host). Empty: the
# page says there is none and names the other ways.
SIGN_LANGUAGE_VIDEO_URL = os.environ.get("SIGN_LANGUAGE_VIDEO_URL", "")
if SIGN_LANGUAGE_VIDEO_URL and not SIGN_LANGUAGE_VIDEO_URL.startswith("/"):
    raise ImproperlyConfigured(
        "SIGN_LANGUAGE_VIDEO_URL must be a path on this site (starting with /): the browser "
        "makes no request to another host."
    )
STAFF_LANGUAGES = ["de", "en"]
# An operator's own wording: catalogues in these folders (`<dir>/<lang>/LC_MESSAGES/django.mo`)
# come first, so any string can be changed without touching the code (docs/operations.md).
LOCALE_PATHS = [Path(path) for path in env_list("LOCALE_OVERRIDE_PATHS")] + [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Berlin"
USE_I18N = True
USE_TZ = True

# --- Static and media -----------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
# The project-wide assets (app.css, favicon, per-feature JS) live outside any app.
STATICFILES_DIRS = [SRC_DIR / "sprechstunde" / "static"]
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(VAR_DIR / "media")},
    },
    # Encrypted document blobs (never served directly; S3 etc. can be configured here).
    "documents": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": os.environ.get("DOCUMENT_STORAGE_DIR") or str(VAR_DIR / "documents")
        },
    },
    "staticfiles": {
        # WhiteNoise's compressed manifest storage, rewriting ES module imports to hashed names.
        "BACKEND": "sprechstunde.core.staticfiles.ModuleAwareStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage",
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Object storage (S3) for documents --------------------------------------------------------
# With DOCUMENT_S3_BUCKET set, encrypted document blobs, previews and the parts of resumable
# uploads go to an S3-compatible bucket (django-storages with boto3; SeaweedFS in the tests),
# so that any app node can continue an upload another node began (ADR 0080). Without it the
# local folders above stay in use (the embedded default). Keys are random: no personal data.
DOCUMENT_S3_BUCKET = os.environ.get("DOCUMENT_S3_BUCKET", "").strip()
if DOCUMENT_S3_BUCKET:
    from botocore.config import Config as _BotoConfig

    STORAGES["documents"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": DOCUMENT_S3_BUCKET,
            "endpoint_url": os.environ.get("DOCUMENT_S3_ENDPOINT_URL", "").strip() or None,
            "access_key": os.environ.get("DOCUMENT_S3_ACCESS_KEY_ID", ""),
            "secret_key": os.environ.get("DOCUMENT_S3_SECRET_ACCESS_KEY", ""),
            "region_name": os.environ.get("DOCUMENT_S3_REGION", "") or None,
            # A folder inside the bucket, so that several Jobcenters can share one bucket.
            "location": os.environ.get("DOCUMENT_S3_PREFIX", "").strip("/"),
            # A CA bundle path for an internal endpoint; "false" only for a test server.
            "verify": (
                os.environ.get("DOCUMENT_S3_CA_BUNDLE") or env_bool("DOCUMENT_S3_VERIFY_TLS", True)
            ),
            # Names are random (storage_crypto.new_storage_name): no existence check first.
            "file_overwrite": True,
            "default_acl": None,
            "querystring_auth": False,
            "client_config": _BotoConfig(
                connect_timeout=float(os.environ.get("DOCUMENT_S3_TIMEOUT", "5")),
                read_timeout=float(os.environ.get("DOCUMENT_S3_TIMEOUT", "5")) * 6,
                retries={"mode": "standard", "max_attempts": 3},
                signature_version="s3v4",
                # Path style works with every S3 server (SeaweedFS, MinIO, Ceph); AWS too.
                s3={"addressing_style": os.environ.get("DOCUMENT_S3_ADDRESSING_STYLE", "path")},
            ),
        },
    }
# Where the parts of a resumable upload wait until the upload is complete: "local" (files in
# DOCUMENT_UPLOAD_DIR, so every chunk of an upload must reach the same node) or "storage"
# (each chunk one encrypted object in the documents storage; any node can take the next chunk).
DOCUMENT_UPLOAD_PARTS = os.environ.get(
    "DOCUMENT_UPLOAD_PARTS", "storage" if DOCUMENT_S3_BUCKET else "local"
).strip()
if DOCUMENT_UPLOAD_PARTS not in {"local", "storage"}:
    raise ImproperlyConfigured('DOCUMENT_UPLOAD_PARTS must be "local" or "storage".')

# --- E-mail ---------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Sprechstunde <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
_DEV_OUTBOX_BACKEND = "sprechstunde.core.mail_outbox.DevOutboxBackend"
# Another Django mail backend instead of SMTP, for processes that must start with production
# settings but send no real mail (benchmarks, multi-process tests): e.g. the dummy backend.
_EMAIL_BACKEND_OVERRIDE = os.environ.get("EMAIL_BACKEND", "").strip()
if os.environ.get("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = os.environ["EMAIL_HOST"]
    EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
    EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
    EMAIL_TIMEOUT = 20
elif _EMAIL_BACKEND_OVERRIDE:
    EMAIL_BACKEND = _EMAIL_BACKEND_OVERRIDE
elif DEBUG:
    # Development: mails are stored in the dev outbox (a page staff can open) and printed.
    EMAIL_BACKEND = _DEV_OUTBOX_BACKEND
else:
    # Without DEBUG the outbox would show every client's login code to every staff member.
    raise ImproperlyConfigured(
        "No mail server is configured. Set EMAIL_HOST (with EMAIL_PORT, EMAIL_HOST_USER, "
        "EMAIL_HOST_PASSWORD, EMAIL_USE_TLS or EMAIL_USE_SSL; see .env.example), or "
        "DEBUG=true for local development, where mails go to the dev outbox."
    )
if EMAIL_BACKEND == _DEV_OUTBOX_BACKEND and not DEBUG:
    raise ImproperlyConfigured(
        "EMAIL_BACKEND names the dev outbox, which is for development only (DEBUG=true). "
        "Set EMAIL_HOST to send mail through an SMTP server."
    )
# The outbox page exists only in development (config.settings.test turns it on for tests).
DEV_OUTBOX_ENABLED = DEBUG and EMAIL_BACKEND == _DEV_OUTBOX_BACKEND

# --- Jobcenter ------------------------------------------------------------------------------
JOBCENTER_NAME = os.environ.get("JOBCENTER_NAME", "Jobcenter")
# The offline ways of contact shown to clients wherever the portal cannot help (optional).
JOBCENTER_PHONE = os.environ.get("JOBCENTER_PHONE", "")
JOBCENTER_ADDRESS = os.environ.get("JOBCENTER_ADDRESS", "")
# Where an objection (Widerspruch) against a decision is lodged, named in every legal-remedy
# instruction. With decisions enabled (SEAL_KEY_SOURCE set), JOBCENTER_ADDRESS, JOBCENTER_PHONE
# and this are required: the start stops with agreements.E001-E003 (agreements/checks.py).
JOBCENTER_OBJECTION_ADDRESS = os.environ.get("JOBCENTER_OBJECTION_ADDRESS", "")

# --- A client's copy of her own data (Art. 15 GDPR, ADR 0064) ---------------------------------
# Days a finished copy can be downloaded; then its file and key are deleted.
DATA_EXPORT_VALID_DAYS = int(os.environ.get("DATA_EXPORT_VALID_DAYS", "7"))
# The access log names staff by role and team; true adds their names (CJEU C-579/21: names
# are not generally owed, times and purposes are; see ADR 0064 before turning this on).
DATA_EXPORT_STAFF_NAMES = env_bool("DATA_EXPORT_STAFF_NAMES", False)

# --- Accessibility statement (BITV 2.0, ADR 0065) ---------------------------------------------
# The body a person turns to when feedback is not answered satisfactorily: for federal bodies
# (gemeinsame Einrichtungen) the Schlichtungsstelle nach § 16 BGG; a municipal Jobcenter
# (zugelassener kommunaler Träger) names its Land's enforcement body instead.
ACCESSIBILITY_ENFORCEMENT_NAME = os.environ.get(
    "ACCESSIBILITY_ENFORCEMENT_NAME",
    "Schlichtungsstelle nach dem Behindertengleichstellungsgesetz (BGG) bei dem Beauftragten "
    "der Bundesregierung für die Belange von Menschen mit Behinderungen",
)
ACCESSIBILITY_ENFORCEMENT_ADDRESS = os.environ.get(
    "ACCESSIBILITY_ENFORCEMENT_ADDRESS", "Mauerstraße 53, 10117 Berlin"
)
ACCESSIBILITY_ENFORCEMENT_URL = os.environ.get(
    "ACCESSIBILITY_ENFORCEMENT_URL", "https://www.schlichtungsstelle-bgg.de"
)
ACCESSIBILITY_ENFORCEMENT_EMAIL = os.environ.get(
    "ACCESSIBILITY_ENFORCEMENT_EMAIL", "info@schlichtungsstelle-bgg.de"
)
# Feedback on accessibility is a task due this many days after it arrives: one month, the
# answer period set for federal bodies (§ 12b BGG with BITV 2.0 § 7; check the Land law).
ACCESSIBILITY_FEEDBACK_ANSWER_DAYS = int(os.environ.get("ACCESSIBILITY_FEEDBACK_ANSWER_DAYS", "30"))
# Feedback form: at most this many messages per address per hour, and in total per hour.
ACCESSIBILITY_FEEDBACK_PER_ADDRESS = int(os.environ.get("ACCESSIBILITY_FEEDBACK_PER_ADDRESS", "5"))
ACCESSIBILITY_FEEDBACK_TOTAL = int(os.environ.get("ACCESSIBILITY_FEEDBACK_TOTAL", "100"))
# Where people write about barriers besides the form (shown on the statement; optional).
ACCESSIBILITY_CONTACT_EMAIL = os.environ.get("ACCESSIBILITY_CONTACT_EMAIL", "")
# The day the statement was last reviewed (ISO date); shown on the page.
ACCESSIBILITY_STATEMENT_REVIEWED_ON = os.environ.get(
    "ACCESSIBILITY_STATEMENT_REVIEWED_ON", "2026-12-07"
)
# What clients should bring to an on-site appointment (e.g. "Personalausweis"), shown on the
# portal's appointment card. Optional; empty: nothing is shown.
APPOINTMENT_WHAT_TO_BRING = os.environ.get("APPOINTMENT_WHAT_TO_BRING", "")


# --- Retention (docs/retention.md) ----------------------------------------------------------
# Days each kind of record is kept, counted from its start event; the defaults err on the side
# of keeping what the law requires. The job runs daily at RETENTION_RUN_HOUR (local time).
def env_days(name: str, default: int) -> int:
    value = int(os.environ.get(name, str(default)))
    if value < 1:
        raise ImproperlyConfigured(f"{name} must be at least 1 day.")
    return value


RETENTION_MESSAGE_DAYS = env_days("RETENTION_MESSAGE_DAYS", 730)
RETENTION_DOCUMENT_DAYS = env_days("RETENTION_DOCUMENT_DAYS", 180)
RETENTION_DOCUMENT_UNFILED_DAYS = env_days("RETENTION_DOCUMENT_UNFILED_DAYS", 1825)
RETENTION_PREVIEW_DAYS = env_days("RETENTION_PREVIEW_DAYS", 90)
RETENTION_UPLOAD_LEFTOVER_DAYS = env_days("RETENTION_UPLOAD_LEFTOVER_DAYS", 30)
RETENTION_APPOINTMENT_DAYS = env_days("RETENTION_APPOINTMENT_DAYS", 1095)
RETENTION_CALL_RECORD_DAYS = env_days("RETENTION_CALL_RECORD_DAYS", 180)
RETENTION_CONSENT_DAYS = env_days("RETENTION_CONSENT_DAYS", 1095)
RETENTION_DECISION_DAYS = env_days("RETENTION_DECISION_DAYS", 3650)
RETENTION_PLAN_DAYS = env_days("RETENTION_PLAN_DAYS", 1095)
RETENTION_DELIVERY_LOG_DAYS = env_days("RETENTION_DELIVERY_LOG_DAYS", 3650)
RETENTION_FORM_SUBMISSION_DAYS = env_days("RETENTION_FORM_SUBMISSION_DAYS", 180)
RETENTION_AUDIT_ENTRY_DAYS = env_days("RETENTION_AUDIT_ENTRY_DAYS", 1095)
RETENTION_OUTBOX_MAIL_DAYS = env_days("RETENTION_OUTBOX_MAIL_DAYS", 7)
RETENTION_CLIENT_RECORD_DAYS = env_days("RETENTION_CLIENT_RECORD_DAYS", 1825)
RETENTION_RUN_HOUR = int(os.environ.get("RETENTION_RUN_HOUR", "3"))
# true: the daily job only lists what is due in the log and deletes nothing.
RETENTION_DRY_RUN = env_bool("RETENTION_DRY_RUN", False)

# --- Logs, metrics, health (ADR 0081, docs/operations.md "Logs and monitoring") ------------
# "json": one JSON object per line with the request id (the default); "plain": for reading
# by eye in development.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "json").strip().lower()
if LOG_FORMAT not in {"json", "plain"}:
    raise ImproperlyConfigured('LOG_FORMAT must be "json" or "plain".')
# Addresses and networks that may read /metrics (e.g. "127.0.0.1,10.0.5.0/24"); nobody while
# empty: behind a proxy on the same machine every request could come from 127.0.0.1.
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS")
# The heartbeat job runs this often; readiness fails when no worker took it for longer than
# WORKER_HEARTBEAT_MAX_AGE_SECONDS (0: readiness leaves the workers out).
WORKER_HEARTBEAT_SECONDS = int(os.environ.get("WORKER_HEARTBEAT_SECONDS", "30"))
WORKER_HEARTBEAT_MAX_AGE_SECONDS = int(os.environ.get("WORKER_HEARTBEAT_MAX_AGE_SECONDS", "120"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "sprechstunde.core.request_ids.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "sprechstunde.core.log_format.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django_tasks_db": {"level": "WARNING"},
        # At DEBUG these write a template's whole context (names, message texts) and every
        # query's parameters: never, whatever LOG_LEVEL says (tests/test_log_privacy.py).
        "django.template": {"level": "INFO"},
        "django.db.backends": {"level": "INFO"},
        # WeasyPrint logs every rendering step at INFO.
        "weasyprint": {"level": "WARNING"},
    },
}
