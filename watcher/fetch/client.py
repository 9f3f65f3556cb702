"""The one outbound HTTP client: every fetch goes through the SSRF gate, the limits and the body cap.

Redirects are followed here, not by httpx, so each hop is re-checked (scheme, credentials, and the
SSRF gate when the connection is made) and loops are caught. Bodies are streamed raw and decoded by
``BoundedDecoder`` so the decompressed size is counted while it grows: a 100 MB body or a gzip bomb is
cut at the cap with memory bounded by one chunk.
"""

from __future__ import annotations

import asyncio
import functools
import http.cookiejar
import os
import ssl
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import httpcore
import httpx
import sniffio

from watcher.fetch.backoff import parse_retry_after
from watcher.fetch.decoding import SUPPORTED_ENCODINGS, BoundedDecoder
from watcher.fetch.errors import (
    BlockedAddress,
    ConnectionFailed,
    FetchTimeout,
    HTTPStatusError,
    InvalidURL,
    TooLarge,
    TooManyRedirects,
)
from watcher.fetch.pool import LinearConnectionPool
from watcher.fetch.result import FetchResult, Validators
from watcher.fetch.ssrf import GuardedBackend, parse_networks
from watcher.settings import Settings, get_settings

# Mapping (covariant), so a dict literal of (None, bytes, str) parts type-checks as well.
Files = Mapping[str, tuple[str | None, bytes, str]]
Sink = Callable[[bytes], Any]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_SCHEMES = ("http", "https")
_CREDENTIAL_HEADERS = ("authorization", "cookie", "proxy-authorization")
_CONTENT_HEADERS = ("content-type", "content-length", "transfer-encoding")
# A body this short that we do not need is read anyway, so the connection can serve the next request.
_DRAINED_BYTES = 64 * 1024
_DRAIN_S = 1.0
# Kept-alive connections idle longer than this are closed by us first: within a round the next
# request to a host follows in milliseconds, and servers that close idle ones at 5 s (Apache) would
# otherwise race our requests at exactly httpx's default of 5 s.
_KEEPALIVE_S = 2.0
_RESENDABLE = frozenset({"GET", "HEAD"})


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """Certificate-verifying context (certifi roots), built once: loading the bundle costs ~50 ms."""
    return httpx.create_ssl_context(trust_env=False)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with the connection pool rebuilt on the SSRF-checking network backend.

    httpx has no public hook for the network backend, so the pool (``_pool``, what
    ``handle_async_request`` uses) is replaced right after construction; proxies are never used,
    as a proxy would make the gate check the proxy instead of the destination.
    """

    def __init__(self, *, backend: httpcore.AsyncNetworkBackend, limits: httpx.Limits) -> None:
        super().__init__(verify=_ssl_context(), trust_env=False, limits=limits)
        self._pool = LinearConnectionPool(
            ssl_context=_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )


@dataclass(slots=True)
class _Hop:
    """What to send next: changes as redirects turn a POST into a GET."""

    method: str
    url: httpx.URL
    headers: dict[str, str]
    files: Files | None = None
    data: dict[str, str] | None = None
    seen: set[tuple[str, str]] = field(default_factory=set)


class _NoCookies(http.cookiejar.CookieJar):
    """A jar that keeps nothing: no source can track our polls with a cookie, and none sees a cookie
    another set (one client serves every source). Also spares the cookie parsing on every response."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None

    def set_cookie(self, cookie: http.cookiejar.Cookie) -> None:
        return None


class Fetcher:
    """Async HTTP client for sources; use as ``async with Fetcher() as fetcher:``."""

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings or get_settings()
        s = self._settings
        backend = GuardedBackend(
            allow_private=s.allow_private_networks,
            allowed_networks=parse_networks(s.fetch_allowed_networks),
        )
        limits = httpx.Limits(
            max_connections=s.fetch_concurrency,
            max_keepalive_connections=s.fetch_concurrency,
            keepalive_expiry=_KEEPALIVE_S,
        )
        self._client = httpx.AsyncClient(
            transport=_GuardedTransport(backend=backend, limits=limits),
            timeout=httpx.Timeout(
                connect=s.fetch_connect_timeout_s,
                read=s.fetch_read_timeout_s,
                write=s.fetch_read_timeout_s,
                pool=s.fetch_total_timeout_s,
            ),
            follow_redirects=False,
            trust_env=False,
            cookies=_NoCookies(),
        )
        self._global = asyncio.Semaphore(s.fetch_concurrency)
        self._per_host: dict[str, asyncio.Semaphore] = {}

    async def __aenter__(self) -> Fetcher:
        # httpcore asks sniffio which event loop runs it several times per request, and sniffio
        # answers by calling asyncio.current_task() unless told: a third of an unchanged round's
        # fetch time. Tasks started inside this block inherit the answer.
        self._library = sniffio.current_async_library_cvar.set("asyncio")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.aclose()
        finally:
            with suppress(ValueError):  # exited from another context than it was entered in
                sniffio.current_async_library_cvar.reset(self._library)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def get(
        self,
        url: str,
        *,
        validators: Validators | None = None,
        headers: dict[str, str] | None = None,
        max_bytes: int | None = None,
    ) -> FetchResult:
        """GET ``url``; the decompressed body is returned, cut with TooLarge past the cap."""
        body = bytearray()
        result = await self._fetch(
            _Hop("GET", _url(url), _conditional(headers, validators)),
            validators=validators,
            cap=max_bytes if max_bytes is not None else self._settings.fetch_max_body_bytes,
            sink=body.extend,
        )
        result.body = bytes(body)
        return result

    async def post(
        self,
        url: str,
        *,
        files: Files | None = None,
        data: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        max_bytes: int | None = None,
    ) -> FetchResult:
        """POST form ``data``, as multipart/form-data when ``files`` are given."""
        body = bytearray()
        result = await self._fetch(
            _Hop("POST", _url(url), dict(headers or {}), files=files, data=data),
            validators=None,
            cap=max_bytes if max_bytes is not None else self._settings.fetch_max_body_bytes,
            sink=body.extend,
        )
        result.body = bytes(body)
        return result

    async def download(
        self,
        url: str,
        dest: Path,
        *,
        validators: Validators | None = None,
        max_bytes: int | None = None,
    ) -> FetchResult:
        """Stream the body of ``url`` into ``dest`` (replaced atomically; untouched on 304 or error)."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(dest.name + ".part")
        try:
            with partial.open("wb") as handle:
                result = await self._fetch(
                    _Hop("GET", _url(url), _conditional(None, validators)),
                    validators=validators,
                    cap=max_bytes if max_bytes is not None else self._settings.fetch_max_stream_bytes,
                    sink=handle.write,
                )
            if not result.not_modified:
                os.replace(partial, dest)
            return result
        finally:
            partial.unlink(missing_ok=True)

    async def _fetch(self, hop: _Hop, *, validators: Validators | None, cap: int, sink: Sink) -> FetchResult:
        """One fetch, redirects included, under the global limit and the total timeout."""
        start_url = str(hop.url)
        total = self._settings.fetch_total_timeout_s
        async with self._global:
            started = time.monotonic()
            try:
                async with asyncio.timeout(total):
                    result = await self._follow(hop, validators=validators, cap=cap, sink=sink)
            except TimeoutError as error:
                raise FetchTimeout(f"total timeout ({total:g}s) exceeded fetching {start_url}") from error
        result.elapsed_s = time.monotonic() - started
        return result

    async def _follow(self, hop: _Hop, *, validators: Validators | None, cap: int, sink: Sink) -> FetchResult:
        start_url = str(hop.url)
        for _ in range(self._settings.fetch_max_redirects + 1):
            _check_url(hop.url)
            key = (hop.method, str(hop.url))
            if key in hop.seen:
                raise TooManyRedirects(f"redirect loop: {hop.url} reached twice from {start_url}")
            hop.seen.add(key)
            with _translated(str(hop.url)):
                request = self._client.build_request(
                    hop.method, hop.url, headers=self._headers(hop.headers), files=hop.files, data=hop.data
                )
                async with self._host_slot(hop.url):
                    response = await self._send(request)
                    try:
                        location = response.headers.get("location")
                        if response.status_code in _REDIRECTS and location:
                            _redirect(hop, response, location)
                            await _drain(response)
                            continue
                        return await _complete(
                            response, validators=validators, cap=cap, sink=sink, settings=self._settings
                        )
                    finally:
                        await response.aclose()
        raise TooManyRedirects(
            f"more than {self._settings.fetch_max_redirects} redirects fetching {start_url}"
        )

    async def _send(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``; a GET whose connection the server dropped before answering goes once more.

        Servers close idle kept-alive connections on their own schedule (Apache after 5 s), and one
        that does so just as a request leaves on it answers nothing. Browsers send such a request
        again on a new connection; so do we, for GET and HEAD only, and only when no response began:
        nothing of it was read, so nothing can be stored twice.
        """
        try:
            return await self._client.send(request, stream=True)
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
            if request.method not in _RESENDABLE:
                raise
        return await self._client.send(request, stream=True)

    def _headers(self, extra: dict[str, str]) -> httpx.Headers:
        """Our defaults, then the caller's headers (case-insensitively replacing ours)."""
        headers = httpx.Headers({"User-Agent": self._settings.user_agent})
        for name, value in extra.items():
            headers[name] = value
        headers["Accept-Encoding"] = ", ".join(SUPPORTED_ENCODINGS)  # only what BoundedDecoder decodes
        return headers

    @asynccontextmanager
    async def _host_slot(self, url: httpx.URL) -> AsyncIterator[None]:
        """Hold one of the host's ``fetch_per_host_concurrency`` slots for one request."""
        key = f"{url.host}:{url.port or (443 if url.scheme == 'https' else 80)}"
        semaphore = self._per_host.get(key)
        if semaphore is None:
            semaphore = self._per_host[key] = asyncio.Semaphore(self._settings.fetch_per_host_concurrency)
        async with semaphore:
            yield


async def _drain(response: httpx.Response) -> None:
    """Read to the end a body we do not need (a 304 has none; a redirect's "moved" page is short),
    so the connection serves the next request instead of being closed. A long or unsized body is
    left unread, and a failed read only costs the connection: the answer is already known."""
    if response.status_code == 304:  # never a body: the end of the message is already here
        with suppress(httpx.HTTPError):
            await response.aread()
        return
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) <= _DRAINED_BYTES:
        with suppress(httpx.HTTPError, TimeoutError):
            async with asyncio.timeout(_DRAIN_S):  # a trickling "moved" page costs a second at most
                await response.aread()


def _url(url: str) -> httpx.URL:
    try:
        return httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as error:
        raise InvalidURL(f"invalid URL {url!r}: {error}") from error


def _check_url(url: httpx.URL) -> None:
    """Scheme and credentials rule, before any connection; the address is checked on connect."""
    if url.scheme not in _SCHEMES:
        raise BlockedAddress(f"refused {url}: only http and https are fetched, not {url.scheme or 'none'!r}")
    if url.userinfo:
        raise BlockedAddress(f"refused {url.copy_with(username=None, password=None)}: credentials in URL")
    if not url.host:
        raise InvalidURL(f"invalid URL {url}: no host")


def _conditional(headers: dict[str, str] | None, validators: Validators | None) -> dict[str, str]:
    merged = dict(headers or {})
    if validators and validators.etag:
        merged["If-None-Match"] = validators.etag
    if validators and validators.last_modified:
        merged["If-Modified-Since"] = validators.last_modified
    return merged


def _redirect(hop: _Hop, response: httpx.Response, location: str) -> None:
    """Turn ``hop`` into the next request, per RFC 9110 and browsers (as httpx does)."""
    try:
        target = response.url.join(location.strip())
    except (httpx.InvalidURL, ValueError) as error:
        raise InvalidURL(f"invalid redirect from {response.url} to {location!r}: {error}") from error
    status = response.status_code
    if (status == 303 and hop.method != "HEAD") or (status in (301, 302) and hop.method == "POST"):
        hop.method, hop.files, hop.data = "GET", None, None
        hop.headers = {k: v for k, v in hop.headers.items() if k.lower() not in _CONTENT_HEADERS}
    if (target.scheme, target.host, target.port) != (hop.url.scheme, hop.url.host, hop.url.port):
        hop.headers = {k: v for k, v in hop.headers.items() if k.lower() not in _CREDENTIAL_HEADERS}
    hop.url = target


async def _complete(
    response: httpx.Response, *, validators: Validators | None, cap: int, sink: Sink, settings: Settings
) -> FetchResult:
    """Turn the final response into a FetchResult (body streamed into ``sink``) or an error."""
    headers = dict(response.headers.items())
    url, status = str(response.url), response.status_code
    received = Validators(etag=headers.get("etag"), last_modified=headers.get("last-modified"))
    if status == 304:
        await _drain(response)
        sent = validators or Validators()
        kept = Validators(received.etag or sent.etag, received.last_modified or sent.last_modified)
        return FetchResult(url=url, status=status, headers=headers, not_modified=True, validators=kept)
    if not 200 <= status < 300:
        retry_after = parse_retry_after(headers.get("retry-after"), cap_s=settings.fetch_retry_after_max_s)
        raise HTTPStatusError(status, url, retry_after)
    declared = headers.get("content-length", "")
    if not headers.get("content-encoding") and declared.isdigit() and int(declared) > cap:
        raise TooLarge(f"body of {url} declares {declared} bytes, over the {cap}-byte cap")
    decoder = BoundedDecoder(headers.get("content-encoding", ""))
    size = 0
    async for raw in response.aiter_raw():
        for piece in decoder.feed(raw):
            size += len(piece)
            if size > cap:
                raise TooLarge(f"body of {url} exceeds the {cap}-byte cap (decompressed)")
            sink(piece)
    for piece in decoder.finish():
        sink(piece)
    return FetchResult(url=url, status=status, headers=headers, validators=received)


@contextmanager
def _translated(url: str) -> Iterator[None]:
    """Map httpx's exceptions onto the FetchError hierarchy, naming the URL."""
    try:
        yield
    except httpx.TimeoutException as error:
        kind = type(error).__name__.removesuffix("Timeout").lower() or "request"
        raise FetchTimeout(f"{kind} timeout fetching {url}") from error
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as error:
        raise InvalidURL(f"invalid URL {url}: {error}") from error
    except httpx.HTTPError as error:
        detail = str(error) or type(error).__name__
        raise ConnectionFailed(f"{type(error).__name__} fetching {url}: {detail}") from error
