"""Content-Encoding decoders whose output per step is bounded.

httpx's own decoders inflate each network read in one call, so one 64 KiB read of a gzip bomb becomes
~64 MiB in memory before any size check can run. These decoders use zlib's ``max_length`` and yield
pieces of at most ``chunk_size`` bytes, so the caller's byte counter sees the decompressed size grow
step by step and can stop at the cap with memory bounded by one piece.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

from watcher.fetch.errors import DecodingError

# Upper bound on one decompressed piece; an internal buffer size, not a policy limit.
DECODE_CHUNK_BYTES = 64 * 1024

SUPPORTED_ENCODINGS = ("gzip", "deflate")


class _Decoder:
    def feed(self, data: bytes) -> Iterator[bytes]:
        raise NotImplementedError

    def finish(self) -> Iterator[bytes]:
        return iter(())


class _Identity(_Decoder):
    def __init__(self, chunk_size: int) -> None:
        self._chunk_size = chunk_size

    def feed(self, data: bytes) -> Iterator[bytes]:
        for start in range(0, len(data), self._chunk_size):
            yield data[start : start + self._chunk_size]


class _Zlib(_Decoder):
    """gzip (several members allowed) or deflate (zlib-wrapped, or raw as some servers send)."""

    def __init__(self, encoding: str, chunk_size: int) -> None:
        self._encoding = encoding
        self._chunk_size = chunk_size
        self._gzip = encoding == "gzip"
        self._first = True
        self._obj = self._new()

    def _new(self, raw: bool = False) -> zlib._Decompress:
        if self._gzip:
            return zlib.decompressobj(zlib.MAX_WBITS | 16)
        return zlib.decompressobj(-zlib.MAX_WBITS if raw else zlib.MAX_WBITS)

    def _inflate(self, data: bytes) -> bytes:
        try:
            out = self._obj.decompress(data, self._chunk_size)
        except zlib.error as error:
            if self._first and not self._gzip:  # deflate without the zlib header
                self._obj = self._new(raw=True)
                self._first = False
                return self._inflate(data)
            raise DecodingError(f"corrupt {self._encoding} body: {error}") from error
        self._first = False
        return out

    def feed(self, data: bytes) -> Iterator[bytes]:
        pending = data
        while True:
            out = self._inflate(pending)
            if out:
                yield out
            if self._obj.unconsumed_tail:
                pending = self._obj.unconsumed_tail
            elif self._obj.eof and self._obj.unused_data:
                pending = self._obj.unused_data
                if not (self._gzip and pending.lstrip(b"\0")):
                    return  # padding after the stream: ignore it
                self._obj = self._new()  # next gzip member
            elif len(out) == self._chunk_size and not self._obj.eof:
                pending = b""  # zlib may hold more output for input it already took
            else:
                return

    def finish(self) -> Iterator[bytes]:
        if not self._obj.eof and not self._first:
            raise DecodingError(f"truncated {self._encoding} body")
        return iter(())


class BoundedDecoder:
    """Decodes a Content-Encoding chain (``gzip``, ``deflate``, ``identity``; applied in reverse)."""

    def __init__(self, content_encoding: str, *, chunk_size: int = DECODE_CHUNK_BYTES) -> None:
        codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        self._stages: list[_Decoder] = []
        for coding in reversed(codings):
            name = "gzip" if coding == "x-gzip" else coding
            if name not in SUPPORTED_ENCODINGS:
                raise DecodingError(f"unsupported Content-Encoding {coding!r}")
            self._stages.append(_Zlib(name, chunk_size))
        if not self._stages:
            self._stages.append(_Identity(chunk_size))

    def feed(self, data: bytes) -> Iterator[bytes]:
        """Yield decoded pieces for one raw chunk, each at most ``chunk_size`` bytes."""
        yield from self._through(0, data)

    def _through(self, index: int, data: bytes) -> Iterator[bytes]:
        stage = self._stages[index]
        for piece in stage.feed(data):
            if index + 1 == len(self._stages):
                yield piece
            else:
                yield from self._through(index + 1, piece)

    def finish(self) -> Iterator[bytes]:
        """Check every stage ended cleanly (a cut-off gzip stream is an error, not a short body)."""
        for index, stage in enumerate(self._stages):
            for piece in stage.finish():
                if index + 1 == len(self._stages):
                    yield piece
                else:
                    yield from self._through(index + 1, piece)
