"""Django settings, all from the environment.

With nothing set the service runs embedded: SQLite and Celery in eager mode.
`DATABASE_URL` switches to PostgreSQL, `CELERY_BROKER_URL` or `REDIS_URL` to a
real Redis broker.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF

from alliance_api.config import ConfigError, env_bool, env_int, env_int_list, env_list, exit_on_config_error

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("DATA_DIR", BASE_DIR / "var"))


def _database() -> dict:
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "db.sqlite3",
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    try:
        config = dj_database_url.parse(url, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True)
    except Exception as error:  # dj-database-url raises several types for a bad URL
        raise ConfigError(f"DATABASE_URL: cannot parse {url!r} ({error})") from None
    if not config.get("ENGINE"):
        raise ConfigError(f"DATABASE_URL: unsupported scheme in {url!r}")
    if config["ENGINE"].endswith("postgresql"):
        # The same backend, but its per-request health check makes no round trip on a quiet connection,
        # and the submission insert is a prepared statement (off: DB_PREPARED_STATEMENTS=0, e.g. behind a
        # transaction-pooling PgBouncer older than 1.21).
        config["ENGINE"] = "alliance_api.db.postgresql"
        config["PREPARED_STATEMENTS"] = env_bool("DB_PREPARED_STATEMENTS", True)
        config.setdefault("OPTIONS", {})["connect_timeout"] = env_int("DB_CONNECT_TIMEOUT", 5)
    return config


try:
    DEBUG = env_bool("DEBUG", False)
    SECRET_KEY = os.environ.get("SECRET_KEY") or "django-insecure-embedded-default-change-me"
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
    DATABASES = {"default": _database()}
    CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or os.environ.get("REDIS_URL") or ""
    REDIS_URL = os.environ.get("REDIS_URL") or (CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else "")
    if CELERY_BROKER_URL and not CELERY_BROKER_URL.startswith(("redis://", "rediss://", "amqp://", "memory://")):
        raise ConfigError(f"CELERY_BROKER_URL: unsupported scheme in {CELERY_BROKER_URL!r}")
    METRICS_MIN_CELL = env_int("METRICS_MIN_CELL", 5)
    # Equity breakdowns by client background use the stricter CMS cell-size policy: no cell under 11.
    EQUITY_MIN_CELL = env_int("EQUITY_MIN_CELL", 11)
    # The equity view counts only responses received before the current month began, so a submission made to
    # watch which group moves shows nowhere until a month's other data has joined it.
    EQUITY_CLOSED_MONTHS_ONLY = env_bool("EQUITY_CLOSED_MONTHS_ONLY", True)
    # Goal-Based Outcomes: reliable change on one goal is 2.45 points (Edbrooke-Childs, Jacob, Law, Deighton &
    # Wolpert 2015, Child and Adolescent Mental Health 20(3):142-148); a goal is "stuck" after this many sessions
    # without a rise.
    GBO_RELIABLE_CHANGE = os.environ.get("GBO_RELIABLE_CHANGE") or "2.45"
    if not GBO_RELIABLE_CHANGE.replace(".", "", 1).isdigit() or float(GBO_RELIABLE_CHANGE) <= 0:
        raise ConfigError(f"GBO_RELIABLE_CHANGE: expected a positive number of points, got {GBO_RELIABLE_CHANGE!r}")
    GBO_STUCK_SESSIONS = env_int("GBO_STUCK_SESSIONS", 3)
    # Not on track: a clinic's expected change curve for an instrument and intake band needs at least this
    # many finished episodes; below it there is no curve and no flag (README, "Not on track").
    EXPECTED_CHANGE_MIN_EPISODES = env_int("EXPECTED_CHANGE_MIN_EPISODES", 30)
    if EXPECTED_CHANGE_MIN_EPISODES < 2:
        raise ConfigError(f"EXPECTED_CHANGE_MIN_EPISODES: at least 2, got {EXPECTED_CHANGE_MIN_EPISODES}")
    # Course of care: a response naming no session joins the client's session that started at most this many
    # hours before it was authored (or starts within the hour after); `authored` may lie at most this many days back.
    RESPONSE_SESSION_WINDOW_HOURS = env_int("RESPONSE_SESSION_WINDOW_HOURS", 24)
    RESPONSE_MAX_BACKDATE_DAYS = env_int("RESPONSE_MAX_BACKDATE_DAYS", 365)
    # An active episode with no attended session for this many weeks and no planned ending raises one
    # `disengaged` alert (a service convention, overridable per clinic in its care settings); `measure.due` /
    # `measure.missed` events look back this many hours for windows that opened or closed.
    DISENGAGED_AFTER_WEEKS = env_int("DISENGAGED_AFTER_WEEKS", 4)
    MEASURE_EVENTS_LOOKBACK_HOURS = env_int("MEASURE_EVENTS_LOOKBACK_HOURS", 72)
    SECURE = env_bool("SECURE", not DEBUG and bool(os.environ.get("SECRET_KEY")))
    # The FHIR canonical base: the identity of the served Questionnaires and code systems. A setting, never the
    # request's Host, so it is stable behind proxies and under other host names. Former bases (after a move)
    # may be listed as aliases; responses naming them are read as ours.
    FHIR_CANONICAL_BASE = (os.environ.get("FHIR_CANONICAL_BASE") or "http://127.0.0.1:8000/fhir").rstrip("/")
    if not FHIR_CANONICAL_BASE.startswith(("http://", "https://")):
        raise ConfigError(f"FHIR_CANONICAL_BASE: expected an http(s) URL, got {FHIR_CANONICAL_BASE!r}")
    FHIR_CANONICAL_ALIASES = [alias.rstrip("/") for alias in env_list("FHIR_CANONICAL_ALIASES", [])]
    # How many proxies of this deployment append to X-Forwarded-For; 0 trusts only REMOTE_ADDR.
    TRUSTED_PROXY_DEPTH = env_int("TRUSTED_PROXY_DEPTH", 0)
    LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
    LOGIN_COOLOFF_MINUTES = env_int("LOGIN_COOLOFF_MINUTES", 15)
    for _name, _value, _least in (
        ("TRUSTED_PROXY_DEPTH", TRUSTED_PROXY_DEPTH, 0),
        ("LOGIN_FAILURE_LIMIT", LOGIN_FAILURE_LIMIT, 1),
        ("LOGIN_COOLOFF_MINUTES", LOGIN_COOLOFF_MINUTES, 1),
    ):
        if _value < _least:
            raise ConfigError(f"{_name}: expected a whole number of at least {_least}, got {_value}")
except ConfigError as error:
    exit_on_config_error(error)

EMBEDDED = not CELERY_BROKER_URL

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_api_key",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "csp",
    "axes",
    "questionnaires.apps.QuestionnairesConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "alliance_api.middleware.NoStoreMiddleware",
    "questionnaires.request_context.RequestContextMiddleware",
    # Last, so it sees the lockout flag the login attempt left on the request.
    "axes.middleware.AxesMiddleware",
]

# django-axes checks every password login (REST token and admin) before the model backend runs.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# --- Response headers ---------------------------------------------------------
# Client data and credentials are never cached (see alliance_api.middleware.NoStoreMiddleware).
NO_STORE_PATH_PREFIXES = ["/api/v1/", "/fhir/", "/take/"]
NO_STORE_EXEMPT_PATHS = ["/fhir/metadata"]

# Content-Security-Policy (django-csp) on every response: scripts and styles from this server
# only, inline ones only with the per-response nonce (`nonce="{{ request.csp_nonce }}"`).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

ROOT_URLCONF = "alliance_api.urls"
WSGI_APPLICATION = "alliance_api.wsgi.application"

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
            ],
        },
    },
]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
"""Languages of the client form page's own words: every language a shipped definition carries."""
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns at start-up when it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = DATA_DIR / "media"

# Request size limits: one caller cannot exhaust memory with a huge body.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("MAX_BODY_BYTES", 5 * 1024 * 1024)

if SECURE:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # A cache outage must cost a request milliseconds, not hang it.
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Login limits (django-axes) ------------------------------------------------
# LOGIN_FAILURE_LIMIT failed passwords for one username (from any address), or from one address
# (for any username), lock that username or address out for LOGIN_COOLOFF_MINUTES; every attempt
# during a lockout starts the cool-off again, so a guesser who keeps trying stays locked out.
AXES_ENABLED = True
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = True
# A success does not wipe the address's failures: one valid account must not reset a guesser's count.
AXES_RESET_ON_SUCCESS = False
AXES_CLIENT_IP_CALLABLE = "questionnaires.client_address.client_address"
AXES_LOCKOUT_CALLABLE = "questionnaires.api.login_limits.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
# The audit log records logins with their source address; axes keeps only its failure counters.
AXES_DISABLE_ACCESS_LOG = True
AXES_ENABLE_ADMIN = False
AXES_VERBOSE = False

# --- Celery ---------------------------------------------------------------
# The database is the source of truth; the broker only carries wake-up calls.
CELERY_TASK_ALWAYS_EAGER = EMBEDDED
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = CELERY_BROKER_URL or "memory://"
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or (REDIS_URL or None)
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 30
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Above the longest task, so a slow task is not handed to a second worker.
    "visibility_timeout": CELERY_TASK_TIME_LIMIT * 4,
    "socket_timeout": 5,
    "socket_connect_timeout": 2,
    # Publishing while the broker is down must not hang a web request.
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_REDIS_SOCKET_TIMEOUT = 5
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 2
CELERY_TASK_DEFAULT_QUEUE = "scoring"
CELERY_TASK_ROUTES = {
    "questionnaires.score_*": {"queue": "scoring"},
    "questionnaires.sweep*": {"queue": "scoring"},
    "questionnaires.metrics_*": {"queue": "aggregation"},
    "questionnaires.webhook_*": {"queue": "webhooks"},
    "questionnaires.export_*": {"queue": "exports"},
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_IGNORE_RESULT = True
# Workers on several machines: the database, not the broker, decides who scores what.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True

# The sweep (a beat task, editable in admin) re-enqueues what the broker lost.
SCORING_SWEEP_INTERVAL_SECONDS = env_int("SCORING_SWEEP_INTERVAL_SECONDS", 30)
SCORING_SWEEP_PENDING_AFTER_SECONDS = env_int("SCORING_SWEEP_PENDING_AFTER_SECONDS", 60)
SCORING_SWEEP_LOOKBACK_DAYS = env_int("SCORING_SWEEP_LOOKBACK_DAYS", 7)

# --- Webhooks -----------------------------------------------------------------
# Empty: any host whose every address is public. Set: only these hosts (exact, or
# ".example.org" for a domain and its subdomains), private addresses included.
WEBHOOK_ALLOWED_HOSTS = env_list("WEBHOOK_ALLOWED_HOSTS", [])
# The only ports a webhook URL may name (allow-listed hosts included), so a subscription cannot
# reach a database, cache or admin port on a reachable host.
WEBHOOK_ALLOWED_PORTS = env_int_list("WEBHOOK_ALLOWED_PORTS", [80, 443])
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 8)
WEBHOOK_RETRY_BASE_SECONDS = env_int("WEBHOOK_RETRY_BASE_SECONDS", 30)
# Retries wait at most this long: a countdown longer than the visibility timeout would be redelivered early.
WEBHOOK_RETRY_MAX_SECONDS = min(env_int("WEBHOOK_RETRY_MAX_SECONDS", 3600), CELERY_TASK_TIME_LIMIT * 4 - 60)

# --- REST framework ---------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["questionnaires.api.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["questionnaires.api.renderers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "questionnaires.api.authentication.ApiKeyAuthentication",
        "questionnaires.api.authentication.StaffTokenAuthentication",
        "questionnaires.api.authentication.ClientTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["questionnaires.api.throttling.CredentialThrottle"],
    # Generous defaults so benchmarks are not throttled; "" switches a limit off.
    "DEFAULT_THROTTLE_RATES": {
        "credential": os.environ.get("THROTTLE_RATE", "6000/min"),
        "login": os.environ.get("THROTTLE_LOGIN_RATE", "30/min"),
    },
    "DEFAULT_PAGINATION_CLASS": "questionnaires.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "questionnaires.api.problems.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
API_STAFF_TOKEN_HOURS = env_int("API_STAFF_TOKEN_HOURS", 24 * 7)
API_CLIENT_TOKEN_DAYS = env_int("API_CLIENT_TOKEN_DAYS", 30)
# How long a client may amend or retract their own answers after sending them.
RESPONSE_CLIENT_CORRECTION_HOURS = env_int("RESPONSE_CLIENT_CORRECTION_HOURS", 24)
# A clinician who may register clients learns from a 409 that an external id exists outside their caseload.
CLINICIANS_MAY_REGISTER_CLIENTS = env_bool("CLINICIANS_MAY_REGISTER_CLIENTS", False)

SPECTACULAR_SETTINGS = {
    "TITLE": "Alliance API",
    "DESCRIPTION": (
        "Session-by-session measurement of the therapeutic alliance and outcomes. "
        "Errors are RFC 9457 problem details (`application/problem+json`) whose `errors` list "
        "names every field at fault; problem `type`s are `urn:alliance-api:problem:<slug>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI assets served from this deployment (drf-spectacular-sidecar), so the docs work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "PersonRoleEnum": ["client", "clinician"],
        "EpisodeStatusEnum": ["active", "finished"],
    },
}

# --- Questionnaire plugins ----------------------------------------------------
QUESTIONNAIRE_PLUGINS_AUTOLOAD = env_bool("QUESTIONNAIRE_PLUGINS_AUTOLOAD", True)
QUESTIONNAIRE_PLUGINS_EXCLUDE = env_list("QUESTIONNAIRE_PLUGINS_EXCLUDE", [])
QUESTIONNAIRE_TEXT_PACKS = env_list("QUESTIONNAIRE_TEXT_PACKS", [])

# Client tokens travel in /take/ paths: a filter redacts them on every logger that prints paths and on the console.
LOGGING_CONFIG = "alliance_api.log_redaction.configure_logging"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"redact_client_tokens": {"()": "alliance_api.log_redaction.RedactClientTokens"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_client_tokens"]}
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
