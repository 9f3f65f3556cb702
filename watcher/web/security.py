"""Web security shared by the public side and the admin console.

One place for: security headers (a strict CSP — pages need no inline script or style), a cap on
request bodies (413), CSRF protection usable from any form, and a small per-IP rate limiter (429).

CSRF uses a *signed double-submit* scheme so the public side needs no server session: a random
value lives in a cookie (``__Host-`` prefixed on https, so a sibling subdomain cannot plant it) and
every form carries ``csrf_token(request)`` — that value signed with ``settings.secret_key``
(itsdangerous, timed). A POST is accepted only when the form field (or ``X-CSRF-Token`` header)
unsigns to the cookie's value. A forged cross-site form cannot read the cookie, and cannot mint a
signature without the secret.
"""

from __future__ import annotations

import hmac
import math
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from watcher.settings import Settings

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_STATE_NEW_CSRF = "csrf_new_cookie"
HSTS = "max-age=31536000; includeSubDomains"


def is_https(settings: Settings) -> bool:
    return settings.base_url.lower().startswith("https://")


def csrf_cookie_name(settings: Settings) -> str:
    """``__Host-`` cookies must be Secure, host-only and Path=/ — browsers refuse them over http."""
    return "__Host-cw_csrf" if is_https(settings) else "cw_csrf"


def _settings(request: Request) -> Settings:
    settings = getattr(request.app.state, "settings", None)
    if settings is None:
        from watcher.settings import get_settings

        settings = get_settings()
    return settings


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt="cw-csrf")


# --- headers, body limit and CSRF cookie: one pure ASGI middleware --------------------------


class SecurityMiddleware:
    """Adds security headers, sets a pending CSRF cookie and enforces the body size limit.

    Pure ASGI (not BaseHTTPMiddleware) so streamed responses and background tasks are untouched.
    """

    def __init__(self, app: ASGIApp, *, settings: Settings, exempt_csp: frozenset[str]) -> None:
        self.app = app
        self.settings = settings
        self.exempt_csp = exempt_csp
        self.max_body = settings.web_max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body:
            await _too_large(send, self.max_body)
            return
        await self.app(scope, self._limited_receive(receive), self._send_with_headers(scope, send))

    def _limited_receive(self, receive: Receive) -> Receive:
        seen = 0

        async def wrapped() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    # An HTTPException raised while the body is read becomes a 413 response
                    # through FastAPI's own handlers (chunked uploads have no Content-Length).
                    raise HTTPException(413, detail=_too_large_text(self.max_body))
            return message

        return wrapped

    def _send_with_headers(self, scope: Scope, send: Send) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                self._add_headers(scope, headers)
                message = {**message, "headers": headers}
            await send(message)

        return wrapped

    def _add_headers(self, scope: Scope, headers: list[tuple[bytes, bytes]]) -> None:
        present = {name.lower() for name, _ in headers}
        wanted: list[tuple[bytes, bytes]] = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
            (b"x-frame-options", b"DENY"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        if scope.get("path") not in self.exempt_csp:
            wanted.append((b"content-security-policy", CSP.encode()))
        if is_https(self.settings):
            wanted.append((b"strict-transport-security", HSTS.encode()))
        headers.extend((name, value) for name, value in wanted if name not in present)
        new_cookie = scope.get("state", {}).get(_STATE_NEW_CSRF)
        if new_cookie:
            headers.append((b"set-cookie", _csrf_set_cookie(self.settings, new_cookie).encode()))


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _too_large_text(limit: int) -> str:
    return f"Request body too large: the limit is {limit} bytes."


async def _too_large(send: Send, limit: int) -> None:
    body = ('{"detail":"' + _too_large_text(limit) + '"}').encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _csrf_set_cookie(settings: Settings, value: str) -> str:
    parts = [f"{csrf_cookie_name(settings)}={value}", "Path=/", "HttpOnly", "SameSite=Lax"]
    if is_https(settings):
        parts.append("Secure")
    return "; ".join(parts)


# --- CSRF --------------------------------------------------------------------------------


def _csrf_cookie_value(request: Request) -> str | None:
    """The browser's CSRF cookie, or the one minted earlier in this request."""
    settings = _settings(request)
    pending = request.scope.get("state", {}).get(_STATE_NEW_CSRF)
    return request.cookies.get(csrf_cookie_name(settings)) or pending


def csrf_token(request: Request) -> str:
    """The token to put in a form's hidden ``csrf_token`` field (templates call this).

    Mints the cookie on first use; the middleware sends it with the response.
    """
    value = _csrf_cookie_value(request)
    if not value:
        value = secrets.token_urlsafe(32)
        request.scope.setdefault("state", {})[_STATE_NEW_CSRF] = value
    token: str = _serializer(_settings(request)).dumps(value)
    return token


def check_csrf_token(request: Request, token: str | None) -> str | None:
    """Why ``token`` is not valid for this request, or None when it is."""
    settings = _settings(request)
    cookie = request.cookies.get(csrf_cookie_name(settings))
    if not cookie:
        return "Missing CSRF cookie: enable cookies for this site, reload the form and submit it again."
    if not token:
        return "Missing CSRF token: reload the form and submit it again."
    try:
        value = _serializer(settings).loads(token, max_age=settings.csrf_max_age_s)
    except SignatureExpired:
        return "The form has expired: reload it and submit it again."
    except BadSignature:
        return "Invalid CSRF token: reload the form and submit it again."
    if not isinstance(value, str) or not hmac.compare_digest(value, cookie):
        return "CSRF token does not match this browser session: reload the form and submit it again."
    return None


async def verify_csrf(request: Request) -> None:
    """FastAPI dependency: reject an unsafe request without a valid CSRF token (403)."""
    if request.method in SAFE_METHODS:
        return
    token = request.headers.get(CSRF_HEADER)
    if not token:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            field = form.get(CSRF_FIELD)
            token = field if isinstance(field, str) else None
    problem = check_csrf_token(request, token)
    if problem:
        raise HTTPException(403, detail=problem)


# --- rate limiting -----------------------------------------------------------------------


class RateLimiter:
    """Token buckets per (bucket, client IP), in memory: enough for one process.

    Several workers would each keep their own counts (a limit N becomes N per worker).
    """

    MAX_KEYS = 50_000

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}

    def hit(self, bucket: str, key: str, *, per_minute: int) -> float:
        """Take one token; returns 0 when allowed, else the seconds until one is available."""
        rate = per_minute / 60.0
        now = self._clock()
        with self._lock:
            if len(self._buckets) > self.MAX_KEYS:
                self._buckets.clear()  # crude but bounded: a flood of IPs cannot exhaust memory
            tokens, last = self._buckets.get((bucket, key), (float(per_minute), now))
            tokens = min(float(per_minute), tokens + (now - last) * rate)
            if tokens >= 1.0:
                self._buckets[(bucket, key)] = (tokens - 1.0, now)
                return 0.0
            self._buckets[(bucket, key)] = (tokens, now)
            return (1.0 - tokens) / rate if rate > 0 else 60.0


def client_ip(request: Request) -> str:
    """The peer address (uvicorn's ``--proxy-headers`` rewrites it behind a trusted proxy)."""
    return request.client.host if request.client else "unknown"


def get_rate_limiter(app: FastAPI | Any) -> RateLimiter:
    limiter = getattr(app.state, "rate_limiter", None)
    if limiter is None:
        limiter = RateLimiter()
        app.state.rate_limiter = limiter
    return limiter


def rate_limit(bucket: str, *, per_minute: int) -> Callable[[Request], Awaitable[None]]:
    """FastAPI dependency factory: at most ``per_minute`` requests per client IP, else 429."""

    async def dependency(request: Request) -> None:
        wait = get_rate_limiter(request.app).hit(bucket, client_ip(request), per_minute=per_minute)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise HTTPException(
                429,
                detail=f"Too many requests: try again in {retry_after} seconds.",
                headers={"Retry-After": str(retry_after)},
            )

    dependency.__name__ = f"rate_limit_{bucket}"
    return dependency


# --- installation ------------------------------------------------------------------------


def install(app: FastAPI, settings: Settings) -> None:
    """Add the security middleware and a per-app rate limiter (tests get fresh counts per app)."""
    app.state.rate_limiter = RateLimiter()
    exempt = frozenset(path for path in (app.docs_url, app.redoc_url) if path)
    app.add_middleware(SecurityMiddleware, settings=settings, exempt_csp=exempt)
