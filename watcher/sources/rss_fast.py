"""A fast path for plain, well-formed RSS 2.0: read with lxml, in the shape feedparser gives.

feedparser's SAX parser builds its result one Python callback per tag and text run; on a first poll
of many feeds it was the largest single cost of a round. Most feeds are plain RSS 2.0 whose items
hold only a few simple elements. Those are read here with lxml (C) into the same entry dictionaries
``rss.parse_feed`` reads from feedparser, so every rule downstream stays in one place.

The path only takes feeds it can read exactly as feedparser would: well-formed UTF-8 XML with an
XML content type, no DOCTYPE, an ``<rss version="2.0">`` root, items whose children are all in
``_ITEM_FIELDS`` with plain text, links that are absolute, dates in RFC 822 form. Anything else
returns None and feedparser reads the feed (tests compare both paths on every recorded feed).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_tz
from typing import Any

from feedparser.urls import make_safe_absolute_uri
from lxml import etree

_DC = "{http://purl.org/dc/elements/1.1/}"
_ITEM_FIELDS = frozenset(
    {"title", "link", "description", "guid", "pubDate", "category", "comments", f"{_DC}creator"}
)
_XML_TYPES = frozenset({"application/rss+xml", "application/xml", "application/rdf+xml", "text/xml"})
_CHARSET = re.compile(r"charset=[\"']?([\w.:-]+)", re.IGNORECASE)
_XML_DECL_ENCODING = re.compile(rb"""^<\?xml[^>]*?encoding=["']([\w.:-]+)["']""")
_RFC822 = re.compile(
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"\d{4} \d\d:\d\d:\d\d (?:[+-]\d{4}|GMT|UT|UTC)"
)
_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
    strip_cdata=True,
)


class _Declined(Exception):
    """The feed uses something this path does not read exactly like feedparser."""


Entries = tuple[list[dict[str, Any]], str | None]


def fast_entries(body: bytes, *, base_url: str, content_type: str) -> Entries | None:
    """(entries, channel language) in feedparser's shape, or None to let feedparser read the feed."""
    if not _plain_utf8_xml(body, content_type):
        return None
    try:
        root = etree.fromstring(body, _PARSER)
    except (etree.XMLSyntaxError, ValueError):
        return None  # feedparser reads what it can and reports how the feed is broken
    if root.tag != "rss" or root.get("version") != "2.0" or root.nsmap.get(None):
        return None
    channels = root.findall("channel")
    if len(channels) != 1:
        return None
    try:
        entries = [_entry(item, base_url) for item in channels[0].iterfind("item")]
    except _Declined:
        return None
    language = channels[0].findtext("language")
    return entries, (language.strip() or None) if language else None


def _plain_utf8_xml(body: bytes, content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in _XML_TYPES or b"<!DOCTYPE" in body[:4096] or b"<!doctype" in body[:4096]:
        return False
    declared = {match.group(1).lower() for match in [_CHARSET.search(content_type)] if match}
    labels = declared | {m.group(1).decode("ascii").lower() for m in [_XML_DECL_ENCODING.match(body)] if m}
    if labels - {"utf-8", "utf8"}:
        return False
    if media_type == "text/xml" and not declared and not body.isascii():
        return False  # RFC 3023 says us-ascii here, whatever the XML declaration: feedparser warns
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _text(element: etree._Element) -> str:
    if len(element) or element.attrib.get("type"):
        raise _Declined  # markup inside a field, or a typed value: feedparser's rules apply
    return (element.text or "").strip()


def _entry(item: etree._Element, base_url: str) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    seen: set[str] = set()
    tags: list[dict[str, str]] = []
    for child in item:
        tag = child.tag
        if not isinstance(tag, str) or tag not in _ITEM_FIELDS:
            raise _Declined
        if tag != "category":
            if tag in seen:
                raise _Declined  # feedparser's "last one wins" rules differ per element
            seen.add(tag)
        _read_field(entry, tags, tag, child, base_url)
    if "link" not in entry:
        raise _Declined  # feedparser may take the guid as the link
    if tags:
        entry["tags"] = tags
    return entry


def _read_field(
    entry: dict[str, Any], tags: list[dict[str, str]], tag: str, child: etree._Element, base_url: str
) -> None:
    value = _text(child)
    if tag == "title":
        entry["title"] = value
    elif tag == "link":
        link = make_safe_absolute_uri(base_url, value)
        if not value.startswith(("http://", "https://")) or not link:
            raise _Declined
        entry["link"] = link
    elif tag == "description":
        entry["summary_detail"] = {"type": "text/html", "value": value}
    elif tag == "guid":
        entry["id"] = value
    elif tag == "pubDate":
        entry["published_parsed"] = _rfc822(value)
    elif tag == "category":
        if value:
            tags.append({"term": value})
    elif tag == f"{_DC}creator":
        entry["author"] = value


def _rfc822(value: str) -> tuple[int, int, int, int, int, int]:
    """The UTC time fields feedparser would give; anything but the plain RFC 822 form declines."""
    parsed = parsedate_tz(value) if _RFC822.fullmatch(value) else None
    if parsed is None:
        raise _Declined
    offset = parsed[9] or 0
    try:
        moment = datetime(*parsed[:6], tzinfo=UTC).timestamp() - offset
        utc = datetime.fromtimestamp(moment, UTC)
    except (ValueError, OverflowError):
        raise _Declined from None
    return utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second
