"""Settings of the techOMS portal, read from the environment (12-factor).

Development defaults are safe to run locally: an SQLite file under var/ and an
embedded filesystem broker for Celery, when DEBUG is turned on. With DEBUG off (the
default) a strong SECRET_KEY is required.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from oms.security import DEVELOPMENT_SECRET_KEY, secret_key_problem

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("OMS_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


# Off unless the environment turns it on (`make run` and the tests do): a server started
# with nothing set must not show tracebacks and settings, nor sign with a public key.
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if DEBUG:
    SECRET_KEY = SECRET_KEY or DEVELOPMENT_SECRET_KEY
elif problem := secret_key_problem(SECRET_KEY):
    raise ImproperlyConfigured(problem)

ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()
]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "accounts",
    "channels",
    "automations",
    "catalog",
    "orders",
    # The sandbox simulator and demo data: a development tool above every product app.
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After WhiteNoise: static files need no policy, every page and API answer gets one.
    "oms.security.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "accounts.middleware.AccountContextMiddleware",
]

ROOT_URLCONF = "oms.urls"
WSGI_APPLICATION = "oms.wsgi.application"

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
                "accounts.context_processors.account_context",
            ],
        },
    },
]

# SQLite is the embedded default; web, worker and beat share one file, which only
# works without "database is locked" errors with IMMEDIATE transactions, WAL and a
# busy timeout (measured with 4 senders, 4 worker processes and beat: Django's defaults
# failed 49 % of web writes and 185 tasks, WAL alone was worse, these settings none).
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'oms.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        # A kept connection is checked before a request or task uses it: after a database
        # restart or a terminated backend the first request reconnects instead of a 500.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": ("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;"),
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

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
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Any client can send X-Forwarded-Proto: it is believed only when a proxy in front is
# said to set it (and to overwrite what clients send).
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api_auth.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "oms.api_schema.ApiAutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # A body is a JSON object or refused (oms.api_input).
    "DEFAULT_PARSER_CLASSES": ["oms.api_input.JSONObjectParser"],
    "EXCEPTION_HANDLER": "oms.api_errors.exception_handler",
    # One budget per API key (per person for sessions); "N/second|minute|hour|day".
    "DEFAULT_THROTTLE_CLASSES": ["accounts.api_auth.ApiRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api": os.environ.get("API_THROTTLE_RATE", "1200/minute")},
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "techOMS portal API",
    "DESCRIPTION": "Per-account REST API of the techOMS portal.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI's files are served by the portal itself: the docs work offline and
    # under a strict Content-Security-Policy.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True},
    "ENUM_NAME_OVERRIDES": {
        "EnforcementStatusEnum": "accounts.models.EnforcementStatus",
        "JobTypeEnum": "channels.platforms.JobType",
        "RunJobTypeEnum": "automations.models.RunJobType",
        "ModeEnum": "automations.models.Mode",
    },
}

# Celery: Redis when REDIS_URL is set, otherwise kombu's filesystem transport so the
# embedded run needs no services (carried 1,000 tasks between processes, none lost).
REDIS_URL = os.environ.get("REDIS_URL", "")
BROKER_DIR = VAR_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    CELERY_BROKER_URL = "filesystem://"
    # kombu's transport, writing each file whole (oms/broker.py says why).
    CELERY_BROKER_TRANSPORT = "oms.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "store_processed": False,
        "control_folder": str(BROKER_DIR / "control"),
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_TIME_LIMIT = 600
CELERY_TASK_SOFT_TIME_LIMIT = 540
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Separate queues so a slow channel cannot starve the dispatcher: `dispatch` (the
# due-jobs tick, every second), `jobs` (channel job runs), `push` (inventory pushes).
# In production run a small worker on `dispatch` alone (-Q dispatch) beside the others.
CELERY_TASK_ROUTES = {
    "automations.tasks.dispatch_due_jobs": {"queue": "dispatch"},
    "automations.tasks.*": {"queue": "jobs"},
    "channels.tasks.*": {"queue": "jobs"},
}
# The dispatcher entry lives in django-celery-beat's table (automations migration 0003);
# beat holds only such system entries, never one per configured job.

# Caches: Redis when REDIS_URL is set, so the API throttle's counts (alias "throttle") are
# one budget per key across every gunicorn worker and survive a restart; otherwise each
# process's memory, which holds only for a single process (runserver, the tests).
# CACHE_KEY_PREFIX keeps environments and test runs that share a Redis database apart. Never
# clear() a Redis cache: it flushes the whole database, the broker's queues included.
CACHE_KEY_PREFIX = os.environ.get("CACHE_KEY_PREFIX", "oms")


def _cache(alias: str) -> dict:
    if not REDIS_URL:
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": alias}
    return {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": f"{CACHE_KEY_PREFIX}:{alias}",
        # A stalled Redis must not hold every API request for the OS's TCP timeout.
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }


CACHES = {alias: _cache(alias) for alias in ("default", "throttle")}

# Channels. Credentials and webhook secrets are encrypted with a key derived from this.
CHANNEL_SECRETS_KEY = os.environ.get("CHANNEL_SECRETS_KEY", SECRET_KEY)
# Every call to a channel's platform is bounded by this many seconds.
CHANNEL_CONNECTOR_TIMEOUT = float(os.environ.get("CHANNEL_CONNECTOR_TIMEOUT", "10"))
# The sandbox marketplace/3PL simulator (manage.py run_sandbox) and where it sends webhooks.
SANDBOX_URL = os.environ.get("SANDBOX_URL", "http://127.0.0.1:8765")
SANDBOX_STORE = Path(os.environ.get("SANDBOX_STORE", VAR_DIR / "sandbox.json"))
PORTAL_URL = os.environ.get("PORTAL_URL", f"http://127.0.0.1:{os.environ.get('PORT', '8000')}")
# Inbound webhook bodies above this answer 413.
WEBHOOK_MAX_BODY_BYTES = 1024 * 1024
WEBHOOK_TOLERANCE_SECONDS = 300

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"client_error_without_traceback": {"()": "oms.log.ClientErrorWithoutTraceback"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django's own default configuration gives "django" a console handler too: every
        # record (a 403 and its traceback) printed twice, once there and once at the root.
        "django": {"handlers": [], "propagate": True},
        "django.request": {"filters": ["client_error_without_traceback"]},
        # Beat holds only the system entries (the dispatcher's tick every 0.5 s, the
        # sweeper): at INFO it printed a line for each, 80 % of an idle console. Its
        # warnings and errors still show; LOG_LEVEL=DEBUG shows every tick again.
        "celery.beat": {"level": "DEBUG" if LOG_LEVEL == "DEBUG" else "WARNING"},
    },
}
