"""Small conversions several adapters share: EU portal links, epoch dates, deadline-based status."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime

import dateparser

TOPIC_URL = (
    "https://ec.europa.eu/info/funding-tenders/opportunities/portal/screen/opportunities/topic-details/{}"
)

# "10 - 12 June 2026" / "10–12/06/2026": keep the first day, which is what an event date means.
_RANGE_RE = re.compile(r"^(\d{1,2})\s*[-–]\s*\d{1,2}((?:\s+\S+\s+|[./])\S*\d{4})")

FORTHCOMING, OPEN, CLOSED = "forthcoming", "open", "closed"


def topic_link(identifier: str) -> str:
    """The human page of an F&T topic (the API's own ``url`` often points at a JSON file)."""
    return TOPIC_URL.format(identifier)


def epoch_ms_to_datetime(value: object) -> datetime | None:
    """Epoch milliseconds (int or numeric string, as grantsTenders.json mixes both) to aware UTC."""
    try:
        millis = int(str(value))
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(millis / 1000, tz=UTC)


def parse_iso_datetime(value: object) -> datetime | None:
    """``2025-04-29T00:00:00.000+0000`` (the search API's format) to aware UTC; None if unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def deadline_date(moment: datetime) -> date:
    """The calendar day of a deadline. The portal stores midnight Brussels time, i.e. the day before
    in UTC (``2023-05-11T02:00+0200``, or 22:00Z); the day users see is the one in Brussels."""
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo("Europe/Brussels")).date()


def status_from_deadlines(*, deadlines: Iterable[date], opening: date | None, today: date) -> str:
    """Open/forthcoming/closed from dates, because the portal's own status field lags behind."""
    days = sorted(set(deadlines))
    if opening is not None and opening > today:
        return FORTHCOMING
    if not days:  # continuous or not yet scheduled: nothing says it has closed
        return OPEN
    return OPEN if days[-1] >= today else CLOSED


def parse_human_date(text: str, *, languages: list[str]) -> datetime | None:
    """A date as written on a listing page ("12 marzo 2026", "03/04/2026" day first) to aware UTC."""
    text = _RANGE_RE.sub(r"\1\2", " ".join(text.split()))
    if not text:
        return None
    parsed = dateparser.parse(
        text,
        languages=languages,
        settings={
            "DATE_ORDER": "DMY",
            "PREFER_DAY_OF_MONTH": "first",
            "RETURN_AS_TIMEZONE_AWARE": True,
            "TIMEZONE": "UTC",  # a bare date stays that calendar day once converted to UTC
            "TO_TIMEZONE": "UTC",
            "PREFER_DATES_FROM": "current_period",
        },
    )
    return parsed.astimezone(UTC) if parsed is not None else None


# frameworkProgramme ids seen with their abbreviations in grantsTenders.json (the search API only
# gives the id); unknown ids pass through as they are rather than being guessed.
FRAMEWORK_PROGRAMMES = {
    "43108390": "HORIZON",
    "43152860": "DIGITAL",
    "44181033": "EDF",
    "43298664": "AGRIP2027",
}

# F&T ``type``: 0 tender; 1, 2 and 8 grant topics (calls for proposals, cascade calls, prizes).
FT_TYPES = {0: "tender", 1: "grant", 2: "grant", 8: "grant"}
TOPIC_TYPES = frozenset(FT_TYPES)

FT_STATUS_CODES = {31094501: FORTHCOMING, 31094502: OPEN, 31094503: CLOSED}


def ft_type_name(value: object) -> str:
    try:
        code = int(str(value))
    except (TypeError, ValueError):
        return f"type-{value}"
    return FT_TYPES.get(code, f"type-{code}")


def programme_name(value: object) -> str:
    return FRAMEWORK_PROGRAMMES.get(str(value), str(value))
