"""A real HTTP server on loopback whose answers each test scripts.

``http_server.route("/feed.xml", body=b"...", headers={...}, status=200)`` or a callable handler
for dynamic behaviour (stall, redirect loops, conditional GET). Runs in a thread; every request is
recorded in ``http_server.requests`` so tests can assert on headers we sent.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Handler = Callable[[Request, BaseHTTPRequestHandler], Reply | None]


class _QuietServer(ThreadingHTTPServer):
    """Clients that hang up mid-response (a fetcher cutting a body at its cap) are expected here."""

    request_queue_size = 128  # socketserver's 5 drops SYNs when a round connects to many sources at once

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class LoopbackServer:
    def __init__(self) -> None:
        self.routes: dict[str, Reply | Handler] = {}
        self.requests: list[Request] = []
        outer = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Request(self.command, self.path, dict(self.headers.items()), body)
                outer.requests.append(request)
                route = outer.routes.get(self.path) or outer.routes.get(self.path.split("?")[0])
                if route is None:
                    reply: Reply | None = Reply(404, b"not found")
                elif callable(route):
                    reply = route(request, self)
                else:
                    reply = route
                if reply is None:  # the handler wrote the response itself
                    return
                self.send_response(reply.status)
                headers = {"Content-Length": str(len(reply.body)), **reply.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(reply.body)

            do_GET = do_POST = do_HEAD = _serve

        self.server = _QuietServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        # A short poll interval makes ``stop()`` (server.shutdown) return in ~50 ms instead of 500 ms.
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def route(
        self,
        path: str,
        body: bytes | str = b"",
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        handler: Handler | None = None,
    ) -> str:
        """Register an answer for ``path``; returns its full URL."""
        if handler is not None:
            self.routes[path] = handler
        else:
            data = body.encode() if isinstance(body, str) else body
            self.routes[path] = Reply(status, data, headers or {})
        return self.url(path)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def http_server() -> Iterator[LoopbackServer]:
    server = LoopbackServer()
    server.start()
    yield server
    server.stop()
