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
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import render

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
        logger.warning("rate limited %s (%s, %s)", client_ip(request), group, rate, extra={"limit_group": group})
        return too_many_requests(request, rate=rate, retry_after=retry_after)


def too_many_requests(request: HttpRequest, *, rate: str, retry_after: int) -> HttpResponse:
    """The 429 answer: JSON for the API, a page for people; both say when to retry."""
    count, _, period = rate.partition("/")
    message = f"Too many requests: the limit is {count} per {_PERIOD_WORDS.get(period, period)} per client. Retry in {retry_after} s."
    if request.path_info.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": message}, status=429)
    else:
        response = render(request, "429.html", {"message": message, "retry_after": retry_after}, status=429)
    response["Retry-After"] = str(retry_after)
    return response


_PERIOD_WORDS = {"s": "second", "m": "minute", "h": "hour", "d": "day"}


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
