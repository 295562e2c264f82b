"""Settings, read from the environment.

DEBUG is off unless DJANGO_DEBUG=1, and outside debug a strong SECRET_KEY is required
(config/secret_key.py). With only DJANGO_DEBUG=1 set the platform runs on the embedded default:
the embedded PostgreSQL server in var/pg/ (config/embedded_pg.py starts it), Celery tasks
executed eagerly in the calling process. Production sets at least SECRET_KEY,
DJANGO_ALLOWED_HOSTS, DATABASE_URL and CELERY_BROKER_URL (Redis); README.md lists every variable.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from . import embedded_pg, secret_key

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return [part.strip() for part in value.split(",") if part.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
# Rotation: the new key in SECRET_KEY, the old ones here until what they signed expired.
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", [])
if not DEBUG:
    secret_key.require_strong(SECRET_KEY, SECRET_KEY_FALLBACKS)
elif not SECRET_KEY:
    SECRET_KEY = secret_key.DEVELOPMENT_KEY

ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "core",
    "tenancy",
    "labeling",
    "prelabels",
    "qa",
    "exports",
    "billing",
]

MIDDLEWARE = [
    # Outermost: an unavailable database or broker answers 503 wherever it is met (core).
    "core.middleware.ServiceUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Outside everything that may answer on its own (static files, CSRF failures, errors).
    "core.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "tenancy.audit.AuditContextMiddleware",
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
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tenancy.context_processors.tenancy",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or embedded_pg.url(),
        # 0 keeps Celery workers from holding connections across tasks; the web server sets it
        # (platform/services.sh): a worker then keeps one connection instead of opening one
        # per request, which cost it ~2 ms of CPU and the database a new backend process.
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
        # Django's default, off: a check is a round trip (SELECT 1) before the first query of
        # every request, ~4% of a task-queue request's CPU. Without it a connection that its
        # server closed (a restart) is still noticed, by a poll of its socket at the request's
        # start (core.middleware); =1 also catches one lost without a word (a network cut).
        conn_health_checks=env_bool("DATABASE_CONN_HEALTH_CHECKS", False),
    )
}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must name a PostgreSQL database (postgres://...)")
if env_bool("DATABASE_PREPARED_STATEMENTS", True):
    # Parameters bound by the server, and a statement prepared once a connection has run it
    # five times (psycopg's prepare_threshold): planning cost more than running the task
    # queue's statements (0.3-0.9 ms against ~0.1 ms). Prepared statements live in their
    # connection, so a pooler in transaction mode (PgBouncer) needs this off (=0).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        server_side_binding=True, prepare_threshold=5
    )
# A second connection to the same database: long jobs (imports) report progress on it while
# their own transaction is still open. Tests mirror it onto the default connection.
DATABASES["progress"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# guardian: no anonymous user row; anonymous requests never reach object checks.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

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
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))

# --- security: production defaults that `manage.py check --deploy` accepts -------------------
# A loopback run over plain HTTP (platform/prod.sh) turns the HTTPS-only ones off explicitly.
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
if env_bool("DJANGO_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Enforced on every response (core/csp.py): no inline script or style on any page, only the
# site's own files; task data may show images and media from data: and https: URLs.
SECURE_CSP = {
    "default-src": ["'self'"],
    "img-src": ["'self'", "data:", "https:"],
    "media-src": ["'self'", "data:", "https:"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header makes anonymous API calls answer 401, not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tenancy.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "core.csp.BrowsableAPIRenderer",  # DRF's, without an inline style block
    ],
    "DEFAULT_PARSER_CLASSES": [
        "core.inputs.JSONParser",  # bounded in size and nesting
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "LabelQA API",
    "DESCRIPTION": (
        "The public REST API of the labeling QA platform. Authenticate with "
        "`POST /api/v1/auth/token/` and send `Authorization: Token <token>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1/",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a `status` or a `format` with their own choices: name each set.
    "ENUM_NAME_OVERRIDES": {
        "JobStatusEnum": "core.jobs.JobStatus",  # imports, exports and models alike
        "ItemStatusEnum": "labeling.models.ItemStatus",
        "ReviewStatusEnum": "qa.models.ReviewStatus",
        "AuditStatusEnum": "qa.models.Audit.Status",
        "ImportFormatEnum": "labeling.models.ImportFormat",
        "ExportFormatEnum": "exports.models.ExportFormat",
    },
}

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", CELERY_BROKER_URL or None)
# No broker configured: run every task in the calling process (the embedded default).
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if CELERY_TASK_ALWAYS_EAGER:
    CELERY_BROKER_URL = "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A list per priority 0-9 on Redis (0 served first): a tenant's n-th unfinished job is sent with
# priority n (tenancy.quotas), so one client's backlog does not hold back another's first job.
CELERY_BROKER_TRANSPORT_OPTIONS = {"priority_steps": list(range(10))}

# --- cache: login throttling (django-ratelimit's counters) and short-lived marks -----------
# Shared by every process: Redis, the broker's server (database 2) unless LQA_CACHE_URL names
# one; without a Redis broker (the demo: one process) the process's memory.
_broker = urlsplit(CELERY_BROKER_URL)
LQA_CACHE_URL = os.environ.get("LQA_CACHE_URL") or (
    _broker._replace(path="/2").geturl() if _broker.scheme in ("redis", "rediss") else ""
)
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": LQA_CACHE_URL}
        if LQA_CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
# Periodic work (a beat: `celery -A config beat`, or a worker started with -B). Each entry
# expires after its interval, so that ticks queued while no worker ran do not pile up.
LQA_OUTBOX_SECONDS = env_int("LQA_OUTBOX_SECONDS", 10)
CELERY_BEAT_SCHEDULE = {
    # what the outbox holds: work whose sending failed after its commit (core/outbox.py)
    "core.outbox_deliver": {
        "task": "core.outbox_deliver",
        "schedule": LQA_OUTBOX_SECONDS,
        "options": {"expires": LQA_OUTBOX_SECONDS},
    },
    "core.idempotency_keys_purge": {
        "task": "core.idempotency_keys_purge",
        "schedule": 3600,
        "options": {"expires": 3600},
    },
}

# --- the platform ---------------------------------------------------------------------------
# Imports: the largest upload, also the most a gzip file may expand to (decompression bombs).
LQA_IMPORT_MAX_BYTES = env_int("LQA_IMPORT_MAX_BYTES", 2 * 1024**3)
LQA_IMPORT_MAX_ROW_BYTES = env_int("LQA_IMPORT_MAX_ROW_BYTES", 1024**2)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # larger uploads stream to a temporary file
# Exports: how long a download link works, in days.
LQA_EXPORT_LINK_DAYS = env_int("LQA_EXPORT_LINK_DAYS", 7)
# Failed logins (tenancy.logins) per account and per address: "N/period" tiers, each a fixed
# window (django-ratelimit's); N failures in one lock the account (address) until it ends.
LQA_LOGIN_LIMITS_ACCOUNT = env_list("LQA_LOGIN_LIMITS_ACCOUNT", ["5/15m", "20/d"])
LQA_LOGIN_LIMITS_ADDRESS = env_list("LQA_LOGIN_LIMITS_ADDRESS", ["30/15m", "300/d"])
# Per-tenant quotas on background jobs (tenancy.quotas): a client organization's own
# (tenancy.OrganizationQuota, in the admin) override these defaults.
LQA_QUOTAS = {
    "imports_concurrent": env_int("LQA_QUOTA_IMPORTS_CONCURRENT", 5),
    "imports_per_hour": env_int("LQA_QUOTA_IMPORTS_PER_HOUR", 30),
    "exports_concurrent": env_int("LQA_QUOTA_EXPORTS_CONCURRENT", 5),
    "exports_per_hour": env_int("LQA_QUOTA_EXPORTS_PER_HOUR", 30),
    "trainings_concurrent": env_int("LQA_QUOTA_TRAININGS_CONCURRENT", 2),
    "trainings_per_hour": env_int("LQA_QUOTA_TRAININGS_PER_HOUR", 10),
}
# Idempotency-Key: how long a POST's first answer is kept for its retries, in hours.
LQA_IDEMPOTENCY_HOURS = env_int("LQA_IDEMPOTENCY_HOURS", 24)
# Name of the vendor organization the first migration creates (one per installation).
LQA_VENDOR_NAME = os.environ.get("LQA_VENDOR_NAME", "Vendor")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {
            "()": "config.logformat.KeyValueFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's own console handler would print every line a second time.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
    },
}
