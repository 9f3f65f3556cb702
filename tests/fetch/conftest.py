"""Helpers for fetch tests: Settings with short timeouts, raw-response handlers, header lookup."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from tests.support.http_server import Reply, Request
from watcher.settings import Settings

# Timeouts small enough that stall tests finish in about a second.
FAST: dict[str, Any] = {
    "fetch_connect_timeout_s": 1.0,
    "fetch_read_timeout_s": 0.5,
    "fetch_total_timeout_s": 5.0,
    "allow_private_networks": True,
}


def make_settings(**overrides: Any) -> Settings:
    """A Settings object for one test: fast timeouts, loopback allowed unless overridden."""
    return Settings(**{**FAST, **overrides})


def header(request: Request, name: str) -> str | None:
    """A request header by case-insensitive name."""
    for key, value in request.headers.items():
        if key.lower() == name.lower():
            return value
    return None


RawWriter = Callable[[Request, BaseHTTPRequestHandler], Reply | None]


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set at teardown so handler threads that stall or trickle end promptly."""
    event = threading.Event()
    yield event
    event.set()


def write_head(handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str]) -> None:
    """Write a status line and headers by hand (for bodies the client must cut or time out on)."""
    handler.send_response(status)
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.flush()


def redirect(location: str, status: int = 302) -> Reply:
    return Reply(status, b"", {"Location": location})
