"""The one settings module, by topic. Everything that differs between machines comes from the environment.

Every variable is listed, with a safe development value, in `.env.example` and in docs/operations.md.
Without any configuration the server is production-safe: DEBUG is off and it refuses to start without
SECRET_KEY and FERNET_KEY. The development command (`make run`, scripts/run_dev.py) turns DEBUG on, and
only then (or under the test runner) are development keys generated for this installation under var/.
"""

from __future__ import annotations

import os
import secrets
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.conf import global_settings
from django.core.exceptions import ImproperlyConfigured

from ipam_project import schedule as _schedule

BASE_DIR = Path(__file__).resolve().parent.parent


# --- Environment ---------------------------------------------------------------------------------------
def _load_dotenv(path: Path) -> None:
    """Read KEY=VALUE lines from `.env` without overriding the real environment."""
    if not path.is_file():
        return
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        os.environ.setdefault(key.strip(), value.strip().strip('"').strip("'"))


if os.environ.get("IPAM_SKIP_DOTENV", "").lower() not in {"1", "true", "yes"}:
    _load_dotenv(BASE_DIR / ".env")


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


# --- Mode and keys --------------------------------------------------------------------------------------
TESTING = "pytest" in sys.modules or env_bool("IPAM_TESTING", False)
DEBUG = env_bool("DEBUG", False)
VAR_DIR = Path(env_str("IPAM_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _development_key(name: str, make: str) -> str:
    """A key generated once for this installation (var/<name>, mode 0600), never committed."""
    path = VAR_DIR / name
    if not path.is_file():
        value = secrets.token_urlsafe(50) if make == "secret" else _fernet_key()
        draft = path.with_name(f".{name}.{os.getpid()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(value)
        try:
            os.link(draft, path)  # atomic create-if-absent: concurrent first starts agree on one key
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


# Development and tests get keys generated per installation; production refuses to start without real ones.
_DEVELOPMENT = DEBUG or TESTING
SECRET_KEY = env_str("SECRET_KEY") or (_development_key("dev-secret-key", "secret") if _DEVELOPMENT else "")
FERNET_KEY = env_str("FERNET_KEY") or (_development_key("dev-fernet-key", "fernet") if _DEVELOPMENT else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is false")
if not FERNET_KEY:
    raise ImproperlyConfigured("FERNET_KEY must be set when DEBUG is false")
# Files whose content must never be a production key (`manage.py check --deploy`, foundation/checks.py).
IPAM_DEVELOPMENT_KEY_FILES = {"SECRET_KEY": VAR_DIR / "dev-secret-key", "FERNET_KEY": VAR_DIR / "dev-fernet-key"}

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# --- Applications, middleware, URLs, templates ----------------------------------------------------------
INSTALLED_APPS = [
    "ipam.apps.IpamAdminConfig",  # django.contrib.admin with the IPAM site (operator console, docs/admin.md)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "rest_framework_simplejwt.token_blacklist",  # logout revokes refresh tokens (docs/decisions/0010)
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc served from our static files: no CDN (docs/admin.md)
    "django_prometheus",
    # Ours, lowest layer first (docs/architecture.md): the platform (app label "ops"), then the apps on it.
    "foundation.apps.OpsConfig",
    "notifications.apps.NotificationsConfig",
    "webhooks.apps.WebhooksConfig",
    "ipam.apps.IpamConfig",
    "enhancements.apps.EnhancementsConfig",
]

MIDDLEWARE = [
    "foundation.metrics.PrometheusBeforeMiddleware",  # django-prometheus' series (foundation/metrics.py)
    "foundation.middleware.RequestContextMiddleware",  # request id, client address; the rate-limit headers
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files from STATIC_ROOT (`collectstatic`) in production
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "foundation.dbrouter.ReadYourWritesMiddleware",
    "foundation.middleware.LazyMessageMiddleware",  # Django's, the storage built when a request uses it
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "foundation.metrics.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "ipam_project.urls"
WSGI_APPLICATION = "ipam_project.wsgi.application"
APPEND_SLASH = False  # both `/path` and `/path/` are routed explicitly; a redirect would drop POST bodies
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'ipam.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE makes concurrent writers queue on the database lock instead of failing mid-transaction.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # A file (not :memory:) so concurrency tests can open several connections to one test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-ipam.sqlite3")}
    # Query counts and durations in /metrics on SQLite too.
    DATABASES["default"]["ENGINE"] = "django_prometheus.db.backends.sqlite3"
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env_int("DB_CONNECT_TIMEOUT", 5)
    DATABASES["default"]["ENGINE"] = "django_prometheus.db.backends.postgresql"
    DATABASES["default"]["TEST"] = {"NAME": env_str("DATABASE_TEST_NAME") or None}
    # Prepared statements (Django turns psycopg's off): only the cursors of foundation.compiled.prepared_cursor ask
    # for them (server-side binding, a few hot page statements planned once per connection); Django's own cursors
    # bind on the client and are never prepared. Off again behind PgBouncer in transaction mode (below).
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = 5
    # A connection pool per process (Django's built-in psycopg pool) bounds the connections a threaded server
    # holds: `make run` sets it for runserver, whose request threads would otherwise each keep a connection for
    # DB_CONN_MAX_AGE (issue 14: a 32-request burst held 93 of 100). 0 = no pool (gunicorn sync workers and
    # Celery prefork children hold one persistent connection each; see docs/operations.md for the sizing).
    DB_POOL_MAX_SIZE = env_int("DB_POOL_MAX_SIZE", 0)
    if DB_POOL_MAX_SIZE > 0:
        DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps connections; Django refuses persistent ones with it
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "min_size": 1,
            "max_size": DB_POOL_MAX_SIZE,
            "timeout": env_int("DB_POOL_TIMEOUT", 10),  # seconds a request waits for a free connection
            "max_idle": 60,
        }

    # Behind PgBouncer in transaction mode (docs/operations.md "More than one node"): consecutive transactions
    # may run on different server connections, so no server-side cursors (.iterator() in exports/integrity)
    # and no prepared statements (psycopg prepares a query after 5 runs).
    if env_bool("DB_PGBOUNCER_TRANSACTION_MODE", False):
        DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
        DATABASES["default"]["OPTIONS"]["prepare_threshold"] = None

# Read replicas (docs/operations.md, "Read replicas"): lag-tolerant reads only, see foundation/dbrouter.py.
for _index, _url in enumerate(env_list("DATABASE_REPLICA_URLS")):
    _replica = dj_database_url.parse(_url, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))
    _replica["ENGINE"] = DATABASES["default"]["ENGINE"]
    _replica["CONN_HEALTH_CHECKS"] = True
    _replica["TEST"] = {"MIRROR": "default"}  # tests: the replica alias is the test database itself
    _replica.setdefault("OPTIONS", {})["connect_timeout"] = env_int("DB_CONNECT_TIMEOUT", 5)
    DATABASES[f"replica_{_index}"] = _replica
DATABASE_ROUTERS = ["foundation.dbrouter.PrimaryReplicaRouter"]
# After a user's write, their lag-tolerant reads stay on the primary this long (read-your-writes).
IPAM_DB_READ_YOUR_WRITES_SECONDS = env_int("IPAM_DB_READ_YOUR_WRITES_SECONDS", 10)


# --- Cache ----------------------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            # django-redis, subclassed by django-prometheus to count gets/hits/misses (django_cache_* series).
            "BACKEND": "django_prometheus.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("IPAM_CACHE_PREFIX", "ipam"),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": env_int("IPAM_REDIS_TIMEOUT_SECONDS", 1),
                "SOCKET_TIMEOUT": env_int("IPAM_REDIS_TIMEOUT_SECONDS", 1),
                # Redis down: the API keeps serving (reads recompute, limits degrade) instead of failing.
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    DJANGO_REDIS_IGNORE_EXCEPTIONS = True
    # A traceback per cache call would flood the log while Redis is down; /health and the rate limiter's
    # once-a-minute warning report it instead.
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = env_bool("IPAM_LOG_CACHE_ERRORS", False)
    DJANGO_REDIS_LOGGER = "ipam.cache"
else:
    # One process only: rate limits and cached reads are per process (fine for `make run`, not for production).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "ipam-default",
        }
    }

# --- Authentication and the API -------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Users imported from the original system keep their bcrypt hashes (`bcrypt$<hash>`, manage.py import_original);
# they are upgraded to the default hasher at their first login. Listed after the default, never used to hash.
PASSWORD_HASHERS = [*global_settings.PASSWORD_HASHERS, "django.contrib.auth.hashers.BCryptPasswordHasher"]

if TESTING:
    # Every test creates users; the production hasher (PBKDF2, ~1 s per password here) would dominate the
    # suite's runtime. Test databases only — real deployments keep Django's default hashers.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", "django.contrib.auth.hashers.BCryptPasswordHasher"]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "foundation.auth.TrackedJWTAuthentication",
        "foundation.auth.ApiTokenAuthentication",
        "foundation.auth.TrackedSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "foundation.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "foundation.filtering.QueryFilterBackend",  # DjangoFilterBackend, skipped without a filter parameter
        "foundation.filtering.TotalOrderingFilter",  # DRF's OrderingFilter, every order ended by a unique key
    ],
    "DEFAULT_SCHEMA_CLASS": "foundation.schema.IPAMAutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["foundation.throttling.UserRateThrottle"],
    "EXCEPTION_HANDLER": "foundation.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer", "rest_framework.renderers.BrowsableAPIRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        # JSON bodies that would only fail later in the database (NUL, lone surrogates) or in the parser's
        # recursion are refused as 400 parse_error; form bodies get the same size limit as JSON (413
        # request_too_large): DRF's own FormParser reads the stream directly and bypassed it.
        "foundation.parsers.JSONParser",
        "foundation.parsers.FormParser",
        "foundation.parsers.MultiPartParser",
    ],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": False,
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 60)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("JWT_REFRESH_DAYS", 7)),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "SIGNING_KEY": env_str("JWT_SIGNING_KEY") or SECRET_KEY,
    "UPDATE_LAST_LOGIN": False,
}

# A user's IPAM permission set is cached (foundation/permcache.py) and invalidated at once by group/permission
# changes; this TTL only bounds staleness where the cache is not shared between processes. 0 = no caching.
IPAM_PERMISSION_CACHE_SECONDS = env_int("IPAM_PERMISSION_CACHE_SECONDS", 60)

SPECTACULAR_SETTINGS = {
    "TITLE": "IPAM API",
    "DESCRIPTION": "Hierarchical allocation of the private space 10.X.Y.Z: countries, regions (/24) and hosts.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/ipam",
    "PREPROCESSING_HOOKS": ["foundation.schema.strip_optional_slash"],
    # Choice sets sharing a field name need a stable component name each (add new ones here).
    "ENUM_NAME_OVERRIDES": {
        "RegionStatusEnum": "ipam.models.RegionStatus",
        "HostStatusEnum": "ipam.models.HostStatus",
        "DeviceTypeEnum": "ipam.models.DeviceType",
        "ReservationStatusEnum": "ipam.models.ReservationStatus",
        "JobStatusEnum": "ipam.models.JobStatus",
        "ReservationResourceTypeEnum": "ipam.models.ReservationResourceType",
        "ShareResourceTypeEnum": "ipam.models.ShareResourceType",
        "WebhookEventTypeEnum": "webhooks.events.EventType",
        "WebhookDeliveryStatusEnum": "webhooks.models.DeliveryStatus",
        "WebhookAttemptStatusEnum": "webhooks.models.AttemptOutcome",
        "NotificationSeverityEnum": "notifications.models.Severity",
        "NotificationChannelEnum": "notifications.models.Channel",
        "CountryOrRegionEnum": "notifications.models.RuleResourceType",
        "InterpretStatusEnum": "ipam.services.bulk_hosts.LOOKUP_STATUSES",
        "BulkReleaseItemStatusEnum": "ipam.services.bulk_hosts.RELEASE_ITEM_STATUSES",
        "ImportRowStatusEnum": "ipam.services.imports.ROW_STATUSES",
        "RegionOrHostEnum": "ipam.services.imports.RECORD_KINDS",
    },
    "SECURITY": [{"jwtAuth": []}],
    # Swagger UI and ReDoc from drf-spectacular-sidecar's static files: /docs and /redoc work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},  # no call to the online validator
}

# --- Security and request limits -------------------------------------------------------------------------
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("IPAM_MAX_BODY_BYTES", 12 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = env_int("IPAM_MAX_BODY_BYTES", 12 * 1024 * 1024)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Production behind a TLS-terminating reverse proxy (deploy/nginx/ipam.conf): the proxy redirects HTTP to
# HTTPS and sends HSTS, while health checks and Prometheus talk plain HTTP to gunicorn on localhost.
# Django's own redirect/HSTS checks are silenced only then; with IPAM_TLS_AT_PROXY=false set
# SECURE_SSL_REDIRECT / SECURE_HSTS_SECONDS and `check --deploy` holds you to them.
IPAM_TLS_AT_PROXY = env_bool("IPAM_TLS_AT_PROXY", True)
SILENCED_SYSTEM_CHECKS = env_list("IPAM_SILENCED_SYSTEM_CHECKS")
if not DEBUG and IPAM_TLS_AT_PROXY:
    SILENCED_SYSTEM_CHECKS += ["security.W004", "security.W008"]

# --- Time, language, static files ------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True


STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise serves it (empty until `collectstatic`)
# Production: `manage.py collectstatic` fills STATIC_ROOT and whitenoise serves it (compressed, hashed names,
# cached forever); or nginx serves STATIC_ROOT itself (docs/operations.md). Development and tests serve the
# apps' static directories directly (no collectstatic needed).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or TESTING
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING

# --- The product: quotas, caches, rate limits, features, thresholds, retention, webhooks, transfer -----------
IPAM_DEFAULT_REGION_QUOTA = env_int("IPAM_DEFAULT_REGION_QUOTA", 1000)
IPAM_DEFAULT_HOST_QUOTA = env_int("IPAM_DEFAULT_HOST_QUOTA", 10000)
IPAM_CACHE_TTL = env_int("IPAM_CACHE_TTL", 300)
IPAM_FORECAST_CACHE_TTL = env_int("IPAM_FORECAST_CACHE_TTL", 86400)
IPAM_RATE_LIMIT_PER_HOUR = env_int("IPAM_RATE_LIMIT_PER_HOUR", 100)
IPAM_RATE_LIMITS_ENABLED = env_bool("IPAM_RATE_LIMITS_ENABLED", not TESTING)  # tests turn it on where they test it
IPAM_WEBHOOK_CREATE_RATE_LIMIT_PER_HOUR = env_int("IPAM_WEBHOOK_CREATE_RATE_LIMIT_PER_HOUR", 10)
IPAM_BULK_RATE_LIMIT_PER_HOUR = env_int("IPAM_BULK_RATE_LIMIT_PER_HOUR", 10)
IPAM_PUBLIC_SHARE_RATE_LIMIT_PER_HOUR = env_int("IPAM_PUBLIC_SHARE_RATE_LIMIT_PER_HOUR", 300)
IPAM_LOGIN_RATE_LIMIT_PER_HOUR = env_int("IPAM_LOGIN_RATE_LIMIT_PER_HOUR", 30)
# API tokens (docs/api.md "API tokens"): active tokens per user; how often last_used_at/last_used_ip are written.
IPAM_API_TOKENS_PER_USER = env_int("IPAM_API_TOKENS_PER_USER", 100)
IPAM_API_TOKEN_LAST_USED_SECONDS = env_int("IPAM_API_TOKEN_LAST_USED_SECONDS", 60)
IPAM_ENABLE_WEBHOOKS = env_bool("IPAM_ENABLE_WEBHOOKS", True)
IPAM_ENABLE_NOTIFICATIONS = env_bool("IPAM_ENABLE_NOTIFICATIONS", True)
IPAM_ENABLE_BACKGROUND_TASKS = env_bool("IPAM_ENABLE_BACKGROUND_TASKS", True)
IPAM_CAPACITY_WARNING_THRESHOLD = env_int("IPAM_CAPACITY_WARNING_THRESHOLD", 80)
IPAM_CAPACITY_CRITICAL_THRESHOLD = env_int("IPAM_CAPACITY_CRITICAL_THRESHOLD", 95)
IPAM_AUDIT_RETENTION_DAYS = env_int("IPAM_AUDIT_RETENTION_DAYS", 365)
IPAM_NOTIFICATION_RETENTION_DAYS = env_int("IPAM_NOTIFICATION_RETENTION_DAYS", 90)
IPAM_WEBHOOK_MAX_ATTEMPTS = env_int("IPAM_WEBHOOK_MAX_ATTEMPTS", 6)
IPAM_WEBHOOK_TIMEOUT_SECONDS = env_int("IPAM_WEBHOOK_TIMEOUT_SECONDS", 10)
# A delivery claimed longer ago than this (never less than the timeout + 5 s) was lost with its worker: sent again.
IPAM_WEBHOOK_STALE_CLAIM_SECONDS = env_int("IPAM_WEBHOOK_STALE_CLAIM_SECONDS", 300)
IPAM_WEBHOOK_ALLOWED_HOSTS = env_list("IPAM_WEBHOOK_ALLOWED_HOSTS")
IPAM_WEBHOOK_DELIVERY_RETENTION_DAYS = env_int("IPAM_WEBHOOK_DELIVERY_RETENTION_DAYS", 30)
# History tables on PostgreSQL: monthly partitions created this many months ahead (job partitions_maintain).
IPAM_PARTITIONS_AHEAD_MONTHS = env_int("IPAM_PARTITIONS_AHEAD_MONTHS", 3)
IPAM_IMPORT_MAX_BYTES = env_int("IPAM_IMPORT_MAX_BYTES", 10 * 1024 * 1024)
IPAM_IMPORT_MAX_ROWS = env_int("IPAM_IMPORT_MAX_ROWS", 200_000)  # records per import file (issue 14)
IPAM_IMPORT_SYNC_MAX_ROWS = env_int("IPAM_IMPORT_SYNC_MAX_ROWS", 2_000)  # above: a background import job (202)
IPAM_IMPORT_SYNC_MAX_BYTES = env_int("IPAM_IMPORT_SYNC_MAX_BYTES", 256 * 1024)  # above: a background import job (202)
IPAM_EXPORT_RETENTION_HOURS = env_int("IPAM_EXPORT_RETENTION_HOURS", 24)
IPAM_BULK_JOB_RETENTION_DAYS = env_int("IPAM_BULK_JOB_RETENTION_DAYS", 7)
IPAM_PUBLIC_BASE_URL = env_str("IPAM_PUBLIC_BASE_URL")  # absolute share URLs; request host when empty
IPAM_TRUST_X_FORWARDED_FOR = env_bool("IPAM_TRUST_X_FORWARDED_FOR", False)  # only behind a proxy you control
IPAM_VERSION = "0.1.0"

# Rate limits per hour; 0 = derived from IPAM_RATE_LIMIT_PER_HOUR (reads 5x, host creation 10x).
IPAM_READ_RATE_LIMIT_PER_HOUR = env_int("IPAM_READ_RATE_LIMIT_PER_HOUR", 0)
IPAM_HOST_CREATE_RATE_LIMIT_PER_HOUR = env_int("IPAM_HOST_CREATE_RATE_LIMIT_PER_HOUR", 0)

# `manage.py rollback` writes its backup here unless --backup PATH is given.
IPAM_BACKUP_DIR = Path(env_str("IPAM_BACKUP_DIR", str(VAR_DIR / "backups")))


# --- Background jobs (Celery) --------------------------------------------------------------------------------
CELERY_BROKER_DIR = VAR_DIR / "celery-broker"
# Broker (docs/operations.md "More than one node"): CELERY_BROKER_URL if set (amqp://… for RabbitMQ, redis://…),
# else REDIS_URL, else kombu's file-system transport under var/ (one machine only).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or REDIS_URL or "filesystem://localhost/"
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # A task not acknowledged within this time (worker died mid-task) is delivered again.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)}
elif CELERY_BROKER_URL.startswith("filesystem://"):
    for _sub in ("in", "processed", "control"):
        (CELERY_BROKER_DIR / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "in"),
        "data_folder_out": str(CELERY_BROKER_DIR / "in"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),  # exchange bindings (default: ./control)
        "store_processed": False,
        "polling_interval": 0.5,  # seconds between looks for new task files
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
# The scheduled jobs (ipam_project/schedule.py): IPAM_JOBS is read by the job-run records (foundation/jobs.py),
# /health and /metrics; the beat schedule is empty when IPAM_ENABLE_BACKGROUND_TASKS=false.
IPAM_JOBS = _schedule.JOBS
CELERY_BEAT_SCHEDULE = _schedule.beat_schedule(enabled=IPAM_ENABLE_BACKGROUND_TASKS)
# How often the webhook dispatch job runs (seconds; contract §6: every minute). Shorter in the multi-node tests.
IPAM_WEBHOOK_DISPATCH_INTERVAL_SECONDS = env_int("IPAM_WEBHOOK_DISPATCH_INTERVAL_SECONDS", 60)
if "webhook_dispatch_due" in CELERY_BEAT_SCHEDULE and IPAM_WEBHOOK_DISPATCH_INTERVAL_SECONDS != 60:
    CELERY_BEAT_SCHEDULE["webhook_dispatch_due"]["schedule"] = float(IPAM_WEBHOOK_DISPATCH_INTERVAL_SECONDS)
CELERY_BEAT_SCHEDULE_FILENAME = env_str("CELERY_BEAT_SCHEDULE_FILENAME", str(VAR_DIR / "celerybeat-schedule"))
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ACKS_LATE = True
# A pool process killed mid-task (OOM, kill -9): the message goes back to the queue instead of being acked as
# failed. Safe because every task is idempotent (rows decide: claims, conditional UPDATEs, JobRun records).
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# Queue name: one per deployment sharing a broker (or vhost); tests use their own.
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "celery")
# Exactly one scheduler: with Redis, beat is RedBeat; the active beat holds a Redis lock it renews every tick
# (at most every CELERY_BEAT_MAX_LOOP_INTERVAL s); a second beat blocks until the lock expires, then takes
# over from the schedule state kept in Redis (ADR 0015). Without Redis (one machine): the file scheduler.
CELERY_BEAT_MAX_LOOP_INTERVAL = env_int("IPAM_BEAT_MAX_LOOP_INTERVAL", 15)
if REDIS_URL:
    CELERY_BEAT_SCHEDULER = "redbeat.RedBeatScheduler"
    CELERY_REDBEAT_REDIS_URL = REDIS_URL
    CELERY_REDBEAT_KEY_PREFIX = env_str("IPAM_BEAT_KEY_PREFIX", "ipam:beat:")
    CELERY_REDBEAT_LOCK_TIMEOUT = env_int("IPAM_BEAT_LOCK_TIMEOUT", 60)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# Log lines of workers use LOGGING below (logs/app.log, same format), not Celery's own setup.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# A stuck job must not hold a worker forever (seconds; webhook sends time out at 10 s).
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 1800)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 1900)
# Sending a task must never block or fail a request: the outbox/beat jobs catch up on anything missed.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY = False

# --- Observability: logging and metrics ---------------------------------------------------------------------
LOG_DIR = Path(env_str("IPAM_LOG_DIR", str(BASE_DIR / "logs")))
if not LOG_DIR.is_absolute():
    LOG_DIR = BASE_DIR / LOG_DIR
LOG_LEVEL = env_str("IPAM_LOG_LEVEL", "INFO").upper()
LOG_TO_FILE = env_bool("IPAM_LOG_TO_FILE", True)
LOG_TO_CONSOLE = env_bool("IPAM_LOG_TO_CONSOLE", not TESTING)
if LOG_TO_FILE:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
_LOG_HANDLERS = (["file"] if LOG_TO_FILE else []) + (["console"] if LOG_TO_CONSOLE else [])
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "foundation.logging.RequestIdFilter"},
        "redact": {"()": "foundation.logging.RedactSecretsFilter"},
    },
    "formatters": {
        "app": {"()": "foundation.logging.AppFormatter"},
    },
    "handlers": {
        "file": {
            # Size-based rotation that is safe with several processes (gunicorn workers, Celery) on one file,
            # and that also follows an external logrotate.
            "class": "foundation.logging.MultiProcessRotatingFileHandler",
            "filename": str(LOG_DIR / "app.log"),
            "maxBytes": env_int("IPAM_LOG_MAX_BYTES", 10 * 1024 * 1024),
            "backupCount": env_int("IPAM_LOG_BACKUP_COUNT", 5),
            "formatter": "app",
            "filters": ["request_id", "redact"],
            "delay": True,
        },
        "console": {"class": "logging.StreamHandler", "formatter": "app", "filters": ["request_id", "redact"]},
    },
    "root": {"handlers": _LOG_HANDLERS, "level": "WARNING"},
    "loggers": {
        "ipam": {"level": LOG_LEVEL},
        "webhooks": {"level": LOG_LEVEL},
        "notifications": {"level": LOG_LEVEL},
        "enhancements": {"level": LOG_LEVEL},
        "celery": {"level": LOG_LEVEL},
        "gunicorn.error": {"level": LOG_LEVEL},
        "django.request": {"level": "ERROR"},
    },
}

# /metrics: optional bearer token (empty = open, restrict it at the proxy); extra Prometheus multiprocess
# directories merged into the web's /metrics (e.g. the Celery worker's on the same host).
IPAM_METRICS_TOKEN = env_str("IPAM_METRICS_TOKEN")
# /health reuses the answers of its slower checks (broker, cache, migrations, countries, job runs) for this many
# seconds per process; the database is asked on every probe (0 = ask everything every time; tests use 0).
IPAM_HEALTH_CACHE_SECONDS = env_int("IPAM_HEALTH_CACHE_SECONDS", 0 if TESTING else 2)
IPAM_METRICS_EXTRA_DIRS = env_list("IPAM_METRICS_EXTRA_DIRS")

# --- E-mail ---------------------------------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "ipam@localhost")
