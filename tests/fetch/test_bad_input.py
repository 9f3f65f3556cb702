"""Hostile or broken servers: stalls, trickles, huge bodies, gzip bombs. Each ends in a FetchError
subclass, quickly, with memory far below the body size (tracemalloc peaks, process-wide)."""

from __future__ import annotations

import struct
import threading
import time
import tracemalloc
import zlib
from collections.abc import Awaitable, Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from tests.fetch.conftest import make_settings, write_head
from tests.support.http_server import LoopbackServer, Reply, Request
from watcher.fetch import Fetcher, FetchTimeout, TooLarge

MB = 1024 * 1024
CHUNK = bytes(64 * 1024)
HUGE = 100 * MB


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """A valid gzip of 1 GiB of zeros, about 1 MB on the wire.

    16 MiB of zeros is deflated once and ended with a full flush (which resets the dictionary), so the
    same bytes can be repeated 64 times; building it takes a fraction of a second.
    """
    zeros = bytes(16 * MB)
    deflater = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    piece = deflater.compress(zeros) + deflater.flush(zlib.Z_FULL_FLUSH)
    final_block = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS).flush()
    crc = 0
    for _ in range(64):
        crc = zlib.crc32(zeros, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + piece * 64 + final_block + struct.pack("<II", crc, (1 << 30) & 0xFFFFFFFF)


def test_the_bomb_is_what_it_claims(gzip_bomb: bytes) -> None:
    assert len(gzip_bomb) < 2 * MB
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    assert len(inflater.decompress(gzip_bomb[: 64 * 1024], 4 * MB)) == 4 * MB


def _until_release(release: threading.Event, step: Callable[[], None], *, pause: float = 0.0) -> None:
    """Run ``step`` until the client hangs up or the test ends."""
    try:
        while not release.is_set():
            step()
            if pause:
                time.sleep(pause)
    except (BrokenPipeError, ConnectionResetError):
        pass


def _stream_huge(*, declare_length: bool) -> Callable[[Request, BaseHTTPRequestHandler], None]:
    """Write 100 MB lazily, one reused 64 KiB chunk at a time (the server allocates nothing big)."""

    def handler(_: Request, h: BaseHTTPRequestHandler) -> None:
        headers = {"Content-Type": "application/json"}
        headers.update({"Content-Length": str(HUGE)} if declare_length else {"Connection": "close"})
        write_head(h, 200, headers)
        h.close_connection = True
        try:
            for _chunk in range(HUGE // len(CHUNK)):
                h.wfile.write(CHUNK)
        except (BrokenPipeError, ConnectionResetError):
            pass

    return handler


async def _peak_bytes(action: Callable[[], Awaitable[Any]]) -> int:
    tracemalloc.start()
    try:
        await action()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


@pytest.mark.parametrize("declare_length", [False, True], ids=["streamed", "declared"])
async def test_100_mb_body_is_cut_at_the_cap(http_server: LoopbackServer, declare_length: bool) -> None:
    url = http_server.route("/huge", handler=_stream_huge(declare_length=declare_length))

    async def fetch() -> None:
        async with Fetcher(make_settings(fetch_max_body_bytes=2 * MB)) as fetcher:
            with pytest.raises(TooLarge, match="2097152-byte cap"):
                await fetcher.get(url)

    started = time.monotonic()
    peak = await _peak_bytes(fetch)
    assert peak < 8 * MB, f"peak {peak} bytes while refusing a 100 MB body"
    assert time.monotonic() - started < 5


async def test_100_mb_download_is_cut_without_leaving_a_file(
    http_server: LoopbackServer, tmp_path: Path
) -> None:
    url = http_server.route("/huge", handler=_stream_huge(declare_length=False))
    dest = tmp_path / "grantsTenders.json"

    async def fetch() -> None:
        async with Fetcher(make_settings(fetch_max_stream_bytes=10 * MB)) as fetcher:
            with pytest.raises(TooLarge):
                await fetcher.download(url, dest)

    assert await _peak_bytes(fetch) < 4 * MB
    assert list(tmp_path.iterdir()) == []


async def test_large_download_streams_to_disk_with_bounded_memory(
    http_server: LoopbackServer, tmp_path: Path
) -> None:
    """Under the cap the whole body lands on disk, yet memory stays at a few chunks."""
    total = 32 * MB

    def handler(_: Request, h: BaseHTTPRequestHandler) -> None:
        write_head(h, 200, {"Content-Length": str(total)})
        for _chunk in range(total // len(CHUNK)):
            h.wfile.write(CHUNK)

    url = http_server.route("/big", handler=handler)
    dest = tmp_path / "big.json"

    async def fetch() -> None:
        async with Fetcher(make_settings()) as fetcher:
            result = await fetcher.download(url, dest)
        assert result.status == 200 and result.body == b""

    assert await _peak_bytes(fetch) < 4 * MB
    assert dest.stat().st_size == total


async def test_gzip_bomb_is_cut_at_the_decompressed_cap(
    http_server: LoopbackServer, gzip_bomb: bytes
) -> None:
    url = http_server.route(
        "/bomb.json", gzip_bomb, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"}
    )

    async def fetch() -> None:
        async with Fetcher(make_settings(fetch_max_body_bytes=10 * MB)) as fetcher:
            with pytest.raises(TooLarge, match="decompressed"):
                await fetcher.get(url)

    peak = await _peak_bytes(fetch)
    assert peak < 16 * MB, f"peak {peak} bytes on a bomb capped at 10 MB"


async def test_gzip_bomb_download_is_cut_too(
    http_server: LoopbackServer, gzip_bomb: bytes, tmp_path: Path
) -> None:
    url = http_server.route("/bomb.json", gzip_bomb, headers={"Content-Encoding": "gzip"})

    async def fetch() -> None:
        async with Fetcher(make_settings(fetch_max_stream_bytes=20 * MB)) as fetcher:
            with pytest.raises(TooLarge):
                await fetcher.download(url, tmp_path / "out.json")

    assert await _peak_bytes(fetch) < 4 * MB
    assert list(tmp_path.iterdir()) == []


async def test_server_that_never_sends_headers(http_server: LoopbackServer, release: threading.Event) -> None:
    def handler(_: Request, __: BaseHTTPRequestHandler) -> None:
        release.wait(10)

    http_server.route("/stall", handler=handler)
    started = time.monotonic()
    async with Fetcher(make_settings(fetch_read_timeout_s=0.3)) as fetcher:
        with pytest.raises(FetchTimeout, match="read timeout"):
            await fetcher.get(http_server.url("/stall"))
    assert time.monotonic() - started < 2


async def test_server_that_stalls_mid_headers(http_server: LoopbackServer, release: threading.Event) -> None:
    def handler(_: Request, h: BaseHTTPRequestHandler) -> None:
        h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n")
        h.wfile.flush()
        release.wait(10)

    http_server.route("/half", handler=handler)
    async with Fetcher(make_settings(fetch_read_timeout_s=0.3)) as fetcher:
        with pytest.raises(FetchTimeout):
            await fetcher.get(http_server.url("/half"))


async def test_body_that_stalls_after_a_start(http_server: LoopbackServer, release: threading.Event) -> None:
    def handler(_: Request, h: BaseHTTPRequestHandler) -> None:
        write_head(h, 200, {"Content-Length": "100000"})
        h.wfile.write(b"<rss>")
        h.wfile.flush()
        release.wait(10)

    http_server.route("/stuck", handler=handler)
    async with Fetcher(make_settings(fetch_read_timeout_s=0.3)) as fetcher:
        with pytest.raises(FetchTimeout, match="read timeout"):
            await fetcher.get(http_server.url("/stuck"))


async def test_body_that_trickles_forever_hits_the_total_timeout(
    http_server: LoopbackServer, release: threading.Event
) -> None:
    """One byte every 50 ms never trips the read timeout; the total timeout ends it."""

    def handler(_: Request, h: BaseHTTPRequestHandler) -> None:
        write_head(h, 200, {"Content-Length": str(10**6)})

        def drip() -> None:
            h.wfile.write(b"x")
            h.wfile.flush()

        _until_release(release, drip, pause=0.05)

    http_server.route("/trickle", handler=handler)
    started = time.monotonic()
    settings = make_settings(fetch_read_timeout_s=0.5, fetch_total_timeout_s=1.0)
    async with Fetcher(settings) as fetcher:
        with pytest.raises(FetchTimeout, match="total timeout"):
            await fetcher.get(http_server.url("/trickle"))
    assert 0.9 < time.monotonic() - started < 3


async def test_total_timeout_spans_redirects(http_server: LoopbackServer) -> None:
    """Each hop is quick enough for the read timeout; together they exceed the total."""
    hops = iter(range(1000))

    def slow_redirect(_: Request, __: BaseHTTPRequestHandler) -> Reply:
        time.sleep(0.25)
        return Reply(302, b"", {"Location": f"/slow?hop={next(hops)}"})

    http_server.route("/slow", handler=slow_redirect)
    settings = make_settings(fetch_read_timeout_s=1.0, fetch_total_timeout_s=0.6, fetch_max_redirects=50)
    async with Fetcher(settings) as fetcher:
        with pytest.raises(FetchTimeout, match="total timeout"):
            await fetcher.get(http_server.url("/slow"))
    assert 2 <= len(http_server.requests) <= 4
