"""Django settings, all read from the environment (see README): production-safe unless DJANGO_DEBUG is on."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from webapp.env import env_bool, env_int, env_list, env_path, env_str

REPO_DIR = Path(__file__).resolve().parents[2]

DEBUG = env_bool("DJANGO_DEBUG", False)
# The test suite runs these settings through webapp.test_settings, which only supplies a throwaway key and plain HTTP.
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "insecure-development-key-only-for-DJANGO_DEBUG" if DEBUG else "")
if not DEBUG and len(SECRET_KEY) < 50:
    raise ImproperlyConfigured(
        f"DJANGO_SECRET_KEY {'is not set' if not SECRET_KEY else 'is shorter than 50 characters'}: set it to 50 or "
        "more "
        "random characters (python -c 'import secrets; print(secrets.token_urlsafe(50))'), or DJANGO_DEBUG=1 for "
        "development; for the demo's database run `python -m demo manage COMMAND ...`"
    )
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

# Where imported volumes and media live (never under static files): one folder per study.
PLATFORM_DATA_DIR = env_path("PLATFORM_DATA_DIR", REPO_DIR / "var")
# nginx in front (deploy/nginx.conf.template): Django decides who may see a scan and hands the file to nginx with
# X-Accel-Redirect to its internal /_accel/ locations. Off: gunicorn or runserver send the file themselves.
PLATFORM_X_ACCEL = env_bool("PLATFORM_X_ACCEL", False)
# The scheme and host that invitation links start with.
PLATFORM_BASE_URL = env_str("PLATFORM_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

DATABASE_URL = env_str("DATABASE_URL", "")
if not DATABASE_URL:
    PLATFORM_DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASE_URL = f"sqlite:///{PLATFORM_DATA_DIR / 'platform.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 600),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let many readers autosave at once without "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "surveys",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "surveys.unavailable.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "webapp.urls"
WSGI_APPLICATION = "webapp.wsgi.application"

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
    }
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Static files: our own under static/, Papaya's standard build straight from node_modules (never committed).
STATIC_URL = "static/"
# Filled by `collectstatic` (which creates it) with hashed names and gzip and brotli copies, served by nginx (or
# WhiteNoise) with year-long cache headers. WhiteNoise serves through the finders as well, so a site without it still
# works under plain names: its "No directory at" warning about STATIC_ROOT is not a problem here.
STATIC_ROOT = env_path("DJANGO_STATIC_ROOT", REPO_DIR / "staticfiles")
warnings.filterwarnings("ignore", message=re.escape(f"No directory at: {STATIC_ROOT}"))
STATICFILES_DIRS = [
    REPO_DIR / "static",
    ("papaya", REPO_DIR / "node_modules" / "papaya-viewer" / "release" / "current" / "standard"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "webapp.static_storage.StaticStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGIN_URL = "admin:login"

# HTTPS hardening: on in production; DJANGO_HTTPS=false for plain-HTTP set-ups (tests, a demo on loopback).
HTTPS = env_bool("DJANGO_HTTPS", not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
SECURE_REDIRECT_EXEMPT = [r"^healthz"]  # a load balancer probes app hosts directly over plain HTTP
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
if env_bool("DJANGO_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "WARNING")},
}
