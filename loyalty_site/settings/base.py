"""Project settings. Every knob comes from an environment variable (README: Configuration)."""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from exc


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)

DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me-0123456789"  # noqa: S105
SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
if not DEBUG and SECRET_KEY == DEV_SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is the development default; set SECRET_KEY when DEBUG=0."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "loyalty_site.core",
    "members",
    "ledger",
    "coupons",
    "promotions",
    "rewards",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "loyalty_site.urls"

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

WSGI_APPLICATION = "loyalty_site.wsgi.application"
ASGI_APPLICATION = "loyalty_site.asgi.application"

# Embedded default: a SQLite file in the project, so `make run` needs nothing installed.
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
elif os.environ.get("DB_SERVER_SIDE_BINDING", "1") == "1":
    # PostgreSQL: parameters bound by the server, and a statement run 5 times on a connection is
    # prepared (psycopg keeps the last 100 per connection). The hot API paths send the same SQL
    # every call (loyalty_site.core.compiled), so PostgreSQL skips parsing and planning them:
    # about half of each statement's time. DB_SERVER_SIDE_BINDING=0 turns it off (for a pooler
    # in transaction mode, which cannot keep prepared statements). Restart the web and worker
    # processes after migrations, as a prepared plan does not survive a changed table.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        server_side_binding=True, prepare_threshold=5
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "loyalty_site.core.cache.ReusedClientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "loyalty"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: Redis is broker and result backend when REDIS_URL is set; otherwise tasks run eagerly
# in-process (the embedded default).
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))

LOGIN_URL = "admin:login"

# Email goes through Django's backends; the console backend prints mail during development.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "loyalty@localhost")

# SMS goes through loyalty_site.core.sms; "console" logs messages, "http" posts them.
SMS_BACKEND = os.environ.get("SMS_BACKEND", "console")
SMS_HTTP_URL = os.environ.get("SMS_HTTP_URL", "")
SMS_HTTP_TOKEN = os.environ.get("SMS_HTTP_TOKEN", "")
SMS_HTTP_TIMEOUT_SECONDS = float(os.environ.get("SMS_HTTP_TIMEOUT_SECONDS", "5"))

# How long a points validation code (OTP) stays valid; asking again inside it returns the same code.
POINTS_VALIDATION_CODE_TTL_SECONDS = int(
    os.environ.get("POINTS_VALIDATION_CODE_TTL_SECONDS", "900")
)

# A RUNNING job whose heartbeat is older than this is taken over by another worker.
JOBS_STALE_AFTER_SECONDS = int(os.environ.get("JOBS_STALE_AFTER_SECONDS", "600"))

# API tokens issued by /v3/oauth/token/generate live this long (contract: ttlSeconds 300).
OAUTH_TOKEN_TTL_SECONDS = int(os.environ.get("OAUTH_TOKEN_TTL_SECONDS", "300"))

# The explicit seams where later domains plug into the members flows. Each entry is a dotted path
# to a function; see members.services.pipeline for the signatures.
TRANSACTION_ADD_PIPELINE: list[str] = [
    "coupons.services.redemption.transaction_hooks.coupons_on_transaction_add",
    "promotions.services.cart.bills.cart_promotions_on_transaction_add",
    "promotions.services.earning.earning_on_transaction_add",
]
TRANSACTION_RETURN_PIPELINE: list[str] = [
    "ledger.services.transaction_hooks.ledger_on_transaction_return",
    "coupons.services.redemption.transaction_hooks.coupons_on_transaction_return",
    "promotions.services.cart.bills.cart_promotions_on_transaction_return",
]
CUSTOMER_REGISTRATION_PIPELINE: list[str] = [
    "ledger.services.accounts.ledger_open_accounts_on_registration",
    "promotions.services.earning.earning_on_customer_registration",
]

# Coupon redemption: counter shards per offer (a hot offer's concurrent redemptions spread over
# this many rows) and the throttle on failed validations (per till and per customer: at most
# LIMIT failures in WINDOW seconds, then 429 until the window ends).
COUPON_REDEMPTION_COUNTER_SHARDS = env_int("COUPON_REDEMPTION_COUNTER_SHARDS", 16)
COUPON_THROTTLE_TILL_FAILURES = env_int("COUPON_THROTTLE_TILL_FAILURES", 100)
COUPON_THROTTLE_CUSTOMER_FAILURES = env_int("COUPON_THROTTLE_CUSTOMER_FAILURES", 10)
COUPON_THROTTLE_WINDOW_SECONDS = env_int("COUPON_THROTTLE_WINDOW_SECONDS", 300)

# Cart promotions: how long an evaluation holds the promotion and code usage it applied (the bill
# carrying its evaluation id turns the hold into use; an abandoned cart's hold lapses).
CART_EVALUATION_HOLD_SECONDS = env_int("CART_EVALUATION_HOLD_SECONDS", 900)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "loyalty_site.api.authentication.TillBasicAuthentication",
        "loyalty_site.api.authentication.OAuthTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["loyalty_site.api.permissions.IsTill"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "loyalty_site.api.exceptions.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "COERCE_DECIMAL_TO_STRING": True,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Loyalty platform API",
    "DESCRIPTION": (
        "REST APIs for POS tills, e-commerce and apps. Paths and payloads follow the contract in "
        "shared/api/CONTRACT.md. Authenticate with HTTP Basic (till username and the MD5 hex "
        "digest of its password) or an OAuth token from /v3/oauth/token/generate sent in "
        "X-CAP-API-OAUTH-TOKEN."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
