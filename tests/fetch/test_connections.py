"""Kept-alive connections: reuse after 304s and redirects, the linear pool, resending a dropped GET."""

from __future__ import annotations

import asyncio
import threading
import time
from contextlib import suppress
from http.server import BaseHTTPRequestHandler

import httpcore
import pytest
from httpcore._async.connection_pool import AsyncPoolRequest

from tests.fetch.conftest import header, make_settings, write_head
from tests.support.http_server import LoopbackServer, Reply, Request
from watcher.fetch import ConnectionFailed, Fetcher, Validators
from watcher.fetch.pool import LinearConnectionPool
from watcher.fetch.streams import AsyncioBackend


class _Ports:
    """Handler that answers 304 to a matching ETag and records which connection (client port) asked."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.ports: list[int] = []
        self.lock = threading.Lock()
        self.delay_s = delay_s

    def __call__(self, request: Request, handler: BaseHTTPRequestHandler) -> Reply:
        with self.lock:
            self.ports.append(handler.client_address[1])
        time.sleep(self.delay_s)
        if header(request, "If-None-Match") == '"v1"':
            return Reply(304, b"", {"ETag": '"v1"'})
        return Reply(200, b"<rss/>", {"ETag": '"v1"'})


async def test_304s_reuse_one_connection(http_server: LoopbackServer) -> None:
    ports = _Ports()
    url = http_server.route("/feed", handler=ports)
    async with Fetcher(make_settings()) as fetcher:
        results = [await fetcher.get(url, validators=Validators(etag='"v1"')) for _ in range(5)]
    assert all(result.not_modified for result in results)
    assert len(set(ports.ports)) == 1


async def test_redirect_with_a_short_body_reuses_its_connection(http_server: LoopbackServer) -> None:
    ports = _Ports()
    target = http_server.route("/feed", handler=ports)

    def moved(request: Request, handler: BaseHTTPRequestHandler) -> Reply:
        ports.ports.append(handler.client_address[1])
        return Reply(301, b"<p>Moved</p>", {"Location": target})

    url = http_server.route("/old", handler=moved)
    async with Fetcher(make_settings()) as fetcher:
        assert (await fetcher.get(url)).body == b"<rss/>"
    assert len(ports.ports) == 2 and len(set(ports.ports)) == 1


async def test_concurrent_polls_of_one_host_use_at_most_its_slots(http_server: LoopbackServer) -> None:
    ports = _Ports(delay_s=0.01)
    url = http_server.route("/feed", handler=ports)
    async with Fetcher(make_settings(fetch_per_host_concurrency=3)) as fetcher:
        await asyncio.gather(*(fetcher.get(url, validators=Validators(etag='"v1"')) for _ in range(30)))
    assert len(ports.ports) == 30
    assert len(set(ports.ports)) <= 3


async def _get(pool: httpcore.AsyncConnectionPool, url: str) -> int:
    response = await pool.request("GET", url)
    return response.status


async def test_surplus_idle_connections_are_closed(http_server: LoopbackServer) -> None:
    url = http_server.route("/slow", handler=_Ports(delay_s=0.1))
    pool = LinearConnectionPool(
        max_connections=4, max_keepalive_connections=1, network_backend=AsyncioBackend()
    )
    async with pool:
        assert await asyncio.gather(*(_get(pool, url) for _ in range(4))) == [200] * 4
        assert len(pool.connections) == 1


async def test_a_full_pool_closes_an_idle_connection_for_another_origin(http_server: LoopbackServer) -> None:
    http_server.route("/feed", handler=_Ports())
    port = http_server.server.server_address[1]
    pool = LinearConnectionPool(max_connections=1, network_backend=AsyncioBackend())
    async with pool:
        for host in ("127.0.0.1", "localhost", "127.0.0.1"):
            assert await _get(pool, f"http://{host}:{port}/feed") == 200
            assert len(pool.connections) == 1


async def test_requests_beyond_max_connections_wait_for_a_free_one(http_server: LoopbackServer) -> None:
    ports = _Ports(delay_s=0.05)
    url = http_server.route("/slow", handler=ports)
    pool = LinearConnectionPool(max_connections=2, network_backend=AsyncioBackend())
    async with pool:
        assert await asyncio.gather(*(_get(pool, url) for _ in range(8))) == [200] * 8
    assert len(set(ports.ports)) == 2


async def test_a_connection_handed_to_a_waiting_request_is_neither_closed_nor_handed_again(
    http_server: LoopbackServer,
) -> None:
    """encode/httpcore#1110: between the hand-over and the request starting on it, the connection
    still looks idle. Drives the pass httpcore runs on every request start and end (a private
    method we override: this also fails loudly if httpcore changes it)."""
    http_server.route("/feed", handler=_Ports())
    port = http_server.server.server_address[1]
    here, there = f"http://127.0.0.1:{port}/feed", f"http://localhost:{port}/feed"
    pool = LinearConnectionPool(max_connections=1, network_backend=AsyncioBackend())
    async with pool:
        assert await _get(pool, here) == 200  # leaves one idle connection to 127.0.0.1
        waiting = AsyncPoolRequest(httpcore.Request("GET", here))
        pool._requests.append(waiting)
        assert pool._assign_requests_to_connections() == []
        [connection] = pool.connections
        assert waiting.connection is connection
        same_origin = AsyncPoolRequest(httpcore.Request("GET", here))
        other_origin = AsyncPoolRequest(httpcore.Request("GET", there))
        pool._requests += [same_origin, other_origin]
        assert pool._assign_requests_to_connections() == []  # nothing closed to make room
        assert same_origin.is_queued() and other_origin.is_queued()
        assert pool.connections == [connection]
        pool._requests.clear()


async def test_a_get_on_a_connection_the_server_dropped_is_sent_again(http_server: LoopbackServer) -> None:
    """The server closes a kept-alive connection as the next request arrives, answering nothing (a
    keep-alive timeout racing the request): the GET goes again on a new connection."""
    served: set[int] = set()

    def once_per_connection(request: Request, handler: BaseHTTPRequestHandler) -> Reply | None:
        port = handler.client_address[1]
        if port in served:
            handler.close_connection = True  # hang up without a response
            return None
        served.add(port)
        return Reply(200, b"<rss/>")

    url = http_server.route("/feed", handler=once_per_connection)
    async with Fetcher(make_settings()) as fetcher:
        assert (await fetcher.get(url)).body == b"<rss/>"
        assert (await fetcher.get(url)).body == b"<rss/>"
    assert len(served) == 2 and len(http_server.requests) == 3


async def test_a_post_is_never_sent_twice(http_server: LoopbackServer) -> None:
    def hang_up(request: Request, handler: BaseHTTPRequestHandler) -> Reply | None:
        handler.close_connection = True
        return None

    url = http_server.route("/search", handler=hang_up)
    async with Fetcher(make_settings()) as fetcher:
        with pytest.raises(ConnectionFailed):
            await fetcher.post(url, data={"q": "x"})
    assert len(http_server.requests) == 1


async def test_a_redirect_whose_body_trickles_is_left_unread(
    http_server: LoopbackServer, release: threading.Event
) -> None:
    """A "moved" page is read only to keep its connection: one that trickles a byte at a time (each
    within the read timeout) is given up after a second and the redirect followed."""
    target = http_server.route("/feed", b"<rss/>")

    def trickle(_: Request, handler: BaseHTTPRequestHandler) -> None:
        write_head(handler, 301, {"Location": target, "Content-Length": "1000"})

        def one_byte() -> None:
            handler.wfile.write(b".")
            handler.wfile.flush()
            time.sleep(0.2)

        handler.close_connection = True
        with suppress(BrokenPipeError, ConnectionResetError):
            while not release.is_set():
                one_byte()

    url = http_server.route("/old", handler=trickle)
    started = time.monotonic()
    async with Fetcher(make_settings(fetch_read_timeout_s=0.5, fetch_total_timeout_s=30)) as fetcher:
        assert (await fetcher.get(url)).body == b"<rss/>"
    assert time.monotonic() - started < 10  # not the 1,000 s the trickle would take
