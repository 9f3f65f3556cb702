"""Outbound HTTP: one client, one SSRF gate, bounded bodies, conditional GET."""

from watcher.fetch.client import Fetcher
from watcher.fetch.errors import (
    BlockedAddress,
    ConnectionFailed,
    DecodingError,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    InvalidURL,
    ParseError,
    TooLarge,
    TooManyRedirects,
)
from watcher.fetch.result import FetchResult, Validators

__all__ = [
    "BlockedAddress",
    "ConnectionFailed",
    "DecodingError",
    "FetchError",
    "FetchResult",
    "FetchTimeout",
    "Fetcher",
    "HTTPStatusError",
    "InvalidURL",
    "ParseError",
    "TooLarge",
    "TooManyRedirects",
    "Validators",
]
