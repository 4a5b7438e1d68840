"""opsai settings: one module, configured from the environment.

With no variables set, opsai runs on the *embedded default*: a SQLite file and a
filesystem Celery broker under ``var/``, so ``make run`` needs nothing but Python.
Set ``DATABASE_URL`` and ``REDIS_URL`` to run on PostgreSQL and Redis (tests and
production do). ``OPSAI_ENV=production`` turns on the production checks.
"""

from __future__ import annotations

import re
import sys
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF, UNSAFE_INLINE

from opsai.config import ConfigurationError, validate_database_url, validate_redis_url
from opsai.formatting import currency_symbol

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

VAR_DIR = Path(env.str("OPSAI_VAR_DIR", default=str(BASE_DIR / "var")))

# --- Environment and secrets -------------------------------------------------------------

OPSAI_ENV = env.str("OPSAI_ENV", default="development")
if OPSAI_ENV not in {"development", "production"}:
    raise ConfigurationError(
        "OPSAI_ENV", f"must be 'development' or 'production', got {OPSAI_ENV!r}"
    )
PRODUCTION = OPSAI_ENV == "production"

DEVELOPMENT_SECRET_KEY = "opsai-development-only-secret-key-do-not-use-in-production"  # noqa: S105
SECRET_KEY = env.str("SECRET_KEY", default=DEVELOPMENT_SECRET_KEY)
DEBUG = env.bool("DEBUG", default=not PRODUCTION)

if PRODUCTION:
    if SECRET_KEY == DEVELOPMENT_SECRET_KEY or len(SECRET_KEY) < 32:
        raise ConfigurationError(
            "SECRET_KEY", "production needs its own secret of at least 32 characters"
        )
    if DEBUG:
        raise ConfigurationError("DEBUG", "must be off in production (DEBUG=false)")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ConfigurationError("ALLOWED_HOSTS", "production needs the host names opsai answers on")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- Applications ------------------------------------------------------------------------

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rules.apps.AutodiscoverRulesConfig",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "django_htmx",
    "opsai",
    "audit",
    "accounts",
    "usecases",
    "kpis",
    "governance",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "opsai.middleware.DatabaseRetryMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "opsai.middleware.SignInRequiredMiddleware",
    "opsai.middleware.RoleRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "rules.permissions.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "opsai.urls"
WSGI_APPLICATION = "opsai.wsgi.application"

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
                "opsai.context_processors.navigation",
                "opsai.context_processors.background_status",
                "opsai.context_processors.needs_badge",
            ],
        },
    },
]

# --- Database ----------------------------------------------------------------------------

EMBEDDED_DATABASE_URL = f"sqlite:///{VAR_DIR / 'opsai.sqlite3'}"
DATABASE_URL = env.str("DATABASE_URL", default=EMBEDDED_DATABASE_URL)
validate_database_url(DATABASE_URL)
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = 5
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # SQLite is the try-it-out default; a worker and the web server share the file.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Two PostgreSQL roles (README "Database roles"): DATABASE_URL's, which every process
# runs as, owns nothing and is no superuser, so it cannot switch off the audit trail's
# triggers; the owner of the tables changes the schema and the grants. With
# DATABASE_OWNER_URL set (the same database, as its owner), `manage.py migrate` and
# `manage.py db_roles` connect with it. Chosen by the command line rather than by a
# second alias, so every migration, data migrations and post-migrate hooks included,
# runs on one connection as the owner; a test's call_command("migrate") is never affected.
DATABASE_OWNER_URL = env.str("DATABASE_OWNER_URL", default="")
# backup and restore too: pg_dump reads sequences and pg_restore creates tables, which
# the app role may not.
OWNER_COMMANDS = {"migrate", "db_roles", "backup", "restore"}
if DATABASE_OWNER_URL:
    try:
        validate_database_url(DATABASE_OWNER_URL)
    except ConfigurationError as error:
        raise ConfigurationError("DATABASE_OWNER_URL", error.problem) from None
    if sys.argv[1:2] and sys.argv[1] in OWNER_COMMANDS:
        _owner = env.db_url_config(DATABASE_OWNER_URL)
        DATABASES["default"].setdefault("OPTIONS", {}).update(_owner.pop("OPTIONS", {}))
        DATABASES["default"].update(_owner)

# --- Redis: cache and Celery broker ------------------------------------------------------

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    validate_redis_url(REDIS_URL)
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="opsai"),
            "OPTIONS": {"socket_connect_timeout": 5, "socket_timeout": 5},
        }
    }
    CELERY_BROKER_URL = REDIS_URL
else:
    # Embedded default: a shared file cache (the worker heartbeat must be visible to
    # the web process) and kombu's filesystem transport, which needs no server.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="opsai"),
        }
    }
    CELERY_BROKER_URL = "filesystem://"
    _queue_dir = VAR_DIR / "celery" / "queue"
    _processed_dir = VAR_DIR / "celery" / "processed"
    _control_dir = VAR_DIR / "celery" / "control"
    for _folder in (_queue_dir, _processed_dir, _control_dir):
        _folder.mkdir(parents=True, exist_ok=True)

# --- Celery ------------------------------------------------------------------------------

CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=15 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=14 * 60)
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="opsai")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 5
if REDIS_URL:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_timeout": 10,
        "socket_connect_timeout": 5,
        # A message taken by a worker that then dies whole (SIGKILL, lost host) is
        # redelivered after this long. It must exceed the longest task (the hard time
        # limit, 15 minutes by default) or a task still running would be delivered twice.
        "visibility_timeout": CELERY_TASK_TIME_LIMIT + 5 * 60,
        "health_check_interval": 30,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_processed_dir),
        "control_folder": str(_control_dir),
        "store_processed": False,
    }
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
_MONDAY_7AM = crontab(minute=0, hour=7, day_of_week="mon")
# Each app adds its periodic jobs here, one line each.
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {"task": "opsai.tasks.worker_heartbeat", "schedule": timedelta(seconds=30)},
    # Expires: while the workers are busy, relays queued behind a long job are dropped.
    "outbox-relay": {
        "task": "opsai.tasks.relay_outbox",
        "schedule": timedelta(seconds=5),
        "options": {"expires": 5},
    },
    "kpis-refresh": {"task": "kpis.tasks.refresh_snapshots", "schedule": timedelta(hours=1)},
    "kpis-weekly-review": {"task": "kpis.tasks.send_weekly_review", "schedule": _MONDAY_7AM},
    "opsai-needs-digest": {"task": "opsai.tasks.send_needs_digest", "schedule": _MONDAY_7AM},
    "governance-guardrail-sweep": {
        "task": "governance.tasks.guardrail_sweep",
        "schedule": timedelta(minutes=5),
    },
    "kpis-sweep-stale-jobs": {
        "task": "kpis.tasks.sweep_stale_jobs",
        "schedule": timedelta(minutes=1),
        "options": {"expires": 60},
    },
}
WORKER_HEARTBEAT_MAX_AGE = timedelta(seconds=120)

# --- Leases on long jobs (kpis: ingest batches, snapshot refresh runs) -------------------

# A worker holds a job's lease this long and renews it after each chunk; the sweeper
# (beat, every minute) re-queues a job whose lease ran out (its worker vanished) ...
JOB_LEASE_SECONDS = env.int("JOB_LEASE_SECONDS", default=60)
# ... until it has been tried this many times, then marks it failed with the reason.
JOB_MAX_ATTEMPTS = env.int("JOB_MAX_ATTEMPTS", default=3)
# Rows of a background ingest batch saved (and committed) per transaction: a batch whose
# worker died resumes after its last committed chunk.
INGEST_CHUNK_ROWS = env.int("INGEST_CHUNK_ROWS", default=5_000)

# --- Outbox (opsai/outbox.py) ------------------------------------------------------------

# The longest a request (or a relay, or /healthz) waits on the broker, in seconds: a
# stopped or frozen Redis leaves the job pending for the relay instead of holding a save.
OUTBOX_PUBLISH_TIMEOUT = env.float("OUTBOX_PUBLISH_TIMEOUT", default=0.3)
# The relay publishes jobs pending at least this long (younger ones are being published
# by their own on-commit hook) ...
OUTBOX_RELAY_AFTER = timedelta(seconds=env.int("OUTBOX_RELAY_AFTER", default=5))
# ... and re-sends a job sent but not finished after this long (its message was lost
# with a Redis that restarted empty): longer than a task may run, so never a live one.
OUTBOX_RESEND_AFTER = timedelta(seconds=CELERY_TASK_TIME_LIMIT + 10 * 60)
# /healthz turns 503 when the oldest pending job is older than this.
OUTBOX_BACKLOG_MAX_AGE = timedelta(seconds=env.int("OUTBOX_BACKLOG_MAX_AGE", default=60))
# Done jobs are deleted by the relay this long after they finished (failed ones stay).
OUTBOX_KEEP_DONE = timedelta(days=env.int("OUTBOX_KEEP_DONE_DAYS", default=7))
# /healthz reads the worker heartbeat through this alias: the default cache's keys, but
# a frozen Redis (the cache's server too) answers within the publish timeout, not 5 s.
CACHES["health"] = {**CACHES["default"]}
if REDIS_URL:
    CACHES["health"]["OPTIONS"] = {
        "socket_connect_timeout": OUTBOX_PUBLISH_TIMEOUT,
        "socket_timeout": OUTBOX_PUBLISH_TIMEOUT,
    }

# --- Auth --------------------------------------------------------------------------------

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION

# --- Email -------------------------------------------------------------------------------

# Without EMAIL_URL, mail is kept as files under var/mail/ (one file per batch sent), so
# `make run` prints no whole emails over its own output; OPSAI_EMAIL_CONSOLE=1 prints them.
if env.str("EMAIL_URL", default=""):
    EMAIL_CONFIG = env.email_url("EMAIL_URL")
elif env.bool("OPSAI_EMAIL_CONSOLE", default=False):
    EMAIL_CONFIG = env.email_url_config("consolemail://")
else:
    EMAIL_CONFIG = {
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(VAR_DIR / "mail"),
    }
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="opsai <opsai@localhost>")
# Where people reach opsai, for the absolute links in emails (opsai.mail.absolute_url).
# `make run` sets OPSAI_SITE_URL from its PORT for the web server and the worker alike
# (honcho gives the worker PORT + 100, so the worker must not derive it from PORT);
# SITE_URL is the older name, still read.
SITE_URL = env.str(
    "OPSAI_SITE_URL",
    default=env.str("SITE_URL", default=f"http://127.0.0.1:{env.int('PORT', default=8000)}"),
).rstrip("/")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Internationalisation and static files ----------------------------------------------

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION

# The risk classification scheme use cases are classified under (usecases/risk.py says
# how to add one); its classes set a floor under the governance lane.
RISK_SCHEME = env.str("RISK_SCHEME", default="eu_ai_act")

# --- Currency: every amount is shown in it (opsai/formatting.py) --------------------------

CURRENCY_CODE = env.str("OPSAI_CURRENCY", default="GBP").strip().upper()
if not re.fullmatch(r"[A-Z]{3}", CURRENCY_CODE):
    raise ConfigurationError(
        "OPSAI_CURRENCY",
        f"expected a three-letter ISO 4217 code such as GBP, got {CURRENCY_CODE!r}",
    )
CURRENCY = {"code": CURRENCY_CODE, "symbol": currency_symbol(CURRENCY_CODE)}

# --- Uploads: what one file may hold (opsai/tabular.py, governance/evidence.py) -----------
# Checked before anything parses the file, so a small file cannot make large work or a
# large answer. The front proxy's body limit (nginx client_max_body_size) should sit just
# above the largest: Django itself streams a file upload past
# FILE_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) to a temporary file, so memory stays bounded.
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=10 * 1024 * 1024)
# A use-case import: 10,000 use cases is the portfolio opsai is sized for; beyond it an
# import is a mistake (or a probe), and a job holding its transaction longer.
USECASE_IMPORT_MAX_ROWS = env.int("USECASE_IMPORT_MAX_ROWS", default=10_000)
# Imports up to this many rows answer in the request; larger ones run as a background job.
USECASE_IMPORT_INLINE_ROWS = env.int("USECASE_IMPORT_INLINE_ROWS", default=200)
EVIDENCE_MAX_BYTES = env.int("EVIDENCE_MAX_BYTES", default=20 * 1024 * 1024)
# A file whose URL changes whenever its content does is cached for a year and more
# ("immutable"), in development too: a vendored library sits in a folder named with its
# version (static/vendor/plotly-basic-3.1.0/, see scripts/vendor-js), and in production
# the manifest storage puts a 12-hex content hash in every name (opsai.3f2a1b4c5d6e.css).
# Setting this replaces whitenoise's own test for the hashed names, hence the second half.
WHITENOISE_IMMUTABLE_FILE_TEST = (
    rf"^/{STATIC_URL.strip('/')}/vendor/[\w.-]+-\d+\.\d+\.\d+/|\.[0-9a-f]{{12}}\.\w+$"
)
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns when it is missing

# --- API ---------------------------------------------------------------------------------

REST_FRAMEWORK = {
    # The token first: DRF takes the first class's challenge for its 401, so a bad,
    # expired or revoked token answers 401 (with "WWW-Authenticate: Token"), not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["opsai.permissions.HasRole"],
    # JSON nested past opsai.parsers.MAX_JSON_DEPTH is a 400, not a RecursionError.
    "DEFAULT_PARSER_CLASSES": [
        "opsai.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "opsai.api.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # One error shape (see opsai/api.py): {field: [messages], "errors": [messages]}.
    "EXCEPTION_HANDLER": "opsai.api.exception_handler",
    "NON_FIELD_ERRORS_KEY": "errors",
}
# API tokens are django-rest-knox's: only a digest of each key is stored, and every
# token expires. accounts.ApiToken adds a name and the time it was last used.
KNOX_TOKEN_MODEL = "accounts.ApiToken"  # noqa: S105 (a model name, not a secret)
# knox's own token table is swapped out for that one: without its migrations no empty,
# unused knox_authtoken table is made.
MIGRATION_MODULES = {"knox": None}
REST_KNOX = {
    # Clients keep sending "Authorization: Token <key>", as with DRF's tokens before.
    "AUTH_HEADER_PREFIX": "Token",
    # A token lives as long as its owner chose (accounts.selectors); using it does not
    # extend it. TOKEN_TTL only serves knox's own login view, which opsai does not mount.
    "AUTO_REFRESH": False,
    "TOKEN_TTL": timedelta(days=30),
    # How often, at most, a token's last use is written (seconds).
    "MIN_REFRESH_INTERVAL": 60,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "opsai API",
    "DESCRIPTION": "Use cases, KPIs and governance of an operations AI portfolio.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["opsai.permissions.HasRole"],
}

# --- Logging -----------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Security: sign-in lockout, session limits, headers ----------------------------------
# ASVS level-2 basics. Every number here can be changed from the environment (see the
# README's Configuration table).


def _positive(name: str, default: int) -> int:
    """An environment integer that must be at least 1, refused with one clear line if not."""
    try:
        value = env.int(name, default=default)
    except ValueError:
        raise ConfigurationError(name, f"must be a whole number, got {env.str(name)!r}") from None
    if value < 1:
        raise ConfigurationError(name, f"must be a whole number of at least 1, got {value}")
    return value


# The longest lifetime a person may give an API token, in days: the profile offers 7, 30
# and 90 days up to it, and it.
TOKEN_MAX_DAYS = _positive("TOKEN_MAX_DAYS", 90)

INSTALLED_APPS += ["axes", "csp"]
# django-axes counts failed sign-ins per username *and* address: a guesser is locked out
# without letting anyone lock a colleague out from elsewhere. The backend must come
# first, so a locked-out pair is refused before the password is even checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", *AUTHENTICATION_BACKENDS]
AXES_FAILURE_LIMIT = _positive("SIGNIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=_positive("SIGNIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The lock lasts the cool-off from the last counted failure, as the page says; a retry
# during it does not start the clock again.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_CLIENT_IP_CALLABLE = "opsai.security.client_ip"
AXES_USERNAME_CALLABLE = "opsai.security.signin_username"
AXES_LOCKOUT_CALLABLE = "opsai.security.signin_locked_out"
# Without this axes logs a banner as it starts, and a configuration error must stay the one
# line on stderr (tests/opsai/test_config.py).
AXES_VERBOSE = False

# A session ends after this long without a request, and after this long in any case.
SESSION_IDLE_TIMEOUT = timedelta(minutes=_positive("SESSION_IDLE_MINUTES", 30))
SESSION_ABSOLUTE_LIFETIME = timedelta(hours=_positive("SESSION_MAX_HOURS", 12))
SESSION_COOKIE_AGE = int(SESSION_ABSOLUTE_LIFETIME.total_seconds())
# Right after the user is known, before anything asks for a signed-in user.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "opsai.middleware.SessionLimitsMiddleware",
)
# Every 401 and 403 on the audit trail; after the session limits, so the user recorded is
# the one who was refused.
MIDDLEWARE.insert(
    MIDDLEWARE.index("opsai.middleware.SessionLimitsMiddleware") + 1,
    "audit.middleware.RefusalAuditMiddleware",
)
MIDDLEWARE += ["csp.middleware.CSPMiddleware", "axes.middleware.AxesMiddleware"]

# Behind a TLS-terminating proxy (production's usual set-up) the proxy's
# X-Forwarded-Proto says whether the visitor used https, and its X-Forwarded-For names them.
BEHIND_TLS_PROXY = env.bool("BEHIND_TLS_PROXY", default=PRODUCTION)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TLS_PROXY else None
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=PRODUCTION)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the container's health check speaks plain http
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=365 * 24 * 3600 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=PRODUCTION)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=PRODUCTION)

# No inline script anywhere: JavaScript comes from static/js and static/vendor only, and
# figures travel as json_script blocks (type="application/json", which browsers do not run).
# Inline styles are allowed because plotly.js and htmx set them as they draw.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# The deploy check (`check --deploy`) also generates the API schema and warns when two
# choice sets would share a name; these name each one once.
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] = {
    "KPIStatusEnum": "kpis.choices.Status",
    "PlaybookStepEnum": "governance.choices.PlaybookStep",
    "ImportStateEnum": "usecases.choices.ImportState",
}
