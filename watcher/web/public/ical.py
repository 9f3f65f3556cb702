"""iCalendar (RFC 5545) documents of deadlines and events.

A single item's .ics is built with the ``icalendar`` object model. Feeds of thousands of events
use ``icalendar`` for the VCALENDAR frame but write each VEVENT as escaped, folded content lines
directly: the object model costs ~0.4 ms per event (3.8 s for 10,000), the writer ~100x less; tests
parse the output back with ``icalendar`` to keep it honest.

Each deadline is an all-day VEVENT "Deadline: <title>"; each event date an all-day VEVENT with the
item's title. UIDs are stable per (item, kind of date, date) so calendar apps update entries in
place when a feed is refreshed, and a moved deadline shows up as a new entry (the old one drops).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from urllib.parse import urlsplit

from icalendar import Calendar, Event


class Dated(Protocol):
    """What a calendar reads of an item (an ``Item`` or a lighter ``queries.CalendarEntry``)."""

    @property
    def id(self) -> int | None: ...
    @property
    def title(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def deadline(self) -> date | None: ...
    @property
    def deadlines(self) -> list[str]: ...
    @property
    def event_date(self) -> date | None: ...
    @property
    def updated_at(self) -> datetime | None: ...
    @property
    def first_seen_at(self) -> datetime | None: ...


DEADLINE_PREFIX = {"en": "Deadline", "it": "Scadenza"}
DESCRIPTION_CHARS = 300  # a calendar entry needs a hint, the page has the rest
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f]")


def _parse_day(value: object) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def item_dates(item: Dated, *, since: date | None = None) -> Iterator[tuple[str, date]]:
    """(``"deadline"`` | ``"event"``, day) pairs of an item, each once, on/after ``since``."""
    seen: set[tuple[str, date]] = set()
    deadlines = [item.deadline, *(_parse_day(d) for d in item.deadlines or [])]
    candidates = [("deadline", d) for d in deadlines if d] + (
        [("event", item.event_date)] if item.event_date else []
    )
    for kind, day in candidates:
        assert day is not None
        if (kind, day) in seen or (since and day < since):
            continue
        seen.add((kind, day))
        yield kind, day


def _stamp(item: Dated) -> datetime:
    when = item.updated_at or item.first_seen_at or datetime.now(UTC)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def build_event(item: Dated, *, kind: str, day: date, base_url: str, language: str) -> Event:
    """One all-day VEVENT for ``item`` on ``day``."""
    event = Event()
    host = urlsplit(base_url).hostname or "clusterwatch.local"
    event.add("uid", f"cw-{item.id}-{kind}-{day:%Y%m%d}@{host}")
    event.add("dtstamp", _stamp(item))
    event.add("dtstart", day)
    event.add("dtend", day + timedelta(days=1))
    title = " ".join(item.title.split())
    summary = f"{DEADLINE_PREFIX.get(language, 'Deadline')}: {title}" if kind == "deadline" else title
    event.add("summary", summary)
    page = f"{base_url.rstrip('/')}/items/{item.id}"
    event.add("url", page)
    text = " ".join((item.text or "").split())[:DESCRIPTION_CHARS]
    event.add("description", f"{text}\n\n{page}\n{item.url}".strip())
    event.add("transp", "TRANSPARENT")
    if kind == "deadline":
        event.add("categories", ["deadline", item.kind])
    else:
        event.add("categories", ["event"])
    return event


def escape_text(value: str) -> str:
    """RFC 5545 TEXT escaping (backslash, semicolon, comma, newline); other controls dropped."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    value = value.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")
    return _CONTROLS.sub("", value)


def fold(line: str, limit: int = 75) -> str:
    """Fold a content line at ``limit`` octets without splitting a UTF-8 sequence."""
    raw = line.encode()
    if len(raw) <= limit:
        return line
    parts: list[bytes] = []
    start, width = 0, limit
    while len(raw) - start > width:
        cut = start + width
        while raw[cut] & 0xC0 == 0x80:  # never cut inside a multi-byte character
            cut -= 1
        parts.append(raw[start:cut])
        start, width = cut, limit - 1  # continuation lines begin with one space
    parts.append(raw[start:])
    return b"\r\n ".join(parts).decode()


def event_lines(item: Dated, *, kind: str, day: date, host: str, base_url: str, language: str) -> str:
    """The same VEVENT as ``build_event``, as folded content lines ending in CRLF."""
    title = " ".join(item.title.split())
    summary = f"{DEADLINE_PREFIX.get(language, 'Deadline')}: {title}" if kind == "deadline" else title
    page = f"{base_url}/items/{item.id}"
    text = " ".join((item.text or "").split())[:DESCRIPTION_CHARS]
    categories = f"deadline,{item.kind}" if kind == "deadline" else "event"
    description = f"{text}\n\n{page}\n{item.url}".strip()
    lines = (
        "BEGIN:VEVENT",
        f"UID:cw-{item.id}-{kind}-{day:%Y%m%d}@{host}",
        f"DTSTAMP:{_stamp(item).astimezone(UTC):%Y%m%dT%H%M%SZ}",
        f"DTSTART;VALUE=DATE:{day:%Y%m%d}",
        f"DTEND;VALUE=DATE:{day + timedelta(days=1):%Y%m%d}",
        fold(f"SUMMARY:{escape_text(summary)}"),
        fold(f"URL:{page}"),
        fold("DESCRIPTION:" + escape_text(description)),
        "TRANSP:TRANSPARENT",
        f"CATEGORIES:{categories}",
        "END:VEVENT",
    )
    return "\r\n".join(lines) + "\r\n"


def single_event_calendar(item: Dated, *, base_url: str, language: str) -> bytes:
    """A calendar with every date of one item (the "add to calendar" link)."""
    calendar = _frame(name=" ".join(item.title.split())[:80])
    for kind, day in item_dates(item):
        calendar.add_component(build_event(item, kind=kind, day=day, base_url=base_url, language=language))
    return bytes(calendar.to_ical())


def _frame(*, name: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", "-//Cluster Watch//Deadlines and events//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("refresh-interval;value=duration", "PT6H")
    calendar.add("x-published-ttl", "PT6H")
    return calendar


def build_calendar(
    items: Iterable[Dated],
    *,
    name: str,
    base_url: str,
    language: str = "en",
    since: date | None = None,
    max_events: int,
) -> bytes:
    """A VCALENDAR of every date of ``items`` (at most ``max_events`` VEVENTs)."""
    frame = _frame(name=name).to_ical().decode()
    head, _, _ = frame.rpartition("END:VCALENDAR")
    host = urlsplit(base_url).hostname or "clusterwatch.local"
    root = base_url.rstrip("/")
    chunks = [head]
    added = 0
    for item in items:
        for kind, day in item_dates(item, since=since):
            if added >= max_events:
                break
            chunks.append(event_lines(item, kind=kind, day=day, host=host, base_url=root, language=language))
            added += 1
    chunks.append("END:VCALENDAR\r\n")
    return "".join(chunks).encode()
