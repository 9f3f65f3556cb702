"""The asyncio network backend under httpcore: TLS, keep-alive, a server that hangs up, timeouts."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpcore
import pytest

from tests.fetch.test_tls import self_signed  # noqa: F401  (the certificate fixture)
from watcher.fetch.streams import AsyncioBackend


class _Hello(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so a second request can reuse the connection
    timeout = 0.3  # seconds an idle connection is kept by the server

    def do_GET(self) -> None:
        body = f"hello {self.client_address[1]}".encode()  # names the connection it came on
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        if self.path == "/bye":
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def https_origin(self_signed: tuple[Path, Path]) -> Iterator[tuple[str, ssl.SSLContext]]:  # noqa: F811
    cert, key = self_signed
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    client_context = ssl.create_default_context(cafile=str(cert))
    yield f"https://localhost:{server.server_address[1]}", client_context
    server.shutdown()
    server.server_close()


async def _two_requests(
    https_origin: tuple[str, ssl.SSLContext], first_path: str, *, pause_s: float = 0.0
) -> tuple[httpcore.Response, httpcore.Response]:
    """GET ``first_path`` then ``/next`` through one pool; each body names the client port it came on."""
    origin, context = https_origin
    async with httpcore.AsyncConnectionPool(ssl_context=context, network_backend=AsyncioBackend()) as pool:
        first = await pool.request("GET", f"{origin}{first_path}")
        await asyncio.sleep(pause_s)
        second = await pool.request("GET", f"{origin}/next")
    assert first.status == second.status == 200
    return first, second


async def test_tls_requests_share_one_verified_connection(https_origin: tuple[str, ssl.SSLContext]) -> None:
    first, second = await _two_requests(https_origin, "/a")
    assert first.content == second.content  # same client port: the connection was kept
    assert first.extensions["network_stream"].get_extra_info("ssl_object").version().startswith("TLS")


async def test_a_connection_the_server_closed_is_not_reused(https_origin: tuple[str, ssl.SSLContext]) -> None:
    closing, after = await _two_requests(https_origin, "/bye")
    assert closing.content != after.content  # a new connection, from another client port


async def test_an_idle_connection_the_server_dropped_is_not_reused(
    https_origin: tuple[str, ssl.SSLContext],
) -> None:
    # the server times the idle connection out without a word; the pool must notice before reusing it
    first, second = await _two_requests(https_origin, "/a", pause_s=_Hello.timeout * 3)
    assert first.content != second.content


async def test_an_untrusted_certificate_is_a_connect_error(https_origin: tuple[str, ssl.SSLContext]) -> None:
    origin, _ = https_origin
    async with httpcore.AsyncConnectionPool(network_backend=AsyncioBackend()) as pool:
        with pytest.raises(httpcore.ConnectError, match=r"(?i)certificate[_ ]verify[_ ]failed"):
            await pool.request("GET", f"{origin}/")


async def test_silence_is_a_read_timeout_and_refusal_a_connect_error() -> None:
    listener = socket.create_server(("127.0.0.1", 0))  # accepts (the kernel does), never answers
    port = listener.getsockname()[1]
    backend = AsyncioBackend()
    try:
        stream = await backend.connect_tcp("127.0.0.1", port, timeout=2)
        await stream.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", timeout=2)
        with pytest.raises(httpcore.ReadTimeout):
            await stream.read(1024, timeout=0.2)
        await stream.aclose()
    finally:
        listener.close()
    with pytest.raises(httpcore.ConnectError):
        await backend.connect_tcp("127.0.0.1", port, timeout=2)
