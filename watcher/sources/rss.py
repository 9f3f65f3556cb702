"""RSS and Atom feeds, read with feedparser and made tolerant of what real feeds get wrong.

Real feeds put debug HTML before ``<?xml`` (ECCP's Drupal), declare UTF-8 and send Latin-1, or are
an HTML error page with a 200. Recoverable damage becomes a warning with the entries kept; a body
that is not a feed at all is a ParseError, never an empty list that looks like a quiet week.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from watcher.drafts import ItemDraft
from watcher.fetch.errors import ParseError
from watcher.fetch.result import Validators
from watcher.sources.base import Collected, Fetcher, fetch_and_parse
from watcher.sources.config import RssOptions, SourceConfig

_JUNK_SCAN_BYTES = 64 * 1024  # how far we look for a late ``<?xml`` before giving up
_DOCTYPE_RE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_ENTITY_RE = re.compile(rb"<!ENTITY", re.IGNORECASE)
_XML_DECL_ENCODING_RE = re.compile(rb"""^(<\?xml[^>]*?encoding=["'])([\w.:-]+)(["'])""")
_CHARSET_RE = re.compile(r"charset=([\w.:-]+)", re.IGNORECASE)
_SINGLE_BYTE_LATIN = {"iso-8859-1", "latin-1", "latin1", "iso-8859-15", "windows-1252", "cp1252", "us-ascii"}
_HTML_HINT_RE = re.compile(rb"<!DOCTYPE\s+html|<html[\s>]|<body[\s>]", re.IGNORECASE)


class RssAdapter:
    """Polls one feed with a conditional GET."""

    async def collect(self, source: SourceConfig, fetcher: Fetcher, validators: Validators) -> Collected:
        return await fetch_and_parse(source, fetcher, validators, parse=parse_feed)


def parse_feed(
    body: bytes, *, source: SourceConfig, base_url: str, content_type: str = ""
) -> tuple[list[ItemDraft], list[str]]:
    """Drafts and warnings from a feed body; ParseError when the body is not a usable feed."""
    warnings: list[str] = []
    body = _strip_leading_junk(body, warnings)
    head = body[:_JUNK_SCAN_BYTES]
    if _DOCTYPE_RE.search(head) and _ENTITY_RE.search(head):
        raise ParseError("feed declares XML entities in a DOCTYPE: refused (entity expansion / XXE risk)")
    body, content_type = _utf8_labelled_latin(body, content_type, warnings)
    # Imported here, as feedparser is: both parsers (and lxml, feedparser) cost a tenth of a second
    # to import, and a round of unchanged feeds (all 304) parses nothing.
    from watcher.sources.rss_fast import fast_entries

    fast = fast_entries(body, base_url=base_url, content_type=content_type or "application/xml")
    if fast is None:
        fast = _feedparser_entries(body, base_url=base_url, content_type=content_type, warnings=warnings)
    entries, channel_language = fast
    options = source.options if isinstance(source.options, RssOptions) else RssOptions()
    entries = entries[: options.max_items] if options.max_items else entries
    feed_language = _language(channel_language) or source.language
    drafts = []
    for position, entry in enumerate(entries, start=1):
        draft = _draft(entry, source=source, options=options, language=feed_language)
        if draft is None:
            warnings.append(f"entry #{position} has neither link nor id: skipped")
        elif options.include_closed or not _marked_closed(draft.html or draft.text, options.closed_markers):
            drafts.append(draft)
    return drafts, warnings


def _feedparser_entries(
    body: bytes, *, base_url: str, content_type: str, warnings: list[str]
) -> tuple[list[Any], str | None]:
    """Entries and channel language from feedparser, which reads what the fast path declines."""
    # Unknown content type: say XML, or feedparser flags every body as "no Content-type specified".
    headers = {"content-location": base_url, "content-type": content_type or "application/xml"}
    # Our own sanitizer cleans and resolves links later (against the item URL); feedparser doing it
    # too would triple the parse time for nothing.
    import feedparser  # here: see parse_feed

    try:
        parsed = feedparser.parse(
            body, response_headers=headers, sanitize_html=False, resolve_relative_uris=False
        )
    except Exception as error:  # feedparser's own bugs, e.g. "&#x110000;" or a stray </link> (bench/fuzz.py)
        raise ParseError(f"feed could not be parsed ({type(error).__name__}: {error})"[:500]) from None
    _check_is_feed(parsed, body=body, content_type=content_type)
    if parsed.get("bozo"):
        warnings.append(_bozo_warning(parsed))
    return list(parsed.entries), parsed.feed.get("language")


_TAG_RE = re.compile(r"<[^>]*>")
_MARKER_LINES = 4  # Piemonte: category, state, then the text; look no further than the head


def _marked_closed(description: str, markers: list[str]) -> bool:
    """Whether one of the description's first lines is exactly a closed marker ("Scaduto")."""
    if not markers:
        return False
    wanted = {marker.casefold() for marker in markers}
    lines = (line.strip() for line in _TAG_RE.sub("\n", description[:600]).splitlines())
    head = [line for line in lines if line][:_MARKER_LINES]
    return any(line.casefold() in wanted for line in head)


def _strip_leading_junk(body: bytes, warnings: list[str]) -> bytes:
    stripped = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped:
        raise ParseError("empty body: expected an RSS/Atom feed")
    start = stripped.find(b"<?xml", 0, _JUNK_SCAN_BYTES)
    if start > 0:
        warnings.append(f"dropped {start} bytes of non-XML output before <?xml")
        return stripped[start:]
    return stripped


def _utf8_labelled_latin(body: bytes, content_type: str, warnings: list[str]) -> tuple[bytes, str]:
    """Bytes that are valid UTF-8 but labelled Latin-1/1252 are UTF-8 (a common CMS mistake);
    read as labelled they would turn every accent into mojibake without any error."""
    labels = {m.group(1).lower() for m in [_CHARSET_RE.search(content_type)] if m}
    labels |= {m.group(2).decode("ascii").lower() for m in [_XML_DECL_ENCODING_RE.search(body)] if m}
    if not labels & _SINGLE_BYTE_LATIN:
        return body, content_type
    if body.isascii():
        return body, content_type
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return body, content_type
    warnings.append(f"encoding: declared {', '.join(sorted(labels))} but the bytes are UTF-8; read as UTF-8")
    body = _XML_DECL_ENCODING_RE.sub(rb"\g<1>utf-8\g<3>", body, count=1)
    return body, _CHARSET_RE.sub("charset=utf-8", content_type)


def _check_is_feed(parsed: Any, *, body: bytes, content_type: str) -> None:
    if parsed.get("version") and (parsed.entries or not parsed.get("bozo")):
        return
    reason = parsed.get("bozo_exception")
    if parsed.get("version"):
        raise ParseError(f"feed is malformed and yielded no entries: {reason}")
    lowered = content_type.lower()
    if ("html" in lowered and "xml" not in lowered) or _HTML_HINT_RE.search(body[:4096]):
        raise ParseError(f"got an HTML page, not an RSS/Atom feed (content-type {content_type or 'unset'})")
    detail = f": {reason}" if reason else ""
    raise ParseError(f"not an RSS/Atom feed (starts {body[:40]!r}){detail}")


def _bozo_warning(parsed: Any) -> str:
    reason = parsed.get("bozo_exception")
    name = type(reason).__name__
    if name == "CharacterEncodingOverride":
        return f"encoding: {reason}"
    return f"feed is not well-formed ({name}: {reason}); kept {len(parsed.entries)} entries read leniently"


def _language(value: object) -> str | None:
    if not isinstance(value, str) or len(value) < 2:
        return None
    return value[:2].lower()


def _rewrite(url: str, options: RssOptions) -> str:
    """Point links on a placeholder host (Drupal's ``http://default/``) at the real site."""
    if not options.rewrite_host or not url:
        return url
    parts = urlsplit(url)
    if parts.hostname not in options.rewrite_from_hosts:
        return url
    origin = urlsplit(options.rewrite_host)
    return urlunsplit((origin.scheme, origin.netloc, parts.path, parts.query, parts.fragment))


def _rewrite_html(html: str, options: RssOptions) -> str:
    if not options.rewrite_host:
        return html
    for host in options.rewrite_from_hosts:
        for scheme in ("http", "https"):
            html = html.replace(f"{scheme}://{host}/", f"{options.rewrite_host}/")
    return html


def _published(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            year, month, day, hour, minute, second = value[:6]
            try:
                return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
            except (ValueError, OverflowError):  # e.g. year -99 (found by bench/fuzz.py): try the next
                continue
    return None


def _body(entry: Any) -> tuple[str, str]:
    """(html, text): full content when present, else the summary; plain text kept apart."""
    detail = (entry.get("content") or [None])[0] or entry.get("summary_detail")
    if not detail:
        return "", ""
    value = detail.get("value") or ""
    if detail.get("type") == "text/plain":
        return "", value
    return value, ""


def _draft(
    entry: Any, *, source: SourceConfig, options: RssOptions, language: str | None
) -> ItemDraft | None:
    link = _rewrite(entry.get("link") or "", options)
    raw_id = entry.get("id") or ""
    guid = _rewrite(raw_id, options) if raw_id.startswith(("http://", "https://")) else raw_id
    if not link and guid.startswith(("http://", "https://")):
        link = guid
    if not link and not guid:
        return None
    html, text = _body(entry)
    extra: dict[str, Any] = {}
    categories = [t.get("term") for t in entry.get("tags") or [] if t.get("term")]
    if categories:
        extra["categories"] = categories
    if entry.get("author"):
        extra["author"] = entry.get("author")
    return ItemDraft(
        source_id=source.id,
        guid=guid or link,
        url=link,
        title=(entry.get("title") or "").strip(),
        html=_rewrite_html(html, options),
        text=text,
        published=_published(entry),
        language=_language(entry.get("language")) or language,
        kind_hint=source.kind,
        extra=extra,
    )
