"""EU Funding & Tenders search API: every open or forthcoming topic, one draft per topic.

The API returns each topic once per language (and sometimes as extra "type 6" records), its status
lags behind the deadlines, and every metadata value is a list. Records are grouped by topic
identifier across all pages first, then one record per topic is chosen (English, else Italian,
else the first) and its status recomputed from ``deadlineDate``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

from watcher.drafts import ItemDraft
from watcher.fetch.errors import ParseError
from watcher.fetch.result import Validators
from watcher.sources.base import Collected, Fetcher
from watcher.sources.config import FtPortalOptions, SourceConfig
from watcher.sources.fields import (
    CLOSED,
    FT_STATUS_CODES,
    TOPIC_TYPES,
    deadline_date,
    ft_type_name,
    parse_iso_datetime,
    programme_name,
    status_from_deadlines,
    topic_link,
)

LANGUAGE_PREFERENCE = ("en", "it")
EXCLUDED_DATASOURCES = frozenset({"SEDIA_FAQ"})


def _today() -> date:
    return datetime.now(UTC).date()


class FtPortalAdapter:
    """Pages through the search API with POST multipart requests until results run out."""

    def __init__(self, today: Callable[[], date] = _today) -> None:
        self._today = today

    async def collect(self, source: SourceConfig, fetcher: Fetcher, validators: Validators) -> Collected:
        options = _options(source)
        records: list[dict[str, Any]] = []
        warnings: list[str] = []
        for page in range(1, options.max_pages + 1):
            result = await fetcher.post(
                page_url(source.url, options=options, page=page), files=search_parts(options)
            )
            page_records, total = parse_search_payload(result.body)
            records.extend(page_records)
            # count what arrived, not page * page_size: the API may serve fewer than asked per page
            if not page_records or (total is not None and len(records) >= total):
                break
        else:
            warnings.append(f"stopped after max_pages={options.max_pages}; more results were available")
        drafts, more = drafts_from_records(records, source=source, today=self._today())
        return Collected(drafts=drafts, warnings=warnings + more)


def _options(source: SourceConfig) -> FtPortalOptions:
    return source.options if isinstance(source.options, FtPortalOptions) else FtPortalOptions()


def page_url(base: str, *, options: FtPortalOptions, page: int) -> str:
    """The configured URL (``...search?apiKey=SEDIA&text=***``) plus paging parameters."""
    joiner = "&" if "?" in base else "?"
    return base + joiner + urlencode({"pageSize": options.page_size, "pageNumber": page})


def search_query(options: FtPortalOptions) -> dict[str, Any]:
    """The Elasticsearch-style query the API expects in its ``query`` part."""
    must: list[dict[str, Any]] = []
    if options.types:
        must.append({"terms": {"type": [str(t) for t in options.types]}})
    if options.statuses:
        must.append({"terms": {"status": [str(s) for s in options.statuses]}})
    if options.programmes:
        must.append({"terms": {"frameworkProgramme": list(options.programmes)}})
    must.extend(options.extra_filters)
    return {"bool": {"must": must}}


def search_parts(options: FtPortalOptions) -> dict[str, tuple[str | None, bytes, str]]:
    """Multipart parts, each typed application/json: as plain form fields the API ignores them."""

    def part(value: object) -> tuple[str | None, bytes, str]:
        return (None, json.dumps(value).encode(), "application/json")

    return {
        "query": part(search_query(options)),
        "languages": part(options.languages),
        "sort": part(options.sort),
    }


def parse_search_payload(body: bytes) -> tuple[list[dict[str, Any]], int | None]:
    """The ``results`` records and ``totalResults`` of one page; ParseError if it is not that shape."""
    if not body.strip():
        raise ParseError("empty body: expected a Funding & Tenders search API JSON response")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError(f"search API answer is not JSON: {exc}") from None
    results = payload.get("results") if isinstance(payload, dict) else None
    if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
        shape = sorted(payload)[:8] if isinstance(payload, dict) else type(payload).__name__
        raise ParseError(f"search API answer has no 'results' list of records (got {shape})")
    total = payload.get("totalResults")
    return results, total if isinstance(total, int) else None


def parse_search(body: bytes, *, source: SourceConfig, today: date) -> tuple[list[ItemDraft], list[str]]:
    """One page straight to drafts (what the golden tests exercise without a server)."""
    records, _ = parse_search_payload(body)
    return drafts_from_records(records, source=source, today=today)


def _meta(record: dict[str, Any]) -> dict[str, Any]:
    meta = record.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _values(meta: dict[str, Any], key: str) -> list[str]:
    value = meta.get(key)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _first(meta: dict[str, Any], key: str) -> str | None:
    values = _values(meta, key)
    return values[0] if values else None


def _language(record: dict[str, Any]) -> str:
    return str(record.get("language") or _first(_meta(record), "language") or "").lower()


def _rank(record: dict[str, Any], position: int) -> tuple[int, int, int]:
    """Real topic records before auxiliary ones, then English, Italian, anything else; then order."""
    kind = _first(_meta(record), "type")
    is_topic = kind is not None and kind.isdigit() and int(kind) in TOPIC_TYPES
    language = _language(record)
    preference = LANGUAGE_PREFERENCE.index(language) if language in LANGUAGE_PREFERENCE else 2
    return (0 if is_topic else 1, preference, position)


def _identifier(record: dict[str, Any]) -> str | None:
    meta = _meta(record)
    return _first(meta, "identifier") or _first(meta, "callIdentifier") or record.get("reference")


def group_topics(records: Iterable[dict[str, Any]]) -> dict[str, list[tuple[int, dict[str, Any]]]]:
    """Records by topic identifier, FAQ entries dropped, in first-seen order."""
    topics: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for position, record in enumerate(records):
        if set(_values(_meta(record), "DATASOURCE")) & EXCLUDED_DATASOURCES:
            continue
        identifier = _identifier(record)
        if identifier:
            topics.setdefault(identifier, []).append((position, record))
    return topics


def drafts_from_records(
    records: Iterable[dict[str, Any]], *, source: SourceConfig, today: date
) -> tuple[list[ItemDraft], list[str]]:
    """One draft per topic; closed topics dropped unless the source asks for them."""
    options = _options(source)
    drafts: list[ItemDraft] = []
    warnings: list[str] = []
    for identifier, group in group_topics(records).items():
        chosen = min(group, key=lambda pair: _rank(pair[1], pair[0]))[1]
        draft = _draft(identifier, chosen, group=[r for _, r in group], source=source, today=today)
        if draft.extra["status"] == CLOSED and not options.include_closed:
            continue
        drafts.append(draft)
    return drafts, warnings


def _portal_status(code: str | None) -> str | None:
    """The portal's own (possibly stale) status, kept for comparison with the recomputed one."""
    if code is None or not code.isdigit():
        return code
    return FT_STATUS_CODES.get(int(code), code)


def _deadlines(meta: dict[str, Any]) -> list[date]:
    moments = (parse_iso_datetime(v) for v in _values(meta, "deadlineDate"))
    return sorted({deadline_date(m) for m in moments if m is not None})


def _draft(
    identifier: str, record: dict[str, Any], *, group: list[dict[str, Any]], source: SourceConfig, today: date
) -> ItemDraft:
    meta = _meta(record)
    deadlines = _deadlines(meta) or next((d for d in map(_deadlines, map(_meta, group)) if d), [])
    start = parse_iso_datetime(_first(meta, "startDate"))
    opening = deadline_date(start) if start else None
    portal_status = _first(meta, "status")
    extra: dict[str, Any] = {
        "status": status_from_deadlines(deadlines=deadlines, opening=opening, today=today),
        "portal_status": _portal_status(portal_status),
        "ft_type": ft_type_name(_first(meta, "type")),
        "call_identifier": _first(meta, "callIdentifier"),
        "call_title": _first(meta, "callTitle"),
        "opening_date": opening.isoformat() if opening else None,
        "deadline_model": _first(meta, "deadlineModel"),
        "types_of_action": _values(meta, "typesOfAction"),
        "tags": _values(meta, "tags"),
        "keywords": sorted(set(_values(meta, "keywords")) - {identifier}),
        "languages": sorted({_language(r) for r in group if _language(r)}),
    }
    title = _first(meta, "title") or record.get("title") or record.get("summary") or identifier
    html = _first(meta, "descriptionByte") or _first(meta, "description") or ""
    return ItemDraft(
        source_id=source.id,
        guid=identifier,
        url=topic_link(identifier),
        title=str(title).strip(),
        html=html,
        published=start,
        identifier=identifier,
        deadlines=deadlines,
        # The index's language label is unreliable (English topics labelled "bg" are common), so
        # the classifier detects the language from the text; the label stays in `extra`.
        language=None,
        kind_hint=source.kind or "call",
        programmes=[programme_name(p) for p in _values(meta, "frameworkProgramme")],
        extra=extra,
    )
