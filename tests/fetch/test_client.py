"""Fetcher against a real loopback server: headers, conditional GET, statuses, redirects, POST, limits."""

from __future__ import annotations

import asyncio
import gzip
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from tests.fetch.conftest import header, make_settings, redirect
from tests.support.http_server import LoopbackServer, Reply, Request
from watcher.fetch import (
    ConnectionFailed,
    DecodingError,
    Fetcher,
    HTTPStatusError,
    InvalidURL,
    TooManyRedirects,
    Validators,
)


async def test_get_returns_body_lowercased_headers_and_validators(http_server: LoopbackServer) -> None:
    url = http_server.route(
        "/feed.xml",
        b"<rss/>",
        headers={"Content-Type": "application/rss+xml", "ETag": '"v1"', "Last-Modified": "Sat, 21 Nov 2026"},
    )
    async with Fetcher(make_settings()) as fetcher:
        result = await fetcher.get(url)
    assert result.status == 200 and result.body == b"<rss/>" and not result.not_modified
    assert result.content_type == "application/rss+xml"
    assert result.validators == Validators(etag='"v1"', last_modified="Sat, 21 Nov 2026")
    assert all(key == key.lower() for key in result.headers)
    assert result.url == url and result.elapsed_s > 0


async def test_cookies_a_source_sets_are_never_sent_back(http_server: LoopbackServer) -> None:
    first = http_server.route("/a", b"<rss/>", headers={"Set-Cookie": "tracker=1; Path=/"})
    second = http_server.route("/b", b"<rss/>")
    async with Fetcher(make_settings()) as fetcher:
        await fetcher.get(first)
        await fetcher.get(second)
        await fetcher.get(first)
    assert [header(request, "Cookie") for request in http_server.requests] == [None, None, None]


async def test_sends_honest_user_agent_and_only_decodable_encodings(http_server: LoopbackServer) -> None:
    agents: list[list[str]] = []

    def handler(_: Request, h: BaseHTTPRequestHandler) -> Reply:
        agents.append(h.headers.get_all("User-Agent") or [])
        return Reply(200, b"ok")

    url = http_server.route("/", handler=handler)
    settings = make_settings(user_agent="ClusterWatch-test/1.0 (+https://example.org)")
    async with Fetcher(settings) as fetcher:
        await fetcher.get(url, headers={"accept-encoding": "br", "X-Extra": "1"})
        await fetcher.get(url, headers={"user-agent": "Other/2"})
    first = http_server.requests[0]
    assert header(first, "Accept-Encoding") == "gzip, deflate"
    assert header(first, "X-Extra") == "1"
    assert agents == [["ClusterWatch-test/1.0 (+https://example.org)"], ["Other/2"]]


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_compressed_body_is_decoded(http_server: LoopbackServer, encoding: str) -> None:
    import zlib

    text = b"<rss>" + b"item " * 10_000 + b"</rss>"
    data = gzip.compress(text) if encoding == "gzip" else zlib.compress(text)
    url = http_server.route("/z", data, headers={"Content-Encoding": encoding})
    async with Fetcher(make_settings()) as fetcher:
        assert (await fetcher.get(url)).body == text


async def test_conditional_get_sends_validators_and_reads_304(http_server: LoopbackServer) -> None:
    def handler(request: Request, _: BaseHTTPRequestHandler) -> Reply:
        if header(request, "If-None-Match") == '"v1"':
            return Reply(304)
        return Reply(200, b"fresh", {"ETag": '"v1"'})

    url = http_server.route("/c", handler=handler)
    sent = Validators(etag='"v1"', last_modified="Sat, 21 Nov 2026 10:00:00 GMT")
    async with Fetcher(make_settings()) as fetcher:
        first = await fetcher.get(url)
        second = await fetcher.get(url, validators=sent)
    assert first.body == b"fresh" and first.validators.etag == '"v1"'
    assert second.not_modified and second.status == 304 and second.body == b""
    assert second.validators == sent
    assert header(http_server.requests[1], "If-Modified-Since") == sent.last_modified
    assert header(http_server.requests[0], "If-None-Match") is None


async def test_304_with_new_etag_keeps_it(http_server: LoopbackServer) -> None:
    url = http_server.route("/c", status=304, headers={"ETag": '"v2"'})
    async with Fetcher(make_settings()) as fetcher:
        result = await fetcher.get(url, validators=Validators(etag='"v1"', last_modified="x"))
    assert result.validators == Validators(etag='"v2"', last_modified="x")


@pytest.mark.parametrize("status", [400, 403, 404, 410, 500, 502])
async def test_error_statuses_raise_with_status(http_server: LoopbackServer, status: int) -> None:
    url = http_server.route("/e", b"nope", status=status)
    async with Fetcher(make_settings()) as fetcher:
        with pytest.raises(HTTPStatusError) as caught:
            await fetcher.get(url)
    assert caught.value.status == status and caught.value.url == url
    assert caught.value.retry_after_s is None
    assert f"HTTP {status}" in str(caught.value)


async def test_429_retry_after_seconds(http_server: LoopbackServer) -> None:
    url = http_server.route("/r", status=429, headers={"Retry-After": "120"})
    async with Fetcher(make_settings()) as fetcher:
        with pytest.raises(HTTPStatusError) as caught:
            await fetcher.get(url)
    assert caught.value.status == 429 and caught.value.retry_after_s == 120


async def test_503_retry_after_http_date(http_server: LoopbackServer) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=600), usegmt=True)
    url = http_server.route("/r", status=503, headers={"Retry-After": when})
    async with Fetcher(make_settings()) as fetcher:
        with pytest.raises(HTTPStatusError) as caught:
            await fetcher.get(url)
    assert caught.value.retry_after_s is not None and 590 <= caught.value.retry_after_s <= 600


async def test_retry_after_is_capped(http_server: LoopbackServer) -> None:
    url = http_server.route("/r", status=429, headers={"Retry-After": "31536000"})
    async with Fetcher(make_settings(fetch_retry_after_max_s=3600)) as fetcher:
        with pytest.raises(HTTPStatusError) as caught:
            await fetcher.get(url)
    assert caught.value.retry_after_s == 3600


async def test_redirect_chain_within_the_limit_is_followed(http_server: LoopbackServer) -> None:
    for hop in range(5):
        http_server.route(
            f"/h{hop}",
            redirect(f"/h{hop + 1}", status=(301, 302, 307, 308, 303)[hop]).body,
            status=(301, 302, 307, 308, 303)[hop],
            headers={"Location": f"/h{hop + 1}"},
        )
    final = http_server.route("/h5", b"arrived")
    async with Fetcher(make_settings()) as fetcher:
        result = await fetcher.get(http_server.url("/h0"))
    assert result.body == b"arrived" and result.url == final
    assert [r.path for r in http_server.requests] == [f"/h{i}" for i in range(6)]


async def test_too_many_redirects(http_server: LoopbackServer) -> None:
    for hop in range(7):
        http_server.route(f"/h{hop}", status=302, headers={"Location": f"/h{hop + 1}"})
    async with Fetcher(make_settings(fetch_max_redirects=5)) as fetcher:
        with pytest.raises(TooManyRedirects, match="more than 5 redirects"):
            await fetcher.get(http_server.url("/h0"))
    assert len(http_server.requests) == 6


async def test_redirect_loop_is_detected(http_server: LoopbackServer) -> None:
    http_server.route("/a", status=302, headers={"Location": "/b"})
    http_server.route("/b", status=301, headers={"Location": http_server.url("/a")})
    async with Fetcher(make_settings()) as fetcher:
        with pytest.raises(TooManyRedirects, match="loop"):
            await fetcher.get(http_server.url("/a"))
    assert [r.path for r in http_server.requests] == ["/a", "/b"]


async def test_self_redirect_is_a_loop(http_server: LoopbackServer) -> None:
    url = http_server.route("/self", status=307, headers={"Location": "/self"})
    async with Fetcher(make_settings()) as fetcher:
        with pytest.raises(TooManyRedirects, match="loop"):
            await fetcher.get(url)


async def test_redirect_without_location_is_a_status_error(http_server: LoopbackServer) -> None:
    url = http_server.route("/r", status=302)
    async with Fetcher(make_settings()) as fetcher:
        with pytest.raises(HTTPStatusError) as caught:
            await fetcher.get(url)
    assert caught.value.status == 302


SEARCH_PARTS = {
    "query": (None, b'{"bool":{"must":[{"terms":{"type":["1","2","8"]}}]}}', "application/json"),
    "languages": (None, b'["en"]', "application/json"),
}


async def test_post_multipart_parts_carry_json_content_type(http_server: LoopbackServer) -> None:
    url = http_server.route("/search", b'{"results":[]}', headers={"Content-Type": "application/json"})
    async with Fetcher(make_settings()) as fetcher:
        result = await fetcher.post(url + "?apiKey=SEDIA&text=***", files=SEARCH_PARTS)
    assert result.body == b'{"results":[]}'
    sent = http_server.requests[0]
    assert sent.method == "POST"
    assert (header(sent, "Content-Type") or "").startswith("multipart/form-data; boundary=")
    assert b'name="query"\r\nContent-Type: application/json\r\n\r\n{"bool"' in sent.body
    assert b'name="languages"\r\nContent-Type: application/json\r\n\r\n["en"]' in sent.body
    assert b"filename" not in sent.body


async def test_post_form_data(http_server: LoopbackServer) -> None:
    url = http_server.route("/form", b"ok")
    async with Fetcher(make_settings()) as fetcher:
        await fetcher.post(url, data={"a": "1", "b": "è"})
    assert http_server.requests[0].body == b"a=1&b=%C3%A8"


@pytest.mark.parametrize("status", [301, 302, 303])
async def test_post_redirect_becomes_get_without_body(http_server: LoopbackServer, status: int) -> None:
    http_server.route("/submit", status=status, headers={"Location": "/done"})
    http_server.route("/done", b"done")
    async with Fetcher(make_settings()) as fetcher:
        result = await fetcher.post(http_server.url("/submit"), files=SEARCH_PARTS)
    assert result.body == b"done"
    done = http_server.requests[1]
    assert (done.method, done.body, header(done, "Content-Type")) == ("GET", b"", None)


@pytest.mark.parametrize("status", [307, 308])
async def test_post_307_308_keep_method_and_body(http_server: LoopbackServer, status: int) -> None:
    http_server.route("/submit", status=status, headers={"Location": "/again"})
    http_server.route("/again", b"ok")
    async with Fetcher(make_settings()) as fetcher:
        await fetcher.post(http_server.url("/submit"), data={"q": "1"})
    first, second = http_server.requests
    assert (second.method, second.body) == ("POST", first.body)


async def test_credentials_are_dropped_on_cross_origin_redirect(http_server: LoopbackServer) -> None:
    port = http_server.server.server_address[1]
    http_server.route("/a", status=302, headers={"Location": f"http://localhost:{port}/b"})
    http_server.route("/b", b"ok")
    async with Fetcher(make_settings()) as fetcher:
        await fetcher.get(http_server.url("/a"), headers={"Authorization": "Bearer secret"})
    assert header(http_server.requests[0], "Authorization") == "Bearer secret"
    assert header(http_server.requests[1], "Authorization") is None


async def test_refused_connection_is_connection_failed() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with Fetcher(make_settings()) as fetcher:
        with pytest.raises(ConnectionFailed, match=f"127.0.0.1:{port}"):
            await fetcher.get(f"http://127.0.0.1:{port}/")


async def test_server_closing_mid_body_is_connection_failed(http_server: LoopbackServer) -> None:
    def handler(_: Request, h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", "1000")
        h.end_headers()
        h.wfile.write(b"partial")
        h.close_connection = True

    url = http_server.route("/cut", handler=handler)
    async with Fetcher(make_settings()) as fetcher:
        with pytest.raises(ConnectionFailed, match="/cut"):
            await fetcher.get(url)


@pytest.mark.parametrize("url", ["http://", "http://:80/", "http://[::1/", "http://ex\x00ample.com/"])
async def test_malformed_urls(url: str) -> None:
    async with Fetcher(make_settings()) as fetcher:
        with pytest.raises(InvalidURL):
            await fetcher.get(url)


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", b"\x1f\x8b\x08\x00not really gzip at all"),
        ("br", b"whatever"),
        ("gzip", gzip.compress(b" ".join(str(i).encode() for i in range(20_000)))[:2000]),
    ],
)
async def test_undecodable_bodies(http_server: LoopbackServer, encoding: str, body: bytes) -> None:
    url = http_server.route("/bad", body, headers={"Content-Encoding": encoding})
    async with Fetcher(make_settings()) as fetcher:
        with pytest.raises(DecodingError):
            await fetcher.get(url)


async def test_download_streams_to_file_and_304_leaves_it(
    http_server: LoopbackServer, tmp_path: Path
) -> None:
    payload = b'{"fundingData": []}' * 1000

    def handler(request: Request, _: BaseHTTPRequestHandler) -> Reply:
        if header(request, "If-None-Match") == '"g1"':
            return Reply(304, b"", {"ETag": '"g1"'})
        return Reply(200, gzip.compress(payload), {"Content-Encoding": "gzip", "ETag": '"g1"'})

    url = http_server.route("/grantsTenders.json", handler=handler)
    dest = tmp_path / "ref" / "grantsTenders.json"
    async with Fetcher(make_settings()) as fetcher:
        first = await fetcher.download(url, dest)
        dest.write_bytes(b"previous copy")
        second = await fetcher.download(url, dest, validators=first.validators)
    assert first.body == b"" and first.validators.etag == '"g1"'
    assert second.not_modified and dest.read_bytes() == b"previous copy"
    assert list(dest.parent.iterdir()) == [dest]


async def test_download_error_keeps_previous_file(http_server: LoopbackServer, tmp_path: Path) -> None:
    url = http_server.route("/gone", status=500)
    dest = tmp_path / "keep.json"
    dest.write_bytes(b"old")
    async with Fetcher(make_settings()) as fetcher:
        with pytest.raises(HTTPStatusError):
            await fetcher.download(url, dest)
    assert dest.read_bytes() == b"old" and list(tmp_path.iterdir()) == [dest]


class _InFlight:
    """A slow handler that records how many requests it served at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.peak = 0

    def __call__(self, _: Request, __: BaseHTTPRequestHandler) -> Reply:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        time.sleep(0.15)
        with self.lock:
            self.now -= 1
        return Reply(200, b"ok")


async def test_per_host_concurrency_limit(http_server: LoopbackServer) -> None:
    counter = _InFlight()
    url = http_server.route("/slow", handler=counter)
    async with Fetcher(make_settings(fetch_per_host_concurrency=2, fetch_concurrency=10)) as fetcher:
        await asyncio.gather(*(fetcher.get(url) for _ in range(6)))
    assert counter.peak == 2


async def test_global_concurrency_limit_spans_hosts(http_server: LoopbackServer) -> None:
    counter = _InFlight()
    http_server.route("/slow", handler=counter)
    port = http_server.server.server_address[1]
    urls = [f"http://{host}:{port}/slow" for host in ("127.0.0.1", "localhost", "127.0.0.1", "localhost")]
    async with Fetcher(make_settings(fetch_per_host_concurrency=4, fetch_concurrency=1)) as fetcher:
        await asyncio.gather(*(fetcher.get(url) for url in urls))
    assert counter.peak == 1
