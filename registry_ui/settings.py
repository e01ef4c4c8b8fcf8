"""Berth's one settings module: everything comes from the environment (and `.env` when present).

Defaults give the embedded single-machine setup: SQLite, keys and registry data under
`BERTH_DATA_DIR` (default `var/`), registry and redis on 127.0.0.1. `.env.example` documents
every variable.
"""

import secrets
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

from dashboard.auth.signin_settings import ldap_settings, oidc_settings

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(BASE_DIR / ".env")

DATA_DIR = Path(env.str("BERTH_DATA_DIR", default=str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_file(name: str) -> str:
    """Read a generated secret from the data directory, creating it on first start."""
    path = DATA_DIR / "keys" / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="") or _secret_file("django-secret")

HTTP_PORT = env.int("BERTH_HTTP_PORT", default=8000)
# The address the registry uses to reach Berth (token realm, notifications).
PUBLIC_URL = env.str("BERTH_PUBLIC_URL", default=f"http://127.0.0.1:{HTTP_PORT}").rstrip("/")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
_public_host = urlsplit(PUBLIC_URL).hostname
if _public_host and _public_host not in ALLOWED_HOSTS and "*" not in ALLOWED_HOSTS:
    ALLOWED_HOSTS.append(_public_host)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "dashboard.middleware.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "dashboard.middleware.ServiceErrorMiddleware",
]

ROOT_URLCONF = "registry_ui.urls"
WSGI_APPLICATION = "registry_ui.wsgi.application"

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
                "dashboard.context_processors.berth",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'berth.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat write concurrently: WAL plus immediate transactions avoid
    # "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    if env.str("BERTH_TEST_DATABASE", default=""):
        DATABASES["default"]["TEST"] = {"NAME": env.str("BERTH_TEST_DATABASE")}
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", 60)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
# Berth usernames and passwords first; then temporary login secrets and access keys
# (`<region>@<id>`), which docker login sends to the token realm.
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "dashboard.auth.backends.RegistryCredentialBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard:overview"
LOGOUT_REDIRECT_URL = "login"

# --- Sign-in through LDAP and OpenID Connect (both off unless configured) --------------------
# dashboard/auth/signin_settings.py turns BERTH_LDAP_* and BERTH_OIDC_* into the AUTH_LDAP_*
# settings of django-auth-ldap and the OIDC_* settings of mozilla-django-oidc.
_sign_in = {**ldap_settings(env), **oidc_settings(env)}
globals().update(_sign_in)
LDAP_ENABLED: bool = _sign_in["LDAP_ENABLED"]
LDAP_MIRROR_GROUPS: bool = _sign_in["LDAP_MIRROR_GROUPS"]
OIDC_ENABLED: bool = _sign_in["OIDC_ENABLED"]
OIDC_PROVIDER_NAME: str = _sign_in["OIDC_PROVIDER_NAME"]
OIDC_GROUPS_CLAIM: str = _sign_in["OIDC_GROUPS_CLAIM"]
# Last: a valid login secret or access key (`<region>@<id>`) never costs a directory search.
if LDAP_ENABLED:
    AUTHENTICATION_BACKENDS.append("dashboard.auth.ldap.BerthLDAPBackend")
if OIDC_ENABLED:
    AUTHENTICATION_BACKENDS.append("dashboard.auth.oidc.BerthOIDCBackend")
# --- end of sign-in through LDAP and OpenID Connect ------------------------------------------

# --- The SWR-compatible API (dashboard/api) ----------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "dashboard.api.authentication.ApiTokenAuthentication",
        "dashboard.api.authentication.SignatureAuthentication",
        "dashboard.api.authentication.SessionCsrfAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "dashboard.api.negotiation.JsonOnly",
    "EXCEPTION_HANDLER": "dashboard.api.errors.swr_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Berth SWR-compatible API",
    "DESCRIPTION": (
        "Huawei Cloud SWR's management API (shared edition) served by Berth: organizations, "
        "permissions, repositories, tags, sharing, retention, triggers, sync, login commands. "
        "Authenticate with X-Auth-Token (a Berth API token) or sign requests with an access "
        "key (SDK-HMAC-SHA256). A repository name in a path writes each `/` as `$`."
    ),
    "VERSION": "2.26",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    # What the API's own path converters accept (dashboard/api/base.py).
    "PATH_CONVERTER_OVERRIDES": {
        "swr_version": {"type": "string", "pattern": "^v[0-9]+$"},
        "swr_repo": {"type": "string", "pattern": "^[^/]+$"},
    },
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# --- Redis, cache and Celery --------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Sessions are read from the cache on every page and written through to the database, so a
# cache restart (or a per-process locmem cache without redis) only costs a database read.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis redelivers a task not acknowledged within the visibility timeout: twice the hard time
# limit, so a long job that is still running is never handed to a second worker.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 7200}
CELERY_TASK_TIME_LIMIT = 3600
# Long jobs (sync, retention) have a queue of their own, so that a big copy never holds up
# indexing or webhook deliveries on the default queue ("celery").
CELERY_TASK_ROUTES = {
    "dashboard.tasks.sync_job": {"queue": "jobs"},
    "dashboard.tasks.retention_job": {"queue": "jobs"},
}
CELERY_TASK_SOFT_TIME_LIMIT = 3300
CELERY_BEAT_SCHEDULE = {
    "reconcile": {
        "task": "dashboard.tasks.reconcile_scheduled",
        "schedule": env.float("BERTH_RECONCILE_INTERVAL", default=600.0),
    },
    "prune-events": {
        "task": "dashboard.tasks.prune_events",
        "schedule": 24 * 3600.0,
    },
    "prune-audit": {
        "task": "dashboard.tasks.prune_audit",
        "schedule": 24 * 3600.0,
    },
    "index-pending-events": {
        "task": "dashboard.tasks.index_pending_events",
        "schedule": 60.0,
    },
    "retention": {
        "task": "dashboard.tasks.retention_scheduled",
        "schedule": 3600.0,
    },
    "reap-stale-jobs": {
        "task": "dashboard.tasks.reap_stale_jobs",
        "schedule": 60.0,
    },
    # Storage and pulls per repository and day, for the SWR API's daily reports.
    "usage-snapshot": {
        "task": "dashboard.tasks.usage_snapshot",
        "schedule": 3600.0,
    },
}
# A running job whose worker has not reported progress for this long is considered dead
# (marked errored by beat; a redelivered task may claim it again).
JOB_STALE_SECONDS = env.int("BERTH_JOB_STALE_SECONDS", default=600)
# A job failing on something that may pass (a registry outage, a webhook's 5xx) is tried this
# many times in all, waiting BERTH_JOB_RETRY_SECONDS x 2^attempt (with jitter, at most 120 s).
JOB_MAX_ATTEMPTS = env.int("BERTH_JOB_MAX_ATTEMPTS", default=5)
JOB_RETRY_SECONDS = env.float("BERTH_JOB_RETRY_SECONDS", default=1.0)
# Image sync: a tag's copy running longer than SYNC_TIMEOUT_SECONDS ends `timeout`; blobs up
# to SYNC_CHUNK_BYTES go to the remote in one PUT, bigger ones in PATCHes of that size (memory
# per copy stays near it); SYNC_CONCURRENCY tags of a job copy at once; SYNC_HTTP_TIMEOUT is
# (connect, read) seconds for each request to a remote registry.
SYNC_TIMEOUT_SECONDS = env.float("BERTH_SYNC_TIMEOUT_SECONDS", default=1800.0)
SYNC_CHUNK_BYTES = env.int("BERTH_SYNC_CHUNK_BYTES", default=16 * 1024 * 1024)
SYNC_CONCURRENCY = env.int("BERTH_SYNC_CONCURRENCY", default=4)
SYNC_HTTP_TIMEOUT = (
    env.float("BERTH_SYNC_CONNECT_TIMEOUT", default=5.0),
    env.float("BERTH_SYNC_READ_TIMEOUT", default=60.0),
)
if SYNC_TIMEOUT_SECONDS <= 0 or not 1 <= SYNC_CONCURRENCY <= 32:
    raise ImproperlyConfigured(
        "BERTH_SYNC_TIMEOUT_SECONDS must be positive and BERTH_SYNC_CONCURRENCY 1 to 32"
    )
if not 64 * 1024 <= SYNC_CHUNK_BYTES <= 512 * 1024 * 1024:
    raise ImproperlyConfigured("BERTH_SYNC_CHUNK_BYTES must be between 64 KiB and 512 MiB")
if min(SYNC_HTTP_TIMEOUT) <= 0:
    raise ImproperlyConfigured("BERTH_SYNC_CONNECT_TIMEOUT and _READ_TIMEOUT must be positive")
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")

# --- The registry ---------------------------------------------------------------------------
REGISTRY_PORT = env.int("BERTH_REGISTRY_PORT", default=5000)
# Where Berth talks to the registry's v2 API.
REGISTRY_URL = env.str("BERTH_REGISTRY_URL", default=f"http://127.0.0.1:{REGISTRY_PORT}").rstrip(
    "/"
)
# The host users type in `docker login` / `docker pull` (host[:port], no scheme).
REGISTRY_HOST = env.str("BERTH_REGISTRY_HOST", default=urlsplit(REGISTRY_URL).netloc)
REGISTRY_TIMEOUT = (
    env.float("BERTH_REGISTRY_CONNECT_TIMEOUT", default=3.05),
    env.float("BERTH_REGISTRY_READ_TIMEOUT", default=30.0),
)
REGISTRY_DATA_DIR = Path(env.str("BERTH_REGISTRY_DATA_DIR", default=str(DATA_DIR / "registry")))
REGISTRY_CONFIG_FILE = Path(
    env.str("BERTH_REGISTRY_CONFIG", default=str(DATA_DIR / "registry" / "config.yml"))
)

TOKEN_ISSUER = env.str("BERTH_TOKEN_ISSUER", default="berth")
TOKEN_SERVICE = env.str("BERTH_TOKEN_SERVICE", default="berth-registry")
TOKEN_TTL = env.int("BERTH_TOKEN_TTL", default=300)
if not 60 <= TOKEN_TTL <= 3600:
    raise ImproperlyConfigured("BERTH_TOKEN_TTL must be between 60 and 3600 seconds")
TOKEN_KEY_FILE = Path(env.str("BERTH_TOKEN_KEY_FILE", default=str(DATA_DIR / "keys" / "token.key")))
TOKEN_CERT_FILE = Path(
    env.str("BERTH_TOKEN_CERT_FILE", default=str(DATA_DIR / "keys" / "token.crt"))
)
NOTIFY_SECRET = env.str("BERTH_NOTIFY_SECRET", default="") or _secret_file("notify-secret")

REGION = env.str("BERTH_REGION", default="local")
# Processed registry events are kept this long (they are the raw input of the index).
EVENT_RETENTION_DAYS = env.int("BERTH_EVENT_RETENTION_DAYS", default=7)
# Reverse proxies (addresses or networks) whose X-Real-IP names the client (nginx in deploy/).
TRUSTED_PROXIES = env.list("BERTH_TRUSTED_PROXIES", default=[])
# Requests per minute from one client address (0: no limit), answered 429 above it.
RATE_LIMIT_SIGN_IN = env.int("BERTH_RATE_LIMIT_SIGN_IN", default=60)
RATE_LIMIT_TOKEN = env.int("BERTH_RATE_LIMIT_TOKEN", default=600)
# A username is locked for LOCKOUT_MINUTES after LOCKOUT_FAILURES consecutive failed sign-ins
# (page or token realm; 0 failures: never).
LOCKOUT_FAILURES = env.int("BERTH_LOCKOUT_FAILURES", default=10)
LOCKOUT_MINUTES = env.int("BERTH_LOCKOUT_MINUTES", default=15)
# A successful token realm sign-in is remembered this long (0: off), so each scope docker asks
# for does not run the slow password hash again; password changes and revocations apply at once.
TOKEN_AUTH_CACHE_SECONDS = env.int("BERTH_TOKEN_AUTH_CACHE_SECONDS", default=300)
# Audit traces are kept this long (a daily beat task prunes older ones).
AUDIT_RETENTION_DAYS = env.int("BERTH_AUDIT_RETENTION_DAYS", default=90)
ANONYMOUS_PULL = env.bool("BERTH_ANONYMOUS_PULL", default=True)
ORG_QUOTA = env.int("BERTH_ORG_QUOTA", default=5)
# Retention policies run when saved, every RETENTION_INTERVAL_HOURS (beat checks hourly), and
# RETENTION_PUSH_DELAY seconds after a push (pushes in between share one run).
RETENTION_INTERVAL_HOURS = env.float("BERTH_RETENTION_INTERVAL_HOURS", default=24.0)
RETENTION_PUSH_DELAY = env.float("BERTH_RETENTION_PUSH_DELAY", default=60.0)
# Trigger webhooks: seconds to connect to the target, and to wait for each read of its answer.
# A timeout is retried like a 5xx answer (BERTH_JOB_MAX_ATTEMPTS, BERTH_JOB_RETRY_SECONDS).
TRIGGER_CONNECT_TIMEOUT = env.float("BERTH_TRIGGER_CONNECT_TIMEOUT", default=3.05)
TRIGGER_READ_TIMEOUT = env.float("BERTH_TRIGGER_READ_TIMEOUT", default=10.0)
if not (0 < TRIGGER_CONNECT_TIMEOUT <= 300 and 0 < TRIGGER_READ_TIMEOUT <= 300):
    raise ImproperlyConfigured("BERTH_TRIGGER_*_TIMEOUT must be between 0 and 300 seconds")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.server": {"level": "WARNING"}},
}
