"""Story keys: what makes the portal's call, a region's article and a cluster's post one story.

Strongest evidence first: a Funding & Tenders topic identifier (in the identifier field, the URL or,
when it names exactly one, the title or text); then the call page the item is or links to; then a
distinctive title. Text that mentions several topics is ambiguous (a newsletter) and links nothing.
"""

from __future__ import annotations

import hashlib
import html
import re
from urllib.parse import unquote

from watcher.normalize.fingerprint import title_key
from watcher.normalize.url import canonical_url

STORY_KEY_MAX = 300
# F&T topic ids: upper-case segments, a year, more segments (HORIZON-CL4-2025-04-DATA-03,
# SMP-COSME-2025-CLUSTER-01, HORIZON-JU-CHIPS-2025-IA-LEAI-two-stage).
# The "not after a word or hyphen" test follows the first capital, so ``re`` can skip to capitals
# in C instead of trying the lookbehind at every position (three times faster on a long text).
TOPIC_ID = re.compile(r"[A-Z](?<![\w-].)[A-Z0-9]*(?:-[A-Z0-9]+)*-(?:19|20)\d\d(?:-[A-Za-z0-9]+)+(?![\w])")
_HREF = re.compile(r'<a\s[^>]*?href="([^"]*)"')
_TOPIC_PATH = re.compile(r"/topic-?details/([A-Za-z0-9][A-Za-z0-9._-]+)", re.IGNORECASE)
# Pages that are one call each: F&T details pages and the usual "open call"/"bando" page shapes.
CALL_PAGE = (
    re.compile(
        r"^https://ec\.europa\.eu/info/funding-tenders/opportunities/portal/screen/opportunities/"
        r"(?:competitive-calls-cs|prospect-details|tender-details|topic-details)/[^/?#]+$"
    ),
    re.compile(r"^https?://[^/]+(?:/[^/?#]+)*/open-calls?/[^/?#]+$"),
    re.compile(r"^https?://bandi\.[^/]+/[^/?#]+/[^/?#]+$"),
    re.compile(r"^https?://[^/]+(?:/[^/?#]+)*/(?:bandi|bando)/[^/?#]+$"),
)


# Every CALL_PAGE shape contains one of these words; canonical_url keeps paths and hosts' words.
_MAY_BE_CALL_PAGE = re.compile(r"details/|competitive-calls-cs/|open-call|bandi|bando", re.IGNORECASE)
# Topic ids always hold a "-YYYY-" segment: look for that before running the full pattern.
_TOPIC_YEAR = re.compile(r"-(?:19|20)\d\d-")


def _bounded(prefix: str, value: str) -> str:
    key = prefix + value
    if len(key) <= STORY_KEY_MAX:
        return key
    return prefix + "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()


def topic_id(identifier: str | None) -> str | None:
    """The identifier upper-cased when it is an F&T-style topic id (regional ids collide across sites)."""
    value = (identifier or "").strip()
    return value.upper() if value and TOPIC_ID.fullmatch(value) else None


def topic_ids_in(text: str) -> set[str]:
    if not text or not _TOPIC_YEAR.search(text):
        return set()
    return {match.upper() for match in TOPIC_ID.findall(text)}


def topic_in_url(url: str) -> str | None:
    match = _TOPIC_PATH.search(url)
    return match.group(1).removesuffix(".json").upper() if match else None


def is_call_page(url: str) -> bool:
    return any(pattern.match(url) for pattern in CALL_PAGE)


def linked_call_page(content_html: str) -> str | None:
    """The one call page an item links to; None when it links to none or to several.

    ``content_html`` is the sanitizer's output, whose attributes are always double-quoted, so a
    regular expression reads its links reliably without parsing the markup a second time.
    """
    pages = set()
    for href in _HREF.findall(content_html):
        href = html.unescape(href)
        if not _MAY_BE_CALL_PAGE.search(unquote(href)):
            continue  # canonicalising every link cost more than the rest of the key
        url = canonical_url(href)
        if is_call_page(url):
            pages.add(url)
    return pages.pop() if len(pages) == 1 else None


def _single(ids: set[str]) -> str | None:
    return next(iter(ids)) if len(ids) == 1 else None


def story_key(*, identifier: str | None, url: str, title: str, text: str, content_html: str) -> str | None:
    """The strongest key available for linking this item with its mirrors on other sources."""
    topic = (
        topic_id(identifier)
        or topic_in_url(url)
        or _single(topic_ids_in(url))
        or _single(topic_ids_in(title))
        or _single(topic_ids_in(text))
    )
    if topic:
        return _bounded("topic:", topic)
    page = url if is_call_page(url) else linked_call_page(content_html)
    if page:
        linked_topic = topic_in_url(page)
        return _bounded("topic:", linked_topic) if linked_topic else _bounded("url:", page)
    return title_key(title)
