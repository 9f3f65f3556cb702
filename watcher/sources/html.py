"""Listing pages without a feed (EISMEA's ECL cards, Puglia's agenda, Interreg calls), read by selectors.

The selectors live in config so a redesign is a config edit. A selector that matches nothing is a
ParseError: a changed layout must show up in the source's health, not as a quiet empty week.
Parsing uses a hardened lxml HTML parser (no network, no huge trees) behind BeautifulSoup.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

from bs4 import BeautifulSoup, Tag
from bs4.builder import ParserRejectedMarkup
from bs4.builder._lxml import LXMLTreeBuilder
from lxml import etree

from watcher.drafts import ItemDraft
from watcher.fetch.errors import ParseError
from watcher.fetch.result import Validators
from watcher.sources.base import Collected, Fetcher, fetch_and_parse
from watcher.sources.config import HtmlOptions, SourceConfig
from watcher.sources.fields import parse_human_date

_CHARSET_RE = re.compile(r"charset=([\w.:-]+)", re.IGNORECASE)


def _hardened_html_parser(**kwargs: Any) -> etree.HTMLParser:
    """lxml's HTML parser with the safety switches forced whatever BeautifulSoup asks for.

    libxml2's HTML mode never expands DTD entities (so ``resolve_entities`` does not exist there);
    what matters is no network access for related files and the default limits on tree size.
    """
    kwargs.update(no_network=True, huge_tree=False, decompress=False)
    try:
        return etree.HTMLParser(**kwargs)
    except (ValueError, LookupError) as error:  # a garbage charset name (found by bench/fuzz.py)
        raise ParserRejectedMarkup(error) from None  # BeautifulSoup then tries its next encoding


class HardenedLXMLTreeBuilder(LXMLTreeBuilder):
    """BeautifulSoup's lxml builder, but with ``_hardened_html_parser``."""

    def default_parser(self, encoding: Any) -> Any:
        return _hardened_html_parser


class HtmlAdapter:
    """Polls one listing page with a conditional GET."""

    async def collect(self, source: SourceConfig, fetcher: Fetcher, validators: Validators) -> Collected:
        return await fetch_and_parse(source, fetcher, validators, parse=parse_listing)


def parse_listing(
    body: bytes, *, source: SourceConfig, base_url: str, content_type: str = ""
) -> tuple[list[ItemDraft], list[str]]:
    """Drafts and warnings from one listing page, using the source's selectors."""
    if not isinstance(source.options, HtmlOptions):
        raise ParseError(f"source {source.id!r} has no HTML selectors (type {source.type})")
    options = source.options
    if not body.strip():
        raise ParseError("empty body: expected an HTML listing page")
    soup = _soup(body, content_type)
    base_tag = soup.find("base", href=True)
    if isinstance(base_tag, Tag):
        base_url = urljoin(base_url, str(base_tag["href"]))
    try:
        items = soup.select(options.item_selector)
    except Exception as exc:  # soupsieve raises its own SelectorSyntaxError
        raise ParseError(f"item_selector {options.item_selector!r} is not valid CSS: {exc}") from None
    if not items:
        raise ParseError(f"item_selector {options.item_selector!r} matched nothing: has the page changed?")
    drafts: list[ItemDraft] = []
    warnings: list[str] = []
    seen: set[str] = set()
    for position, item in enumerate(items, start=1):
        try:
            draft = _draft(item, source=source, options=options, base_url=base_url, warnings=warnings)
        except RecursionError:  # absurdly deep markup inside one card (found by bench/fuzz.py)
            warnings.append(f"item #{position} is nested too deeply: skipped")
            continue
        if draft is None:
            warnings.append(f"item #{position} has no link or title: skipped")
        elif draft.url not in seen:
            seen.add(draft.url)
            drafts.append(draft)
    return drafts, warnings


def _soup(body: bytes, content_type: str) -> BeautifulSoup:
    match = _CHARSET_RE.search(content_type)
    encoding = match.group(1) if match else None
    try:
        return BeautifulSoup(body, builder=HardenedLXMLTreeBuilder(), from_encoding=encoding)
    except ParserRejectedMarkup as error:
        raise ParseError(f"page could not be parsed in any encoding: {error}") from None


def _select(item: Tag, selector: str | None) -> Tag | None:
    if not selector:
        return None
    found = item.select_one(selector)
    return found if isinstance(found, Tag) else None


def _text(tag: Tag | None) -> str:
    return " ".join(tag.get_text(" ").split()) if tag is not None else ""


def _link(item: Tag, options: HtmlOptions, base_url: str) -> str:
    anchor = _select(item, options.link_selector)
    if anchor is None and item.name == "a":
        anchor = item
    href = str(anchor.get("href") or "").strip() if anchor is not None else ""
    if not href or href.startswith(("javascript:", "mailto:", "#")):
        return ""
    try:
        return urljoin(base_url, href)
    except ValueError:  # e.g. "http://[bad" (found by bench/fuzz.py): no usable link
        return ""


def _date(item: Tag, options: HtmlOptions) -> datetime | None:
    tag = _select(item, options.date_selector)
    if tag is None:
        return None
    raw = str(tag.get(options.date_attribute) or "") if options.date_attribute else ""
    return parse_human_date(raw or _text(tag), languages=options.date_languages)


def _draft(
    item: Tag, *, source: SourceConfig, options: HtmlOptions, base_url: str, warnings: list[str]
) -> ItemDraft | None:
    url = _link(item, options, base_url)
    title_tag = _select(item, options.title_selector) if options.title_selector else item
    title = _text(title_tag)
    if not url or not title:
        return None
    when = _date(item, options)
    if options.date_selector and when is None and _select(item, options.date_selector) is not None:
        warnings.append(f"unreadable date {_text(_select(item, options.date_selector))!r} for {url}")
    summary = _select(item, options.summary_selector)
    return ItemDraft(
        source_id=source.id,
        guid=url,
        url=url,
        title=title,
        html=summary.decode_contents().strip() if summary is not None else "",
        published=when if options.date_field == "published" else None,
        event_date=when.date() if when is not None and options.date_field == "event_date" else None,
        language=source.language,
        kind_hint=source.kind,
    )
