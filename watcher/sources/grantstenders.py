"""``grantsTenders.json``, the portal's daily reference file of every topic and tender (~130 MB).

Downloaded to disk by the fetcher (conditional GET: usually 304) and read with ijson one record at a
time, so memory stays flat whatever the file's size; ``json.load`` on it would hold it all at once.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, BinaryIO

import ijson

from watcher.drafts import ItemDraft
from watcher.fetch.errors import ParseError
from watcher.fetch.result import Validators
from watcher.settings import get_settings
from watcher.sources.base import Collected, Fetcher
from watcher.sources.config import GrantsTendersOptions, SourceConfig
from watcher.sources.fields import (
    CLOSED,
    deadline_date,
    epoch_ms_to_datetime,
    ft_type_name,
    status_from_deadlines,
    topic_link,
)

ITEMS_PREFIX = "fundingData.GrantTenderObj.item"


def _today() -> date:
    return datetime.now(UTC).date()


class GrantsTendersAdapter:
    """Downloads the reference file into the data dir, parses it off the event loop, deletes it."""

    def __init__(self, today: Callable[[], date] = _today) -> None:
        self._today = today

    async def collect(self, source: SourceConfig, fetcher: Fetcher, validators: Validators) -> Collected:
        work_dir = get_settings().data_dir / "downloads"
        work_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=work_dir, prefix=f"{source.id}-") as tmp:
            dest = Path(tmp) / "grantsTenders.json"
            result = await fetcher.download(source.url, dest, validators=validators)
            if result.not_modified:
                return Collected(drafts=[], not_modified=True, validators=result.validators)
            drafts, warnings = await asyncio.to_thread(
                parse_reference_file, dest, source=source, today=self._today()
            )
        return Collected(drafts=drafts, validators=result.validators, warnings=warnings)


def iter_records(stream: BinaryIO) -> Iterator[dict[str, Any]]:
    """Each topic/tender object, streamed; ParseError on broken JSON or a file of another shape."""
    count = 0
    try:
        for record in ijson.items(stream, ITEMS_PREFIX, use_float=True):
            count += 1
            if isinstance(record, dict):
                yield record
    except ijson.JSONError as exc:
        raise ParseError(f"grantsTenders.json is not valid JSON after {count} records: {exc}") from None
    if count == 0:
        raise ParseError(f"no records at '{ITEMS_PREFIX}': not a grantsTenders.json reference file")


def parse_reference_file(
    path: Path, *, source: SourceConfig, today: date
) -> tuple[list[ItemDraft], list[str]]:
    """Drafts for the wanted types (closed ones only if the source asks) from a downloaded file."""
    options = source.options if isinstance(source.options, GrantsTendersOptions) else GrantsTendersOptions()
    drafts: list[ItemDraft] = []
    warnings: list[str] = []
    with path.open("rb") as stream:
        for record in iter_records(stream):
            if record.get("type") not in options.types:
                continue
            identifier = record.get("identifier")
            if not isinstance(identifier, str) or not identifier:
                warnings.append(f"record without identifier skipped: {str(record.get('title'))[:80]!r}")
                continue
            draft = record_to_draft(record, source=source, today=today)
            if draft.extra["status"] != CLOSED or options.include_closed:
                drafts.append(draft)
    return drafts, warnings


def _abbreviation(value: object) -> str | None:
    if isinstance(value, dict) and value.get("abbreviation"):
        return str(value["abbreviation"])
    return None


def _link(record: dict[str, Any], identifier: str) -> str:
    """Grant topics have a topic page; tenders (ids with slashes) link to their eTendering notice."""
    own = record.get("url")
    if record.get("type") == 0 and isinstance(own, str) and own.startswith("https://"):
        return own
    return topic_link(identifier)


def record_to_draft(record: dict[str, Any], *, source: SourceConfig, today: date) -> ItemDraft:
    """One reference record as a draft; deadlines are epoch milliseconds, possibly several."""
    identifier = str(record["identifier"])
    moments = [epoch_ms_to_datetime(v) for v in record.get("deadlineDatesLong") or []]
    deadlines = sorted({deadline_date(m) for m in moments if m is not None})
    opening_at = epoch_ms_to_datetime(record.get("plannedOpeningDateLong"))
    opening = deadline_date(opening_at) if opening_at else None
    programme = _abbreviation(record.get("frameworkProgramme"))
    extra: dict[str, Any] = {
        "status": status_from_deadlines(deadlines=deadlines, opening=opening, today=today),
        "portal_status": str((record.get("status") or {}).get("abbreviation") or "").lower() or None,
        "ft_type": ft_type_name(record.get("type")),
        "call_identifier": record.get("callIdentifier"),
        "call_title": record.get("callTitle"),
        "opening_date": opening.isoformat() if opening else None,
        "tags": [str(t) for t in record.get("tags") or []],
        "keywords": [str(k) for k in record.get("keywords") or []],
    }
    for key in ("contractingAuthority", "procedureType", "contractType"):
        if record.get(key):
            extra[key] = record[key]
    return ItemDraft(
        source_id=source.id,
        guid=identifier,
        url=_link(record, identifier),
        title=str(record.get("title") or identifier).strip(),
        text=str(record.get("descriptionTender") or ""),
        published=epoch_ms_to_datetime(record.get("publicationDateLong")),
        identifier=identifier,
        deadlines=deadlines,
        language="en",
        kind_hint=source.kind or "call",
        programmes=[programme] if programme else [],
        extra=extra,
    )
