"""Time travel: digests are due at each subscriber's local weekday and hour, once per period."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session

from subscribers.digest import send_due_digests
from subscribers.models import Subscriber
from subscribers.schedule import due_period, latest_period
from tests.subscribers.factories import make_item, make_subscriber, outbox

ROME = ZoneInfo("Europe/Rome")


def rome(*args: int) -> datetime:
    return datetime(*args, tzinfo=ROME).astimezone(UTC)  # type: ignore[misc]


def weekly_subscriber(**values: object) -> Subscriber:
    defaults: dict[str, object] = {
        "email": "a@example.org",
        "status": "active",
        "timezone": "Europe/Rome",
        "frequency": "weekly",
        "digest_weekday": 0,
        "digest_hour": 8,
        "created_at": rome(2026, 11, 22, 10, 0),
        "confirmed_at": rome(2026, 11, 22, 10, 0),
    }
    defaults.update(values)
    return Subscriber(**defaults)


def test_weekly_monday_eight_in_rome() -> None:
    subscriber = weekly_subscriber()  # joined Sunday 22 Nov 2026
    assert due_period(subscriber, rome(2026, 11, 22, 23, 0)) is None  # Sunday: not due
    assert due_period(subscriber, rome(2026, 11, 23, 7, 59)) is None
    period = due_period(subscriber, rome(2026, 11, 23, 8, 5))
    assert period is not None and period.key == "digest:weekly:2026-W48"
    assert period.occurrence == rome(2026, 11, 23, 8, 0)
    subscriber.last_digest_key = period.key
    assert due_period(subscriber, rome(2026, 11, 23, 8, 10)) is None
    assert due_period(subscriber, rome(2026, 11, 29, 23, 59)) is None  # same week, Sunday
    nxt = due_period(subscriber, rome(2026, 11, 30, 8, 0))
    assert nxt is not None and nxt.key == "digest:weekly:2026-W49"


def test_late_scheduler_catches_up_within_the_period() -> None:
    subscriber = weekly_subscriber(created_at=rome(2026, 11, 1, 9), confirmed_at=rome(2026, 11, 1, 9))
    period = due_period(subscriber, rome(2026, 11, 25, 14, 0))  # Wednesday, Monday's run was missed
    assert period is not None and period.key == "digest:weekly:2026-W48"


def test_local_hour_follows_the_subscribers_timezone_and_dst() -> None:
    tokyo = weekly_subscriber(timezone="Asia/Tokyo", created_at=rome(2026, 1, 1, 0), confirmed_at=None)
    assert latest_period(tokyo, datetime(2026, 11, 22, 23, 30, tzinfo=UTC)).occurrence == datetime(
        2026, 11, 22, 23, 0, tzinfo=UTC
    )  # Monday 08:00 in Tokyo is Sunday 23:00 UTC
    summer = weekly_subscriber(created_at=rome(2026, 1, 1, 0))
    assert latest_period(summer, rome(2026, 7, 6, 9, 0)).occurrence == datetime(2026, 7, 6, 6, 0, tzinfo=UTC)


def test_daily_and_weekday_choice() -> None:
    daily = weekly_subscriber(frequency="daily", digest_hour=18)
    assert due_period(daily, rome(2026, 11, 22, 17, 59)) is None
    period = due_period(daily, rome(2026, 11, 22, 18, 1))
    assert period is not None and period.key == "digest:daily:2026-11-22"
    friday = weekly_subscriber(digest_weekday=4, created_at=rome(2026, 11, 1, 0), confirmed_at=None)
    assert latest_period(friday, rome(2026, 11, 22, 12, 0)).occurrence == rome(2026, 11, 20, 8, 0)


def test_force_ignores_the_clock_but_not_a_sent_period() -> None:
    subscriber = weekly_subscriber()
    period = due_period(subscriber, rome(2026, 11, 22, 23, 0), force=True)
    assert period is not None and period.key == "digest:weekly:2026-W47"
    subscriber.last_digest_key = period.key
    assert due_period(subscriber, rome(2026, 11, 22, 23, 30), force=True) is None


def test_inactive_or_non_digest_subscribers_are_never_due() -> None:
    for values in (
        {"status": "paused"},
        {"status": "pending"},
        {"frequency": "instant"},
        {"frequency": "off"},
    ):
        assert due_period(weekly_subscriber(**values), rome(2026, 11, 30, 9), force=True) is None


def test_same_digest_job_twice_sends_nothing_the_second_time(engine: Engine) -> None:
    with Session(engine) as session:
        make_subscriber(session, "one@example.org", joined=rome(2026, 11, 22, 10, 0))
        make_subscriber(session, "two@example.org", joined=rome(2026, 11, 22, 10, 0), ecosystems=["tourism"])
        make_item(session, title="Health call", first_seen_at=rome(2026, 11, 22, 12, 0))
    sunday, monday = rome(2026, 11, 22, 23, 0), rome(2026, 11, 23, 8, 5)
    assert send_due_digests(engine, now=sunday).queued == 0
    first = send_due_digests(engine, now=monday)
    assert (first.queued, first.empty, first.errors) == (1, 1, 0)
    second = send_due_digests(engine, now=monday)
    assert (second.queued, second.not_due, second.errors) == (0, 2, 0)
    forced = send_due_digests(engine, now=monday, force_all=True)
    assert forced.queued == 0
    with Session(engine) as session:
        rows = outbox(session, "digest")
    assert [(r.recipient, r.message_key) for r in rows] == [("one@example.org", "digest:weekly:2026-W48")]


def test_dry_run_queues_nothing_and_force_sends_now(engine: Engine) -> None:
    with Session(engine) as session:
        make_subscriber(session, "one@example.org", joined=rome(2026, 11, 22, 10, 0))
        make_item(session, title="Health call", first_seen_at=rome(2026, 11, 22, 12, 0))
    sunday = rome(2026, 11, 22, 23, 0)
    dry = send_due_digests(engine, now=sunday, force_all=True, dry_run=True)
    assert (dry.would_send, dry.queued) == (1, 0)
    assert send_due_digests(engine, now=sunday, force_all=True).queued == 1
    assert send_due_digests(engine, now=sunday, force_all=True).queued == 0
    with Session(engine) as session:
        assert [r.message_key for r in outbox(session, "digest")] == ["digest:weekly:2026-W47"]
