"""Cross-cutting HTTP concerns: request ids and access logs, probes, rate limits, extra headers.

Order in settings.MIDDLEWARE matters: RequestIdMiddleware comes first so every later log line
(including Django's own 4xx/5xx lines) carries the id; HealthCheckMiddleware answers probes
before host validation and the HTTPS redirect, which a load balancer's or Docker's plain-HTTP
probe by IP address would otherwise fail; RateLimitMiddleware sits after WhiteNoise so static
files never count against a client.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

from config.logs import request_id_var

logger = logging.getLogger("paperscope.request")

# Ids from a trusted proxy (nginx $request_id, an AWS trace id) are kept so logs join up;
# anything else is replaced, so a client cannot inject newlines or megabytes into the logs.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:=-]{1,128}")
_PROBE_PATHS = ("/healthz", "/readyz")

GetResponse = Callable[[HttpRequest], HttpResponseBase]


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or the proxy-appended X-Forwarded-For entry.

    With TRUSTED_PROXY_COUNT = n, the n-th address from the right of X-Forwarded-For is the
    one our own outermost proxy saw; entries left of it are client-supplied and spoofable.
    Also used by django-ratelimit (RATELIMIT_IP_META_KEY).
    """
    remote = request.META.get("REMOTE_ADDR") or "0.0.0.0"  # noqa: S104 - a key, not a bind address
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies <= 0 or not forwarded:
        return remote
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    candidate = hops[-proxies] if len(hops) >= proxies else (hops[0] if hops else remote)
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


class RequestIdMiddleware:
    """Gives each request an id (X-Request-ID in and out) and writes one JSON access line."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            # Probes arrive every few seconds; at INFO they would drown the real traffic.
            level = logging.DEBUG if request.path_info in _PROBE_PATHS else logging.INFO
            logger.log(
                level,
                "%s %s %s",
                request.method,
                request.path_info,
                response.status_code,
                extra={
                    "method": request.method,
                    # The path only: query strings hold what people searched for.
                    "path": request.path_info,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "client_ip": client_ip(request),
                },
            )
            return response
        finally:
            request_id_var.reset(token)


class HealthCheckMiddleware:
    """Answers GET /healthz and /readyz (see config.health) before any other middleware runs."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        path = request.path_info
        if path not in _PROBE_PATHS:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            return JsonResponse({"detail": "Probes answer GET and HEAD only."}, status=405, headers={"Allow": "GET, HEAD"})
        from config import health

        status, body = health.liveness() if path == "/healthz" else health.readiness()
        response = JsonResponse(body, status=status, json_dumps_params={"indent": 2})
        response["Cache-Control"] = "no-store"
        # A failing probe is reported in its body; Django's "Service Unavailable" error line
        # every few seconds would bury the one log line that says why.
        response._has_been_logged = True  # type: ignore[attr-defined]
        return response


class RateLimitMiddleware:
    """Per-client-IP limits on search pages and the API: 429 + Retry-After.

    Counters live in the default cache (Redis when REDIS_URL is set, so every web process
    shares them). If the cache is unreachable the request is served: losing rate limiting for
    a moment is better than losing the site.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def _rule(self, request: HttpRequest) -> tuple[str, str] | None:
        path = request.path_info
        if path.startswith("/api/"):
            # The spec and its docs page cost nothing and clients fetch them in bursts.
            if path in ("/api/openapi.json", "/api/docs"):
                return None
            return "api", settings.RATELIMIT_API
        if path in ("/search", "/similar") or path.startswith("/search/"):
            return "search", settings.RATELIMIT_SEARCH
        # Pages that read the database on every request: a scraper walking them all is as
        # costly as one searching (a paper page also ranks its related papers).
        if path == "/" or path.startswith(_PAGE_PREFIXES):
            return "pages", settings.RATELIMIT_PAGES
        # Logins (the admin's and the readers') are throttled per username + IP by django-axes.
        return None

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        rule = self._rule(request)
        if rule is None or not settings.RATELIMIT_ENABLE:
            return self.get_response(request)
        from django_ratelimit.core import get_usage

        group, rate = rule
        try:
            usage = get_usage(request, group=group, key="ip", rate=rate, increment=True)
        except Exception:  # a Redis outage must not take search down with it
            logger.warning("rate limit store unavailable; serving %s unlimited", request.path_info, exc_info=True)
            return self.get_response(request)
        if usage is None or not usage["should_limit"]:
            return self.get_response(request)
        retry_after = max(1, int(usage["time_left"]))
        _refusals.record(client_ip(request), group, rate)
        return too_many_requests(request, rate=rate, retry_after=retry_after)


_PAGE_PREFIXES = ("/papers/", "/authors/", "/browse/")


class _RefusalLog:
    """One WARNING per RATELIMIT_LOG_INTERVAL seconds (per process) summing up every 429 since
    the last one, instead of a line per refused request (27,588 lines a minute under a flood
    buried everything else). The first refusal after a quiet interval is logged at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str, str]] = Counter()
        self._last = float("-inf")

    def record(self, ip: str, group: str, rate: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._counts[(ip, group, rate)] += 1
            if now - self._last < settings.RATELIMIT_LOG_INTERVAL:
                return
            counts, self._counts, self._last = self._counts, Counter(), now
        total = sum(counts.values())
        top = ", ".join(f"{ip} {group} ({rate}): {n}" for (ip, group, rate), n in counts.most_common(5))
        more = f" and {len(counts) - 5} more" if len(counts) > 5 else ""
        logger.warning(
            "rate limited %d request(s) from %d client(s) since the last report: %s%s",
            total, len({ip for ip, _, _ in counts}), top, more,
            extra={"limit_refused": total, "limit_group": ",".join(sorted({g for _, g, _ in counts}))},
        )


_refusals = _RefusalLog()


def too_many_requests(request: HttpRequest, *, rate: str, retry_after: int) -> HttpResponse:
    """The 429 answer: JSON for the API, a page for people; both say when to retry."""
    count, _, period = rate.partition("/")
    message = f"Too many requests: the limit is {count} per {_PERIOD_WORDS.get(period, period)} per client. Retry in {retry_after} s."
    if request.path_info.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": message}, status=429)
    else:
        response = render(request, "429.html", {"message": message, "retry_after": retry_after}, status=429)
    response["Retry-After"] = str(retry_after)
    # Counted in _RefusalLog's summary; Django's own "Too Many Requests" WARNING per response
    # would be the very flood of lines that summary replaces.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


_PERIOD_WORDS = {"s": "second", "m": "minute", "h": "hour", "d": "day"}


class ApiErrorsMiddleware:
    """Everything under /api/ answers like the API: HEAD like GET (without the body, as the WSGI
    server sends it), a method an endpoint does not take as a JSON 405 ``{"detail"}`` with
    Allow (django-ninja answers those in plain text). Unknown paths: search.api.not_found."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if not request.path_info.startswith("/api/"):
            return self.get_response(request)
        method = request.method
        if method == "HEAD":
            request.method = "GET"
        try:
            response = self.get_response(request)
        finally:
            request.method = method
        if response.status_code == 405 and not response.get("Content-Type", "").startswith("application/json"):
            allowed = response.get("Allow", "GET")
            answer = JsonResponse(
                {"detail": f"{method} is not allowed on {request.path_info}; it answers {allowed}."}, status=405
            )
            answer["Allow"] = allowed
            return answer
        return response


class HtmxVaryMiddleware:
    """Pages answer htmx requests with a fragment and others with the whole page, so a cache
    (the browser's back button included) must key them on HX-Request."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if response.get("Content-Type", "").startswith("text/html"):
            patch_vary_headers(response, ("HX-Request",))
        return response


class SecurityHeadersMiddleware:
    """Headers Django's SecurityMiddleware does not set (CSP comes from django-csp)."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        # No page here needs a camera, a microphone, a location or payments.
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
        response.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        return response
