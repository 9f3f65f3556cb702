"""When is a subscriber's digest due, and which period does it cover?

A period is named by the local date (daily) or ISO week (weekly) of its scheduled moment, in the
subscriber's timezone: ``digest:weekly:2026-W47``. The digest for a period is due once the local
scheduled moment has passed, unless the subscriber joined after it (a Sunday sign-up does not get
"last Monday's" digest on Sunday) — a late scheduler still catches up within the period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from subscribers.models import Subscriber
from watcher.settings import get_settings

DIGEST_FREQUENCIES = ("weekly", "daily")


@dataclass(frozen=True, slots=True)
class Period:
    frequency: str
    label: str
    occurrence: datetime  # the scheduled moment, UTC
    length: timedelta

    @property
    def key(self) -> str:
        return f"digest:{self.frequency}:{self.label}"


def as_utc(moment: datetime) -> datetime:
    """Databases may hand back naive datetimes; ours are always UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def zone(subscriber: Subscriber) -> ZoneInfo:
    try:
        return ZoneInfo(subscriber.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(get_settings().timezone)


def local_today(subscriber: Subscriber, now: datetime) -> date:
    return as_utc(now).astimezone(zone(subscriber)).date()


def latest_period(subscriber: Subscriber, now: datetime) -> Period:
    """The most recent scheduled digest moment at or before ``now`` (weekly unless daily)."""
    tz = zone(subscriber)
    local = as_utc(now).astimezone(tz)
    hour = time(min(max(subscriber.digest_hour, 0), 23))
    if subscriber.frequency == "daily":
        day = local.date()
        if datetime.combine(day, hour, tzinfo=tz) > local:
            day -= timedelta(days=1)
        moment = datetime.combine(day, hour, tzinfo=tz)
        return Period("daily", day.isoformat(), moment.astimezone(UTC), timedelta(days=1))
    day = local.date() - timedelta(days=local.weekday()) + timedelta(days=subscriber.digest_weekday % 7)
    if datetime.combine(day, hour, tzinfo=tz) > local:
        day -= timedelta(days=7)
    moment = datetime.combine(day, hour, tzinfo=tz)
    iso = day.isocalendar()
    return Period("weekly", f"{iso.year}-W{iso.week:02d}", moment.astimezone(UTC), timedelta(days=7))


def due_period(subscriber: Subscriber, now: datetime, *, force: bool = False) -> Period | None:
    """The period whose digest should go out now, or None.

    ``force`` (``digest send --now``) ignores the clock but never a period already sent.
    """
    if subscriber.status != "active" or subscriber.frequency not in DIGEST_FREQUENCIES:
        return None
    period = latest_period(subscriber, now)
    if subscriber.last_digest_key == period.key:
        return None
    if force:
        return period
    joined = as_utc(subscriber.confirmed_at or subscriber.created_at)
    return period if period.occurrence >= joined else None
