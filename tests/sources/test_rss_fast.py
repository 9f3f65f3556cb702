"""The lxml fast path must read every feed it accepts exactly as feedparser does.

Each case is parsed twice, once as in production and once with the fast path switched off, and the
drafts and warnings must be equal. Cases the fast path should take are also checked to take it, so
a silent decline (everything slow again) fails here rather than only in the benchmark.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from watcher.sources import rss, rss_fast
from watcher.sources.config import SourceConfig
from watcher.sources.rss_fast import fast_entries

DATA = Path(__file__).resolve().parents[1] / "data"
BASE = "https://feeds.example.eu/rss/bandi.xml"
RSS_TYPE = "application/rss+xml; charset=utf-8"
SOURCE = SourceConfig.model_validate(
    {"id": "fast", "name": "Fast", "url": BASE, "type": "rss", "interval": "1h", "language": "it"}
)


def _feed(items: str, *, channel: str = "<language>it-IT</language>", root: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"{root}><channel><title>T</title>'
        f"<link>https://example.eu/</link>{channel}{items}</channel></rss>"
    ).encode()


ITEM = (
    "<item><title>{title}</title><link>{link}</link><guid isPermaLink=\"false\">g-{n}</guid>"
    "<pubDate>{date}</pubDate><description>{description}</description>{more}</item>"
)


def _item(n: int = 1, **fields: str) -> str:
    values = {
        "title": f"Bando per le PMI n. {n}",
        "link": f"https://example.eu/bandi/{n}",
        "date": "Mon, 02 Nov 2026 09:30:00 +0100",
        "description": "<![CDATA[<p>Scadenza: 12 marzo 2027. <a href=\"https://example.eu/x?utm_source=rss\">Info</a></p>]]>",
        "more": "",
        "n": str(n),
    }
    values.update(fields)
    return ITEM.format(**values)


TAKEN = {
    "plain": _feed("".join(_item(n) for n in range(1, 6))),
    "whitespace around values": _feed(
        _item(title="\n  Titolo con spazi  \n", link="  https://example.eu/a  ", description="  testo  ")
    ),
    "entities and markup-looking titles": _feed(
        _item(title="R&amp;D &lt;b&gt;bold&lt;/b&gt; &#8217;quote&#8217;", description="a &amp;amp; b")
    ),
    "escaped html description": _feed(_item(description="&lt;p&gt;Ciao &lt;b&gt;mondo&lt;/b&gt;&lt;/p&gt;")),
    "categories and creator": _feed(
        _item(
            more='<category domain="x">Bandi</category><category>Imprese</category><category></category>'
            "<dc:creator>Redazione (redazione@example.eu)</dc:creator><comments>https://e.eu/c</comments>"
        ),
        root=' xmlns:dc="http://purl.org/dc/elements/1.1/"',
    ),
    "named and offset zones": _feed(
        _item(1, date="Tue, 03 Nov 2026 23:30:00 GMT")
        + _item(2, date="3 Nov 2026 23:30:00 -0500")
        + _item(3, date="Sun, 01 Mar 2026 00:10:00 +0200")
        + _item(4, date="Wed, 04 Nov 2026 10:00:00 UT")
    ),
    "no date, no guid, empty title": _feed(
        "<item><title></title><link>https://example.eu/n</link><description>x</description></item>"
    ),
    "query, fragment and accents": _feed(
        _item(link="https://example.eu/p?id=3&amp;lang=it#top", title="Società, qualità è più")
    ),
    "no channel language": _feed(_item(), channel=""),
    "empty channel": _feed(""),
    "ascii text/xml": _feed(_item()),
}

DECLINED = {
    "relative link": (_feed(_item(link="/bandi/1")), RSS_TYPE),
    "no link": (_feed("<item><title>x</title><guid>https://example.eu/g</guid></item>"), RSS_TYPE),
    "content:encoded": (
        _feed(
            _item(more="<content:encoded><![CDATA[<p>full</p>]]></content:encoded>"),
            root=' xmlns:content="http://purl.org/rss/1.0/modules/content/"',
        ),
        RSS_TYPE,
    ),
    "date without seconds": (_feed(_item(date="Mon, 02 Nov 2026 09:30 +0100")), RSS_TYPE),
    "date in another form": (_feed(_item(date="2026-11-02T09:30:00Z")), RSS_TYPE),
    "two titles": (_feed(_item(more="<title>again</title>")), RSS_TYPE),
    "markup inside a field": (_feed(_item(description="<p>raw</p>")), RSS_TYPE),
    "latin-1 label": (_feed(_item()).replace(b"utf-8", b"iso-8859-1"), "application/rss+xml"),
    "non-ascii text/xml without charset": (_feed(_item(title="è")), "text/xml"),
    "html content type": (_feed(_item()), "text/html; charset=utf-8"),
    "not well-formed": (_feed(_item()).replace(b"</channel>", b""), RSS_TYPE),
    "undefined entity": (_feed(_item(title="a &nbsp; b")), RSS_TYPE),
    "rss 0.91": (_feed(_item()).replace(b'version="2.0"', b'version="0.91"'), RSS_TYPE),
}


def _both(body: bytes, content_type: str, monkeypatch: pytest.MonkeyPatch) -> tuple[object, object]:
    fast = rss.parse_feed(body, source=SOURCE, base_url=BASE, content_type=content_type)
    with monkeypatch.context() as patch:
        patch.setattr(rss_fast, "fast_entries", lambda *args, **kwargs: None)  # read at each parse
        slow = rss.parse_feed(body, source=SOURCE, base_url=BASE, content_type=content_type)
    return fast, slow


@pytest.mark.parametrize("name", sorted(TAKEN))
def test_fast_path_reads_like_feedparser(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    body = TAKEN[name]
    content_type = "text/xml" if name == "ascii text/xml" else RSS_TYPE
    assert fast_entries(body, base_url=BASE, content_type=content_type) is not None, "fast path declined"
    fast, slow = _both(body, content_type, monkeypatch)
    assert fast == slow


@pytest.mark.parametrize("name", sorted(DECLINED))
def test_fast_path_declines_what_it_cannot_read_exactly(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    body, content_type = DECLINED[name]
    assert fast_entries(body, base_url=BASE, content_type=content_type) is None


RECORDED = sorted(
    path
    for path in [*DATA.glob("rss*/input.xml"), *DATA.glob("fixtures/*.xml"), *DATA.glob("atom*/input.xml")]
)


@pytest.mark.parametrize("path", RECORDED, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_recorded_feeds_read_the_same_either_way(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, slow = _both(path.read_bytes(), RSS_TYPE, monkeypatch)
    assert fast == slow


def test_the_real_piemonte_feed_takes_the_fast_path() -> None:
    body = (DATA / "rss-piemonte" / "input.xml").read_bytes()
    assert fast_entries(body, base_url=BASE, content_type=RSS_TYPE) is not None
