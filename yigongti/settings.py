"""The one settings object of yigongti.

Everything a deployment changes comes from the environment:

- ``DATABASE_URL``   — database (default: SQLite file ``$YGT_DATA_DIR/yigongti.sqlite3``)
- ``YGT_DATA_DIR``   — data directory (default ``./var``)
- ``YGT_SECRET_KEY`` — required when ``YGT_ENV=production``; a default key refuses to start there
- ``YGT_DEBUG``      — ``1`` for Django debug pages (never in production)
- ``YGT_ALLOWED_HOSTS`` — comma separated
- ``YGT_DEMO_MODULES`` — the demo modules to build (comma separated; default all)
- ``YGT_ANALYTICS_DIR`` — the Parquet fact tables (default ``$YGT_DATA_DIR/analytics``)
- ``YGT_ANALYTICS_MONTHS`` — how many months of periods the indicators keep (default 36)
- ``YGT_SPARK_MASTER`` — the Spark master URL for ``--engine spark`` (default ``local[*]``)
- ``YGT_DUCKDB_MEMORY`` — the DuckDB engine's memory limit (default ``4GB``; it spills to disk past it)
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("YGT_DATA_DIR", "var")).resolve()
ENV = os.environ.get("YGT_ENV", "development")

_DEFAULT_SECRET = "insecure-development-key-change-me"
SECRET_KEY = os.environ.get("YGT_SECRET_KEY", _DEFAULT_SECRET)
if ENV == "production" and SECRET_KEY == _DEFAULT_SECRET:
    raise ImproperlyConfigured("YGT_SECRET_KEY must be set in production (YGT_ENV=production).")

DEBUG = os.environ.get("YGT_DEBUG", "0") == "1"
ALLOWED_HOSTS = os.environ.get("YGT_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "yigongti.core",
    "yigongti.registry",
    "yigongti.accounts",
    "yigongti.residents",
    "yigongti.care",
    "yigongti.programmes",
    "yigongti.referrals",
    "yigongti.surveillance",
    "yigongti.insurance",
    "yigongti.medicines",
    "yigongti.analytics",
    "yigongti.interop",
    "yigongti.demo",
    "yigongti.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "yigongti.core.middleware.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "yigongti.web.middleware.DomainErrorMiddleware",
    "yigongti.core.middleware.AuditReadMiddleware",
]

ROOT_URLCONF = "yigongti.urls"
WSGI_APPLICATION = "yigongti.wsgi.application"

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
            ],
        },
    },
]

# ---------------------------------------------------------------- database
_default_db_url = f"sqlite:///{DATA_DIR / 'yigongti.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(os.environ.get("DATABASE_URL", _default_db_url))}
if "DATABASE_URL" not in os.environ:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # One file, WAL: readers never block the writer; IMMEDIATE so that concurrent writers queue
    # instead of failing half-way through a transaction.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
elif DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # A test database per process, so that concurrent runs on one server never collide.
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ---------------------------------------------------------------- accounts and security
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["yigongti.accounts.backends.LockoutModelBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Lockout after repeated failures (等保 2.0 login-failure handling).
YGT_LOGIN_MAX_FAILURES = int(os.environ.get("YGT_LOGIN_MAX_FAILURES", "5"))
# The demo modules ``ygt demo`` builds: all (empty), or a prefix of them by name, e.g.
# "registry,accounts" for a quick county without people (the tests of the command use it).
# Analytics: Parquet facts under YGT_ANALYTICS_DIR; periods kept for the last YGT_ANALYTICS_MONTHS months;
# the Spark engine runs on YGT_SPARK_MASTER (default local[*]).
YGT_ANALYTICS_DIR = Path(os.environ.get("YGT_ANALYTICS_DIR", str(DATA_DIR / "analytics"))).resolve()
YGT_ANALYTICS_MONTHS = int(os.environ.get("YGT_ANALYTICS_MONTHS", "36"))
YGT_SPARK_MASTER = os.environ.get("YGT_SPARK_MASTER", "")
YGT_DUCKDB_MEMORY = os.environ.get("YGT_DUCKDB_MEMORY", "4GB")  # DuckDB spills to disk past it
YGT_DEMO_MODULES = [name.strip() for name in os.environ.get("YGT_DEMO_MODULES", "").split(",") if name.strip()]
YGT_LOGIN_LOCKOUT_MINUTES = int(os.environ.get("YGT_LOGIN_LOCKOUT_MINUTES", "15"))

# Session timeout: idle sessions end after 30 minutes (renewed on every request).
SESSION_COOKIE_AGE = int(os.environ.get("YGT_SESSION_SECONDS", str(30 * 60)))
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads it to send X-CSRFToken
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = ENV == "production"
X_FRAME_OPTIONS = "DENY"

# ---------------------------------------------------------------- i18n: 简体中文 first, complete English
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# ---------------------------------------------------------------- static files (served locally, no CDN)
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise serves from the finders; it warns if absent
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("YGT_LOG_LEVEL", "WARNING")},
}
