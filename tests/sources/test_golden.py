"""Every adapter on real (or realistic, see each case's PROVENANCE.md) payloads, end to end:
served by a real HTTP server on loopback, fetched by the real Fetcher, compared with expected.json."""

from __future__ import annotations

import json

import pytest

from tests.sources.cases import CASES, TODAY, Case, make_adapter
from tests.sources.golden import LOOPBACK, check_golden, serialise
from tests.support.http_server import LoopbackServer, Reply, Request
from watcher.fetch.client import Fetcher
from watcher.fetch.result import Validators
from watcher.sources import ftportal, grantstenders, html, rss


def _serve(server: LoopbackServer, case: Case) -> None:
    body = case.body()
    if case.type != "ftportal":
        server.route(case.route, body, headers={"Content-Type": case.content_type})
        return
    empty = json.dumps({"results": [], "totalResults": 0}).encode()

    def page(request: Request, _handler: object) -> Reply:
        first = "pageNumber=1" in request.path
        return Reply(200, body if first else empty, {"Content-Type": case.content_type})

    server.route(case.route, handler=page)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
async def test_golden_through_loopback(case: Case, http_server: LoopbackServer) -> None:
    _serve(http_server, case)
    source = case.source_config(http_server.base_url)
    async with Fetcher() as fetcher:
        collected = await make_adapter(source).collect(source, fetcher, Validators())
    assert collected.drafts, "a golden case must yield drafts"
    assert not collected.not_modified
    check_golden(case.dir, collected.drafts, collected.warnings, origin=http_server.base_url)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_pure_parser_agrees_with_collect(case: Case) -> None:
    """The parse functions alone give the same drafts (they are what other code may call directly)."""
    origin = "http://127.0.0.1:1"
    source = case.source_config(origin)
    url = origin + case.route
    if case.type == "rss":
        drafts, warnings = rss.parse_feed(
            case.body(), source=source, base_url=url, content_type=case.content_type
        )
    elif case.type == "html":
        drafts, warnings = html.parse_listing(
            case.body(), source=source, base_url=url, content_type=case.content_type
        )
    elif case.type == "ftportal":
        drafts, warnings = ftportal.parse_search(case.body(), source=source, today=TODAY)
    else:
        drafts, warnings = grantstenders.parse_reference_file(
            case.dir / case.input, source=source, today=TODAY
        )
    expected = json.loads((case.dir / "expected.json").read_text(encoding="utf-8"))
    got = json.loads(serialise(drafts, warnings, origin=origin))
    assert got == expected, f"pure parser differs from collect() for {case.name} ({LOOPBACK})"
