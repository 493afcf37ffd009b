"""Provenance settings: one module, driven by environment variables.

Development defaults are safe to run on a laptop (SQLite, DEBUG on). With
``DJANGO_DEBUG`` off the production values must be given or start-up fails.
"""

import os
import re
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", True)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production-0123456789"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must be set when DJANGO_DEBUG is off.")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "axes",
    "django_ratelimit",
    "django_tasks_db",
    "accounts",
    "analysis",
    "lti",
]

MIDDLEWARE = [
    "config.instance.InstanceHeaderMiddleware",
    "config.logging.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # Before anything reads a body: an oversized one is refused unread.
    "config.limits.RequestBodyLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.SessionTimeoutMiddleware",
    "accounts.middleware.HtmxLoginRequiredMiddleware",
    "accounts.middleware.PasswordChangeRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.middleware.DatabaseUnavailableMiddleware",
    "accounts.middleware.NoStoreForAuthenticatedMiddleware",
    # Last, so that it sees failed log-ins after every other middleware.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "analysis.news.context_processors.whats_new",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
# PostgreSQL through psycopg when DATABASE_URL names it; an SQLite file otherwise.
DATABASES = {
    "default": dj_database_url.config(
        env="DATABASE_URL",
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DJANGO_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL and a busy timeout let autosaves from several tabs queue instead of failing.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif env_bool("DJANGO_DB_POOL", False):
    # Django's psycopg pool needs CONN_MAX_AGE=0; one pool per process.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 2,
        "max_size": int(os.environ.get("DJANGO_DB_POOL_MAX", "8")),
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# --- Background work -------------------------------------------------------
# Django's tasks framework, queued in the database the app already has (django-tasks-db). One
# worker process runs them: `manage.py db_worker` (`make demo` starts it beside the server;
# production runs it as its own service). Nothing a pupil or teacher waits for on screen is queued.
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

# --- E-mail ---------------------------------------------------------------
# Only the optional daily digest of what's new (docs/whats-new.md), sent by the worker. In
# development the e-mails are printed on the worker's console; production names its SMTP relay.
EMAIL_BACKEND_PATH = os.environ.get(
    "DJANGO_EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
MAILERS = {"default": {"BACKEND": EMAIL_BACKEND_PATH}}
if EMAIL_BACKEND_PATH.endswith("smtp.EmailBackend"):
    MAILERS["default"]["OPTIONS"] = {
        "host": os.environ.get("DJANGO_EMAIL_HOST", "localhost"),
        "port": int(os.environ.get("DJANGO_EMAIL_PORT", "25")),
        "username": os.environ.get("DJANGO_EMAIL_HOST_USER", ""),
        "password": os.environ.get("DJANGO_EMAIL_HOST_PASSWORD", ""),
        "use_tls": env_bool("DJANGO_EMAIL_USE_TLS", False),
    }
DEFAULT_FROM_EMAIL = os.environ.get("DJANGO_DEFAULT_FROM_EMAIL", "Provenance <noreply@localhost>")
# The address the digest's links start with (the e-mail is built by the worker, outside a request).
SITE_URL = os.environ.get("PROVENANCE_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# The hour (local time, TIME_ZONE) the self-scheduling daily digest runs (`send_digests --schedule`).
DIGEST_HOUR = int(os.environ.get("PROVENANCE_DIGEST_HOUR", "7"))

# --- Cache and sessions ---------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # Django's database sessions, read with one fixed statement (accounts/sessions.py).
    SESSION_ENGINE = "accounts.sessions"


# --- Rate limits on the workspace's writes (django-ratelimit) -----------------------------
# Counted per pupil (user pk) and per group in the default cache; the views read these settings
# at request time. A pupil typing autosaves at most every ~1.5 s per tab, so 120 a minute leaves
# room for three busy tabs; evidence, hints and hand-ins are clicks.
def env_rate(name: str, default: str) -> str:
    """A django-ratelimit rate, ``count/period`` (e.g. ``120/m``, ``10/30s``), checked at start-up."""
    value = os.environ.get(name, "").strip() or default
    if not re.fullmatch(r"[1-9][0-9]*/(?:[1-9][0-9]*)?[smhd]", value):
        raise ImproperlyConfigured(f"{name} must look like 120/m (count/period), not {value!r}.")
    return value


RATELIMIT_USE_CACHE = "default"
AUTOSAVE_RATE = env_rate("DJANGO_AUTOSAVE_RATE", "120/m")
WORK_WRITE_RATE = env_rate("DJANGO_WORK_WRITE_RATE", "60/m")  # evidence add/remove, hints
# Submit is idempotent and a double click or a flaky connection may repeat it: 20 posts at once
# (docs/quality.md T9) must all reach the one receipt.
SUBMIT_RATE = env_rate("DJANGO_SUBMIT_RATE", "30/m")
# A counter that cannot be read (a key that expired between add and incr) lets the write through:
# a pupil's save is worth more than one missed count.
RATELIMIT_FAIL_OPEN = True
SILENCED_SYSTEM_CHECKS = [
    # django-ratelimit only knows django-redis; Django's own RedisCache increments atomically
    # (Redis INCR), which is all the limiter needs.
    "django_ratelimit.W001",
]
if not REDIS_URL:
    # Without Redis the counts live in LocMem, one set per process: right for the embedded demo
    # (one process); with several processes each counts on its own until REDIS_URL is set.
    SILENCED_SYSTEM_CHECKS.append("django_ratelimit.E003")

# Sessions live in the database (or Redis in front of it), never in one process.
SESSION_COOKIE_AGE = 12 * 60 * 60
# The cookie is a browser-session cookie: closing the browser (a shared school computer) ends the
# session; the idle and absolute limits below still apply while it stays open.
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_ABSOLUTE_TIMEOUT = 12 * 60 * 60  # one school day, however active
SESSION_IDLE_TIMEOUT = int(os.environ.get("DJANGO_SESSION_IDLE_MINUTES", "30")) * 60
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# --- Authentication -------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Lock out one (user name, address) pair, never a whole classroom behind one router.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "10"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_COOLOFF_TIME = 0.25  # hours
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_ENABLED = env_bool("AXES_ENABLED", True)

# The client's address: the N-th entry from the right of X-Forwarded-For behind N proxies of our
# own (config/clientip.py). Log-in lock-outs, per-address limits and the security log all use it.
PROXY_COUNT = int(os.environ.get("DJANGO_PROXY_COUNT", "0"))
if PROXY_COUNT < 0:
    raise ImproperlyConfigured("DJANGO_PROXY_COUNT must be 0 or more.")
AXES_CLIENT_IP_CALLABLE = "config.clientip.client_ip"
RATELIMIT_IP_META_KEY = "config.clientip.client_ip"

# --- Limits for anonymous and joining requests (accounts/throttle.py) -----------------------
# Failed log-ins per address, whatever the user names: a school's pupils share one address, so
# the limit leaves a class room for typos while stopping one address from spending the servers'
# CPU on password guesses. Successful log-ins never count.
LOGIN_FAILURE_RATE = env_rate("DJANGO_LOGIN_FAILURE_RATE", "100/15m")
# Password hashes (~0.3 s of CPU each) running at once in one process (threaded servers); a log-in
# or sign-up that finds no free slot within PASSWORD_HASH_WAIT seconds is answered 503 at once.
PASSWORD_HASH_CONCURRENCY = int(os.environ.get("DJANGO_PASSWORD_HASH_CONCURRENCY", "2"))
PASSWORD_HASH_WAIT = 0.5
# Wrong join codes, on the sign-up and join pages: per address and (join page) per pupil.
JOIN_CODE_FAILURE_RATE = env_rate("DJANGO_JOIN_CODE_FAILURE_RATE", "60/h")
JOIN_CODE_FAILURE_RATE_PER_PUPIL = env_rate("DJANGO_JOIN_CODE_FAILURE_RATE_PER_PUPIL", "10/h")
# Sign-up posts per address (any outcome), and new accounts per class: one leaked code cannot
# fill a class with accounts.
SIGNUP_RATE = env_rate("DJANGO_SIGNUP_RATE", "100/h")
SIGNUPS_PER_CLASS_RATE = env_rate("DJANGO_SIGNUPS_PER_CLASS_RATE", "40/h")

# --- Internationalisation -------------------------------------------------
LANGUAGE_CODE = "en-gb"
LANGUAGES = [("en-gb", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("DJANGO_TIME_ZONE", "Europe/London")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
FIXTURE_DIRS = [BASE_DIR / "fixtures"]
# Uploaded files (source images) go through STORAGES["default"]: local files here by default,
# an S3-compatible bucket for several servers (docs/visual-sources.md). There is deliberately no
# MEDIA_URL route: images are served by a view that checks who asks.
MEDIA_ROOT = Path(os.environ.get("PROVENANCE_MEDIA_ROOT", str(BASE_DIR / "media")))

# --- Limits -----------------------------------------------------------------
ANSWER_MAX_CHARS = 20_000
# Drafts (never handed in) of an archived class are deleted this long after archiving: `purge_drafts`.
DRAFT_RETENTION_DAYS = int(os.environ.get("PROVENANCE_DRAFT_RETENTION_DAYS", "180"))
SOURCE_PACK_MAX_BYTES = int(os.environ.get("PROVENANCE_PACK_MAX_BYTES", str(2 * 1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = 4 * 1024 * 1024
# Largest declared body (Content-Length) per path, checked before the body is read
# (config/limits.py); the first pattern that matches the path wins, else the default. An answer of
# 20,000 characters can take ~240 KB form-encoded (4 UTF-8 bytes a character, 3 for each
# percent-escape), hence the default; the upload pages take files.
KIB, MIB = 1024, 1024 * 1024
REQUEST_BODY_DEFAULT_LIMIT = 256 * KIB
REQUEST_BODY_LIMITS = [
    (r"^/accounts/", 64 * KIB),  # log-in, sign-up, join: a few short fields
    (r"^/admin/analysis/source/upload/$", 12 * MIB),  # source packs (PROVENANCE_PACK_MAX_BYTES)
    (r"^/teach/classes/[0-9]+/roster/$", 12 * MIB),  # roster CSV
    (r"^/teach/sources/", 12 * MIB),  # teachers' source images
    (r"^/admin/", 4 * MIB),  # admin change forms (long passages, many inline rows)
]

# Source images (analysis.studio.images) and the .zip packs that carry them.
SOURCE_IMAGE_MAX_BYTES = int(os.environ.get("PROVENANCE_IMAGE_MAX_BYTES", str(10 * 1024 * 1024)))
SOURCE_IMAGE_MAX_PIXELS = int(os.environ.get("PROVENANCE_IMAGE_MAX_PIXELS", str(40_000_000)))
SOURCE_PACK_ZIP_MAX_BYTES = int(os.environ.get("PROVENANCE_PACK_ZIP_MAX_BYTES", str(60 * 1024 * 1024)))
SOURCE_PACK_ZIP_MAX_FILES = 200

# --- Security headers -------------------------------------------------------
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# The app needs no device features; say so, so that nothing embedded can ask.
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "encrypted-media",
        "fullscreen",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
}

if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"

# --- Logging ----------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "config.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "security": {"class": "logging.StreamHandler", "formatter": "json"},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Refusals are recorded once, structured, by config.logging; Django's own lines repeat them.
        "django.request": {"level": "ERROR"},
        "django.security.csrf": {"level": "ERROR"},
        "axes": {"level": "WARNING"},
        "provenance.security": {"handlers": ["security"], "level": "INFO", "propagate": False},
    },
}
