"""Bad input for every parser: a clear ParseError, or the entries kept with the damage as a warning."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import pytest

from tests.sources.cases import DATA
from watcher.fetch.errors import ParseError
from watcher.sources.config import SourceConfig
from watcher.sources.ftportal import parse_search
from watcher.sources.grantstenders import iter_records, parse_reference_file
from watcher.sources.html import parse_listing
from watcher.sources.rss import parse_feed

RSS = SourceConfig(id="feed", name="Feed", url="https://example.eu/feed", type="rss", language="it")
HTML = SourceConfig.model_validate(
    {
        "id": "page",
        "name": "Page",
        "url": "https://example.eu/list",
        "type": "html",
        "options": {"item_selector": "div.card", "title_selector": "a", "date_selector": ".date"},
    }
)
FT = SourceConfig(id="ft", name="FT", url="https://example.eu/search?apiKey=SEDIA&text=***", type="ftportal")
GT = SourceConfig(id="gt", name="GT", url="https://example.eu/grantsTenders.json", type="grantstenders")
PIEMONTE = (DATA / "rss-piemonte" / "input.xml").read_bytes()
TODAY = date(2026, 6, 11)
SECRET = "root:x:0:0"


def feed(items: str, *, prolog: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n{prolog}<rss version="2.0"><channel><title>T</title>'
        f"<link>https://example.eu/</link>{items}</channel></rss>"
    ).encode()


def rss(body: bytes, content_type: str = "application/rss+xml") -> tuple[list, list[str]]:
    return parse_feed(body, source=RSS, base_url=RSS.url, content_type=content_type)


# --- RSS / Atom ----------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"", b"   \r\n\t", b"\xef\xbb\xbf"])
def test_empty_body(body: bytes) -> None:
    with pytest.raises(ParseError, match="empty body"):
        rss(body)


def test_html_page_instead_of_feed() -> None:
    page = b"<!DOCTYPE html><html><head><title>Bandi</title></head><body><h1>Bandi</h1></body></html>"
    with pytest.raises(ParseError, match="got an HTML page, not an RSS/Atom feed"):
        rss(page, "text/html; charset=utf-8")


def test_json_instead_of_feed() -> None:
    with pytest.raises(ParseError, match="not an RSS/Atom feed"):
        rss(b'{"items": []}', "application/json")


def test_binary_garbage() -> None:
    with pytest.raises(ParseError, match="not an RSS/Atom feed"):
        rss(bytes(range(256)) * 4, "application/octet-stream")


def test_malformed_xml_keeps_entries_and_warns() -> None:
    body = feed("<item><title>a & b</title><link>https://example.eu/1</link></item><item><title>c</title>")
    drafts, warnings = rss(body)
    assert [d.title for d in drafts] == ["a & b"]
    assert any("not well-formed" in w for w in warnings)
    assert "entry #2 has neither link nor id: skipped" in warnings  # the unclosed one, reported


def test_entry_without_link_or_id_is_reported() -> None:
    drafts, warnings = rss(
        feed("<item><title>orphan</title></item><item><title>ok</title><link>https://e.eu/2</link></item>")
    )
    assert [d.title for d in drafts] == ["ok"]
    assert warnings == ["entry #1 has neither link nor id: skipped"]


def test_truncated_feed_keeps_complete_entries() -> None:
    drafts, warnings = rss(PIEMONTE[: len(PIEMONTE) // 2])
    assert 1 <= len(drafts) < 10
    assert all(d.url.startswith("https://bandi.regione.piemonte.it/") for d in drafts)
    assert any("not well-formed" in w for w in warnings)


def test_truncated_before_any_entry_is_an_error() -> None:
    with pytest.raises(ParseError, match="malformed and yielded no entries"):
        rss(PIEMONTE[:600])


def test_latin1_declared_utf8_is_recovered_with_warning() -> None:
    body = feed("<item><title>Città più attività</title><link>https://e.eu/1</link></item>")
    drafts, warnings = rss(body.decode().encode("latin-1"), "application/rss+xml; charset=utf-8")
    assert drafts[0].title == "Città più attività"
    assert any(w.startswith("encoding:") for w in warnings)


def test_utf8_declared_latin1_is_read_as_utf8() -> None:
    body = feed("<item><title>Città più attività</title><link>https://e.eu/1</link></item>")
    body = body.replace(b'encoding="utf-8"', b'encoding="ISO-8859-1"')
    drafts, warnings = rss(body, "text/xml; charset=iso-8859-1")
    assert drafts[0].title == "Città più attività"
    assert any("but the bytes are UTF-8" in w for w in warnings)


def test_missing_charset_everywhere() -> None:
    body = feed("<item><title>Città</title><link>https://e.eu/1</link></item>").replace(
        b' encoding="utf-8"', b""
    )
    drafts, _ = rss(body, "")
    assert drafts[0].title == "Città"


BILLION_LAUGHS = """<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
"""


def test_billion_laughs_is_refused() -> None:
    body = feed("<item><title>&lol9;</title><link>https://e.eu/1</link></item>", prolog=BILLION_LAUGHS)
    with pytest.raises(ParseError, match="entity expansion / XXE"):
        rss(body)


XXE = '<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'


def test_external_entity_is_refused() -> None:
    body = feed("<item><title>A &xxe; B</title><link>https://e.eu/1</link></item>", prolog=XXE)
    with pytest.raises(ParseError, match="XXE"):
        rss(body)


def test_external_dtd_is_not_fetched_or_leaked() -> None:
    """No internal subset to refuse: feedparser's expat never loads the external DTD (checked here)."""
    body = feed(
        "<item><title>A</title><link>https://e.eu/1</link><description>x</description></item>",
        prolog='<!DOCTYPE rss SYSTEM "file:///etc/passwd">\n',
    )
    drafts, _ = rss(body)
    assert SECRET not in repr(drafts)


def test_feedparser_alone_does_not_expand_external_entities() -> None:
    """Defence in depth, verified: even without our refusal, feedparser drops unsafe entity
    declarations and parses loosely, leaving ``&xxe;`` unexpanded."""
    import feedparser

    parsed = feedparser.parse(feed("<item><title>A &xxe; B</title></item>", prolog=XXE))
    assert SECRET not in repr(parsed.entries)


# --- HTML listings -------------------------------------------------------------------------------


def html(body: bytes) -> tuple[list, list[str]]:
    return parse_listing(body, source=HTML, base_url=HTML.url, content_type="text/html")


def test_html_empty_body() -> None:
    with pytest.raises(ParseError, match="empty body"):
        html(b"  ")


def test_html_selector_matching_nothing_is_an_error() -> None:
    with pytest.raises(ParseError, match=r"item_selector 'div.card' matched nothing"):
        html(b"<html><body><div class='other'><a href='/x'>x</a></div></body></html>")


def test_html_invalid_selector_is_an_error() -> None:
    bad = SourceConfig.model_validate(
        {**HTML.model_dump(), "options": {"item_selector": "div[[", "type": "html"}}
    )
    with pytest.raises(ParseError, match="not valid CSS"):
        parse_listing(b"<html><body><p>x</p></body></html>", source=bad, base_url=HTML.url)


def test_html_external_entity_not_resolved() -> None:
    page = (
        b'<?xml version="1.0"?>\n<!DOCTYPE html [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
        b'<html><body><div class="card"><a href="/x">Call &xxe; now</a><span class="date">1 marzo 2026</span>'
        b"</div></body></html>"
    )
    drafts, _ = html(page)
    assert SECRET not in repr(drafts)
    assert drafts[0].url == "https://example.eu/x"


def test_html_billion_laughs_not_expanded() -> None:
    page = (
        BILLION_LAUGHS.replace("rss", "html")
        + '<html><body><div class="card"><a href="/x">&lol9;</a></div></body></html>'
    )
    drafts, _ = html(page.encode())
    assert len(drafts[0].title) < 100


def test_html_unreadable_date_is_a_warning_not_a_loss() -> None:
    drafts, warnings = html(b'<div class="card"><a href="/x">T</a><span class="date">presto</span></div>')
    assert drafts[0].title == "T" and drafts[0].published is None
    assert warnings == ["unreadable date 'presto' for https://example.eu/x"]


# --- Funding & Tenders search API ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty body"),
        (b"<html><body>Service Unavailable</body></html>", "not JSON"),
        (b'{"results": [', "not JSON"),
        (b'{"totalResults": 3}', "no 'results' list"),
        (b'{"results": "none"}', "no 'results' list"),
        (b'{"results": [1, 2]}', "no 'results' list"),
        (b"[1, 2, 3]", "no 'results' list"),
        (b"\xff\xfe\x00garbage", "not JSON"),
    ],
)
def test_search_payload_of_wrong_shape(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_search(body, source=FT, today=TODAY)


def test_search_record_missing_fields_is_tolerated() -> None:
    body = json.dumps(
        {"results": [{"reference": "X1", "metadata": {"identifier": ["X1"]}}, {"metadata": "?"}]}
    )
    drafts, _ = parse_search(body.encode(), source=FT, today=TODAY)
    assert [d.identifier for d in drafts] == ["X1"]  # no deadline: treated as open, not dropped


# --- grantsTenders.json --------------------------------------------------------------------------


def _file(tmp_path: Path, body: bytes) -> Path:
    path = tmp_path / "grantsTenders.json"
    path.write_bytes(body)
    return path


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "not valid JSON"),
        (b'{"fundingData": {"GrantTenderObj": [{"identifier": "A", ', "not valid JSON after 0 records"),
        (b'{"fundingData": {"Other": []}}', "not a grantsTenders.json"),
        (b'{"results": []}', "not a grantsTenders.json"),
        (b"<html>404</html>", "not valid JSON"),
    ],
)
def test_reference_file_of_wrong_shape(tmp_path: Path, body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_reference_file(_file(tmp_path, body), source=GT, today=TODAY)


def test_reference_file_truncated_after_records(tmp_path: Path) -> None:
    whole = (DATA / "grantstenders-sample" / "input.json").read_bytes()
    with pytest.raises(ParseError, match=r"not valid JSON after [1-6] records"):
        parse_reference_file(_file(tmp_path, whole[: len(whole) // 2]), source=GT, today=TODAY)


def test_reference_file_is_streamed_in_chunks() -> None:
    """ijson reads bounded chunks; nothing asks for the whole file at once (``json.load`` would)."""

    class ChunksOnly(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            assert size is not None and 0 <= size <= 1024 * 1024, f"whole-file read requested ({size})"
            return super().read(size)

    stream = ChunksOnly((DATA / "grantstenders-sample" / "input.json").read_bytes())
    assert len(list(iter_records(stream))) == 7
