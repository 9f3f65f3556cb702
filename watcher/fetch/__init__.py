"""Outbound HTTP: one client, one SSRF gate, bounded bodies, conditional GET."""

from watcher.fetch.errors import (
    BlockedAddress,
    ConnectionFailed,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    ParseError,
    TooLarge,
    TooManyRedirects,
)
from watcher.fetch.result import FetchResult, Validators

__all__ = [
    "BlockedAddress",
    "ConnectionFailed",
    "FetchError",
    "FetchResult",
    "FetchTimeout",
    "HTTPStatusError",
    "ParseError",
    "TooLarge",
    "TooManyRedirects",
    "Validators",
]
