"""Adapters' HTTP behaviour over a real loopback server: the F&T multipart request and its paging,
conditional GETs (304), errors that must surface rather than become an empty poll."""

from __future__ import annotations

import email.parser
import email.policy
import json
from datetime import date
from typing import Any

import pytest

from tests.sources.cases import DATA, TODAY
from tests.support.http_server import LoopbackServer, Reply, Request
from watcher.fetch.client import Fetcher
from watcher.fetch.errors import HTTPStatusError, ParseError
from watcher.fetch.result import Validators
from watcher.settings import get_settings
from watcher.sources.base import Collected, adapter_for
from watcher.sources.config import SourceConfig
from watcher.sources.ftportal import FtPortalAdapter
from watcher.sources.grantstenders import GrantsTendersAdapter
from watcher.sources.html import HtmlAdapter
from watcher.sources.rss import RssAdapter

FULL_PAGE = json.loads((DATA / "ftportal-full-page" / "input.json").read_bytes())


def _ft_source(server: LoopbackServer, **options: Any) -> SourceConfig:
    return SourceConfig.model_validate(
        {
            "id": "ft",
            "name": "FT",
            "type": "ftportal",
            "options": {"include_closed": True, **options},
            "url": server.url("/search?apiKey=SEDIA&text=***"),
        }
    )


async def _collect(adapter: Any, source: SourceConfig, validators: Validators | None = None) -> Collected:
    async with Fetcher() as fetcher:
        result: Collected = await adapter.collect(source, fetcher, validators or Validators())
        return result


def _parts(request: Request) -> dict[str, tuple[str, str]]:
    """Multipart body → {name: (content type, text)}, parsed by the standard library."""
    head = f"Content-Type: {request.headers['Content-Type']}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.body)
    return {
        part.get_param("name", header="content-disposition"): (part.get_content_type(), part.get_content())
        for part in message.iter_parts()
    }


def _paged(records: list[dict[str, Any]], *, size: int) -> Any:
    def handler(request: Request, _handler: object) -> Reply:
        number = int(request.path.split("pageNumber=")[1].split("&")[0])
        chunk = records[(number - 1) * size : number * size]
        body = {"totalResults": len(records), "pageNumber": number, "pageSize": size, "results": chunk}
        return Reply(200, json.dumps(body).encode(), {"Content-Type": "application/json"})

    return handler


async def test_ftportal_sends_json_typed_multipart_parts(http_server: LoopbackServer) -> None:
    http_server.route("/search", handler=_paged(FULL_PAGE["results"], size=100))
    source = _ft_source(
        http_server, types=[1, 2], statuses=[31094502], languages=["en"], programmes=["43108390"]
    )
    await _collect(FtPortalAdapter(today=lambda: TODAY), source)
    request = http_server.requests[0]
    assert request.method == "POST"
    assert request.path == "/search?apiKey=SEDIA&text=***&pageSize=100&pageNumber=1"
    parts = _parts(request)
    assert set(parts) == {"query", "languages", "sort"}
    assert {ctype for ctype, _ in parts.values()} == {"application/json"}
    query = json.loads(parts["query"][1])
    assert query == {
        "bool": {
            "must": [
                {"terms": {"type": ["1", "2"]}},
                {"terms": {"status": ["31094502"]}},
                {"terms": {"frameworkProgramme": ["43108390"]}},
            ]
        }
    }
    assert json.loads(parts["languages"][1]) == ["en"]
    assert json.loads(parts["sort"][1]) == {"field": "sortStatus", "order": "ASC"}


async def test_ftportal_pages_until_results_are_exhausted(http_server: LoopbackServer) -> None:
    http_server.route("/search", handler=_paged(FULL_PAGE["results"], size=4))
    collected = await _collect(FtPortalAdapter(today=lambda: TODAY), _ft_source(http_server, page_size=4))
    pages = [r.path.rsplit("pageNumber=", 1)[1] for r in http_server.requests]
    assert pages == ["1", "2", "3"]
    assert len(collected.drafts) == 10 and collected.warnings == []


async def test_ftportal_stops_at_max_pages_and_says_so(http_server: LoopbackServer) -> None:
    http_server.route("/search", handler=_paged(FULL_PAGE["results"], size=4))
    source = _ft_source(http_server, page_size=4, max_pages=2)
    collected = await _collect(FtPortalAdapter(today=lambda: TODAY), source)
    assert len(http_server.requests) == 2 and len(collected.drafts) == 8
    assert collected.warnings == ["stopped after max_pages=2; more results were available"]


async def test_ftportal_duplicates_across_pages_become_one_topic(http_server: LoopbackServer) -> None:
    records = json.loads((DATA / "ftportal-multilang-duplicates" / "input.json").read_bytes())["results"]
    http_server.route("/search", handler=_paged(records, size=2))
    collected = await _collect(FtPortalAdapter(today=lambda: TODAY), _ft_source(http_server, page_size=2))
    assert len(http_server.requests) == 3
    assert [d.identifier for d in collected.drafts] == ["HORIZON-CL4-2025-04-DATA-03"]
    assert collected.drafts[0].extra["languages"] == ["cs", "en", "sv"]  # kept; text decides the language


async def test_ftportal_drops_faq_and_closed_by_default(http_server: LoopbackServer) -> None:
    records = json.loads((DATA / "ftportal-trimmed" / "input.json").read_bytes())["results"]
    faq = {
        "reference": "FAQ1",
        "language": "en",
        "metadata": {"identifier": ["FAQ-1"], "DATASOURCE": ["SEDIA_FAQ"]},
    }
    http_server.route("/search", handler=_paged([*records, faq], size=100))
    source = SourceConfig.model_validate(
        {
            "id": "ft",
            "name": "FT",
            "type": "ftportal",
            "url": http_server.url("/search?apiKey=SEDIA&text=***"),
        }
    )
    collected = await _collect(FtPortalAdapter(today=lambda: date(2026, 6, 11)), source)
    # the two-stage topic's deadlines passed although its status still says forthcoming: dropped
    assert [d.identifier for d in collected.drafts] == ["HORIZON-JU-EDCTP3-2026-SCILEADERSHIPMANSSAPRIZE"]


async def test_ftportal_server_error_surfaces(http_server: LoopbackServer) -> None:
    http_server.route("/search", b"boom", status=500)
    with pytest.raises(HTTPStatusError):
        await _collect(FtPortalAdapter(), _ft_source(http_server))


def _conditional(body: bytes, content_type: str) -> Any:
    def handler(request: Request, _handler: object) -> Reply:
        if request.headers.get("If-None-Match") == '"v1"':
            return Reply(304, b"", {"ETag": '"v1"'})
        return Reply(200, body, {"Content-Type": content_type, "ETag": '"v1"'})

    return handler


async def test_grantstenders_conditional_get_and_cleanup(http_server: LoopbackServer) -> None:
    body = (DATA / "grantstenders-sample" / "input.json").read_bytes()
    http_server.route("/grantsTenders.json", handler=_conditional(body, "application/json"))
    source = SourceConfig.model_validate(
        {"id": "gt", "name": "GT", "type": "grantstenders", "url": http_server.url("/grantsTenders.json")}
    )
    adapter = GrantsTendersAdapter(today=lambda: TODAY)
    first = await _collect(adapter, source)
    # open and forthcoming only by default: the closed grant and the expired tender are left out
    assert len(first.drafts) == 5 and first.validators.etag == '"v1"'
    second = await _collect(adapter, source, first.validators)
    assert second.not_modified and second.drafts == []
    assert http_server.requests[1].headers.get("If-None-Match") == '"v1"'
    assert list((get_settings().data_dir / "downloads").iterdir()) == []


@pytest.mark.parametrize(
    ("adapter", "case", "ctype", "options"),
    [
        (RssAdapter(), "rss-piemonte", "application/rss+xml", {}),
        (HtmlAdapter(), "html-puglia-cards", "text/html", {"item_selector": "div.card-agenda-one"}),
    ],
)
async def test_feed_and_page_conditional_get(
    http_server: LoopbackServer, adapter: Any, case: str, ctype: str, options: dict[str, str]
) -> None:
    body = next((DATA / case).glob("input.*")).read_bytes()
    url = http_server.route("/page", handler=_conditional(body, ctype))
    kind = "rss" if isinstance(adapter, RssAdapter) else "html"
    source = SourceConfig.model_validate(
        {"id": "s", "name": "S", "type": kind, "url": url, "options": options}
    )
    first = await _collect(adapter, source)
    assert first.drafts and first.validators.etag == '"v1"'
    second = await _collect(adapter, source, first.validators)
    assert second.not_modified and second.drafts == [] and second.validators.etag == '"v1"'


async def test_html_error_page_behind_a_feed_url_is_a_parse_error(http_server: LoopbackServer) -> None:
    url = http_server.route(
        "/rss.xml", b"<html><body><h1>Maintenance</h1></body></html>", headers={"Content-Type": "text/html"}
    )
    source = SourceConfig(id="s", name="S", type="rss", url=url)
    with pytest.raises(ParseError, match="HTML page"):
        await _collect(RssAdapter(), source)


def test_registry_has_an_adapter_per_type() -> None:
    expected = {
        "rss": RssAdapter,
        "html": HtmlAdapter,
        "ftportal": FtPortalAdapter,
        "grantstenders": GrantsTendersAdapter,
    }
    for kind, cls in expected.items():
        options = {"item_selector": "a"} if kind == "html" else {}
        source = SourceConfig.model_validate(
            {"id": "s", "name": "S", "type": kind, "url": "https://e.eu/", "options": options}
        )
        assert isinstance(adapter_for(source), cls)
