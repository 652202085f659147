"""Django settings. Embedded SQLite by default; PostgreSQL when DATABASE_URL is set.

Modes (YINGSHANG_MODE): ``demo`` (embedded, demo accounts allowed, generated secret key),
``production`` (secrets required, demo accounts refused) and ``test``.
"""
from __future__ import annotations

import os
import secrets
import sys
import tempfile
from pathlib import Path

import dj_database_url

from yingshang.secrets import read_secret

BASE_DIR = Path(__file__).resolve().parent
MODE = os.environ.get("YINGSHANG_MODE") or ("test" if "pytest" in sys.modules else "demo")
_default_home = Path(tempfile.gettempdir()) / "yingshang-test" if MODE == "test" else Path.cwd() / "var"
HOME = Path(os.environ.get("YINGSHANG_HOME") or _default_home).resolve()
DEBUG = os.environ.get("YINGSHANG_DEBUG", "0") == "1"
DEMO_MODE = MODE in {"demo", "test"}
INSECURE_ALLOWED = DEMO_MODE or DEBUG


def _secret_key() -> str:
    key = read_secret("SECRET_KEY")
    if key:
        if not INSECURE_ALLOWED and (len(key) < 40 or "insecure" in key):
            raise RuntimeError("SECRET_KEY 过短或为不安全的默认值,生产模式拒绝启动")
        return key
    if not INSECURE_ALLOWED:
        raise RuntimeError("生产模式必须通过环境变量 SECRET_KEY 或 SECRET_KEY_FILE 提供密钥")
    path = HOME / "secret_key"
    if path.exists():
        return path.read_text().strip()
    HOME.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    path.write_text(key)
    return key


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h] or (
    ["*"] if INSECURE_ALLOWED else ["localhost", "127.0.0.1"]
)
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "ninja",  # serves the Swagger UI of /api/v1/docs from local static files, not a CDN
    "yingshang.core",
    "yingshang.workcal",
    "yingshang.enterprises",
    "yingshang.policies",
    "yingshang.appeals",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "yingshang.core.middleware.RejectNulMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "yingshang.core.middleware.RequestContextMiddleware",
]

ROOT_URLCONF = "yingshang.urls"
WSGI_APPLICATION = "yingshang.wsgi.application"
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
                "yingshang.core.context.platform",
            ],
        },
    },
]


def _database() -> dict:
    url = read_secret("DATABASE_URL")
    if url:
        db = dj_database_url.parse(url, conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")))
        db.setdefault("OPTIONS", {})
        return db
    HOME.mkdir(parents=True, exist_ok=True)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("YINGSHANG_SQLITE") or str(HOME / "yingshang.sqlite3"),
        "OPTIONS": {
            # WAL lets the web server read while background jobs write; IMMEDIATE avoids
            # "database is locked" upgrades in the middle of a transaction.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
            " PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        },
    }


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = ["yingshang.core.auth.ModeAwareBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [] if INSECURE_ALLOWED else [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if MODE == "test":
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = HOME / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every request when it is missing
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = HOME / "media"
MEDIA_URL = "/media/"
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024
YINGSHANG_MAX_IMPORT_BYTES = int(os.environ.get("YINGSHANG_MAX_IMPORT_BYTES", 50 * 1024 * 1024))
# Unconfirmed uploads (which hold personal data) are deleted after this; stalled imports are failed.
YINGSHANG_IMPORT_EXPIRY_HOURS = int(os.environ.get("YINGSHANG_IMPORT_EXPIRY_HOURS", "24"))
YINGSHANG_IMPORT_STALL_MINUTES = int(os.environ.get("YINGSHANG_IMPORT_STALL_MINUTES", "30"))
# Policy matching: region-code prefixes the batch is split into, one Celery task each (comma-separated;
# empty = one shard for the whole register, e.g. "4101,4102,…" for a province on several workers).
YINGSHANG_MATCH_SHARDS = [p.strip() for p in os.environ.get("YINGSHANG_MATCH_SHARDS", "").split(",") if p.strip()] or [""]
# Policy pushes per enterprise and day; the rest waits for the next days.
YINGSHANG_PUSH_DAILY_CAP = int(os.environ.get("YINGSHANG_PUSH_DAILY_CAP", "5"))
# Appeals: calendar days after closing in which the enterprise may reopen a case.
YINGSHANG_APPEAL_REOPEN_DAYS = int(os.environ.get("YINGSHANG_APPEAL_REOPEN_DAYS", "15"))
# 满意率: weight of "basically satisfied"; cases closed unrated are excluded unless rated by this default.
YINGSHANG_APPEAL_BASIC_SATISFIED_WEIGHT = float(os.environ.get("YINGSHANG_APPEAL_BASIC_SATISFIED_WEIGHT", "1.0"))
YINGSHANG_APPEAL_UNRATED_AS = None

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = not INSECURE_ALLOWED and os.environ.get("YINGSHANG_HTTPS", "1") == "1"
if not INSECURE_ALLOWED and os.environ.get("YINGSHANG_HTTPS", "1") != "1":
    # An explicit plain-HTTP deployment: the HTTPS deployment checks do not apply.
    SILENCED_SYSTEM_CHECKS = ["security.W004", "security.W008", "security.W012", "security.W016"]
X_FRAME_OPTIONS = "DENY"
# Behind an HTTPS reverse proxy in production (YINGSHANG_HTTPS=0 for a plain-HTTP intranet test bed).
_HTTPS = not INSECURE_ALLOWED and os.environ.get("YINGSHANG_HTTPS", "1") == "1"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = _HTTPS and os.environ.get("YINGSHANG_SSL_REDIRECT", "1") == "1"
SECURE_HSTS_SECONDS = 31536000 if _HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = _HTTPS

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND") or (
    "django.core.mail.backends.locmem.EmailBackend" if MODE == "test"
    else "django.core.mail.backends.filebased.EmailBackend" if DEMO_MODE
    else "django.core.mail.backends.smtp.EmailBackend"
)
EMAIL_FILE_PATH = HOME / "mail"
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = read_secret("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = os.environ.get("EMAIL_USE_TLS", "0") == "1"
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "营商通 <noreply@yingshang.local>")
YINGSHANG_SMS_PROVIDER = os.environ.get("YINGSHANG_SMS_PROVIDER", "yingshang.core.sms.LogSmsProvider")

# Background jobs: Celery with a broker in production, an in-process runner otherwise.
CELERY_BROKER_URL = read_secret("CELERY_BROKER_URL") or ""
# Tests run jobs synchronously unless YINGSHANG_JOBS says otherwise, whatever the shell's broker.
YINGSHANG_JOBS = os.environ.get("YINGSHANG_JOBS") or ("celery" if CELERY_BROKER_URL and MODE != "test" else "inprocess")
YINGSHANG_BASE_URL = os.environ.get("YINGSHANG_BASE_URL", "http://127.0.0.1:8000")
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1

# A shared cache (Redis in production) carries progress between the web and worker processes.
_CACHE_URL = os.environ.get("YINGSHANG_CACHE_URL", "")
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _CACHE_URL}
          if _CACHE_URL else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING" if MODE == "test" else "INFO")},
    "loggers": {"django.server": {"level": "WARNING"}},
}
# Appeals: days after the reply in which the appellant may rate; afterwards the case closes unrated
# (YINGSHANG_APPEAL_UNRATED_AS decides how the KPIs count it).
YINGSHANG_APPEAL_RATING_DAYS = int(os.environ.get("YINGSHANG_APPEAL_RATING_DAYS", "7"))
# 回头看: closed cases are sampled this many days after closing; the share of satisfied cases sampled
# (unsatisfied, unresolved and unrated closures are always sampled).
YINGSHANG_APPEAL_REVIEW_AFTER_DAYS = int(os.environ.get("YINGSHANG_APPEAL_REVIEW_AFTER_DAYS", "30"))
YINGSHANG_APPEAL_REVIEW_RATE = float(os.environ.get("YINGSHANG_APPEAL_REVIEW_RATE", "0.1"))
# The 12345 hotline system: where replies and ratings of its work orders are reported (empty: not sent),
# and the shared secret that signs each delivery (HMAC-SHA256 of the body).
YINGSHANG_12345_WEBHOOK_URL = os.environ.get("YINGSHANG_12345_WEBHOOK_URL", "")
YINGSHANG_12345_WEBHOOK_SECRET = os.environ.get("YINGSHANG_12345_WEBHOOK_SECRET", "")
