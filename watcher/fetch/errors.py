"""Every way a fetch can fail, each with a message fit for a source's health record."""

from __future__ import annotations


class FetchError(Exception):
    """A fetch failed; ``str(error)`` is the message stored as the source's last error."""


class BlockedAddress(FetchError):
    """The SSRF gate refused the destination (private, loopback, link-local, ... address)."""


class TooLarge(FetchError):
    """The decompressed body went over the configured cap."""


class TooManyRedirects(FetchError):
    """More redirects than ``fetch_max_redirects``, or a redirect loop."""


class FetchTimeout(FetchError):
    """Connect, read or total timeout."""


class ConnectionFailed(FetchError):
    """DNS, TCP or TLS failure."""


class HTTPStatusError(FetchError):
    """A non-success status. ``retry_after_s`` is set from a 429/503 ``Retry-After`` header."""

    def __init__(self, status: int, url: str, retry_after_s: float | None = None) -> None:
        self.status = status
        self.url = url
        self.retry_after_s = retry_after_s
        super().__init__(f"HTTP {status} from {url}")


class ParseError(Exception):
    """A body arrived but is not what the source's type promises (e.g. HTML instead of a feed)."""


class DecodingError(FetchError):
    """The body's Content-Encoding is unsupported or the compressed stream is corrupt."""


class InvalidURL(FetchError):
    """The URL cannot be fetched at all (malformed, no host)."""
