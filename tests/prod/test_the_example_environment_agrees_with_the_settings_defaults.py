"""One source of truth for defaults: every knob .env.example sets to something other than the
settings default is a deployment choice named below, with its reason; every other knob has
exactly the default config/settings.py uses when the variable is unset (the hybrid weight,
INDEX_AUTO_EXACT_MAX and nprobe once disagreed: 0.5 vs 0.4, 200000 vs 50000, 32 vs 64)."""

from __future__ import annotations

import json

from tests.prod.helpers import clean_env, read_env_file, run_python

# Knobs where the production example deliberately differs from the embedded default, and why.
DEPLOYMENT_CHOICES = {
    "ALLOWED_HOSTS": "the operator's host name",
    "SECRET_KEY": "a placeholder the operator replaces (settings refuse it on a public host)",
    "CSRF_TRUSTED_ORIGINS": "the operator's https origin",
    "SECURE_PROXY_SSL_HEADER": "production runs behind a TLS-terminating proxy",
    "SECURE_SSL_REDIRECT": "derived from a public host; spelled out for the operator",
    "SECURE_HSTS_SECONDS": "derived from a public host; spelled out for the operator",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "derived from a public host; spelled out for the operator",
    "SECURE_HSTS_PRELOAD": "an opt-in for a domain the operator owns",
    "SECURE_COOKIES": "derived from a public host; spelled out for the operator",
    "DATABASE_URL": "PostgreSQL in the compose stack (embedded default: SQLite)",
    "REDIS_URL": "Redis in the compose stack (embedded default: in-process tasks)",
    "REDIS_CACHE_URL": "a second Redis database for rate-limit counters",
    "INDEX_DIR": "the compose volume",
    "EMBEDDING_CACHE_DIR": "the image's pre-exported model",
    "EMBEDDING_MODEL_NAME": "spelled out (the settings derive the same name)",
    "LOG_FORMAT": "derived from a public host (json); spelled out",
    "STATICFILES_MANIFEST": "the image runs collectstatic",
    "SITE_URL": "the operator's https origin, for links in emails",
    "DEFAULT_FROM_EMAIL": "the operator's sender (the default has a space, which this shell-sourced file cannot hold)",
    "HARVEST_USER_AGENT": "the default has spaces, which this shell-sourced file cannot hold",
}
# Read by gunicorn (config/gunicorn.conf.py) or by the compose file, not by the settings.
NOT_SETTINGS = {
    "POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD", "FORWARDED_ALLOW_IPS", "COMPOSE_PROXY_HOPS", "GUNICORN_BIND", "WEB_CONCURRENCY",
    "GUNICORN_THREADS", "GUNICORN_TIMEOUT", "GUNICORN_GRACEFUL_TIMEOUT", "GUNICORN_MAX_REQUESTS",
    "GUNICORN_KEEPALIVE", "GUNICORN_WARM", "MALLOC_TRIM_INTERVAL", "LOG_LEVEL", "EMBEDDING_MODEL",
    "CONN_MAX_AGE",  # DATABASES["default"], PostgreSQL only
    "AXES_COOLOFF_MINUTES",  # AXES_COOLOFF_TIME, in hours
    "EMAIL_URL", "EMAIL_HOST",  # switches: empty = mail printed to the log
}


def _defaults(names: list[str]) -> dict[str, object]:
    code = (
        "import json, django; from django.conf import settings; django.setup()\n"
        f"names = {names!r}\n"
        "print(json.dumps({n: getattr(settings, n, '<missing>') for n in names}, default=str))\n"
    )
    env = clean_env()
    done = run_python(code, env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _parse(value: str, like: object) -> object:
    if isinstance(like, bool):
        return value.lower() in ("true", "1", "yes", "on")
    if isinstance(like, int):
        return int(value)
    if isinstance(like, float):
        return float(value)
    return value


def test_every_other_knob_in_the_example_has_the_settings_default() -> None:
    example = read_env_file()
    compared = sorted(set(example) - set(DEPLOYMENT_CHOICES) - NOT_SETTINGS)
    defaults = _defaults(compared)
    missing = [name for name in compared if defaults[name] == "<missing>"]
    assert missing == [], "knobs in .env.example that config/settings.py does not define"
    differ = {
        name: (example[name], defaults[name])
        for name in compared
        if _parse(example[name], defaults[name]) != defaults[name]
    }
    assert differ == {}, "(.env.example, settings default)"
    assert len(compared) > 40  # the comparison covers the knobs, not a handful


def test_the_example_trusts_no_proxy_and_compose_sets_its_own() -> None:
    example = read_env_file()
    assert example["TRUSTED_PROXY_COUNT"] == "0"
    assert example["FORWARDED_ALLOW_IPS"] == "127.0.0.1"
    assert _defaults(["TRUSTED_PROXY_COUNT"]) == {"TRUSTED_PROXY_COUNT": 0}
