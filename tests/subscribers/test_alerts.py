"""Instant alerts: new matching calls of a short window go out as one message, each item once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from subscribers.alerts import flush_alerts
from subscribers.models import AlertLog
from tests.subscribers.factories import make_item, make_subscriber, outbox, parsed, text_of

T = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def test_calls_of_one_window_are_batched_into_one_message(engine: Engine) -> None:
    with Session(engine) as session:
        make_subscriber(session, frequency="instant", ecosystems=["health"])
        make_subscriber(session, "weekly@example.org")  # weekly: no alerts
        first = make_item(session, title="Call one", first_seen_at=T)
        make_item(session, title="Call two", first_seen_at=T + timedelta(minutes=5))
        make_item(session, title="Event", kind="event", first_seen_at=T)
        make_item(session, title="Tourism", ecosystems=["tourism"], first_seen_at=T)
        make_item(session, title="Before joining", first_seen_at=datetime(2026, 10, 1, tzinfo=UTC))
    early = flush_alerts(engine, now=T + timedelta(minutes=10))  # window (15 min) not over yet
    assert (early.queued, early.not_due) == (0, 1)
    report = flush_alerts(engine, now=T + timedelta(minutes=16))
    assert report.queued == 1
    assert flush_alerts(engine, now=T + timedelta(minutes=17)).queued == 0
    with Session(engine) as session:
        rows = outbox(session, "alert")
        assert [r.message_key for r in rows] == [f"alert:{first.id}-2026-11-22T10:00:00+00:00"]
        message = parsed(rows[0])
        assert len(list(session.exec(select(AlertLog)))) == 2
    assert message["Subject"] == "2 new calls in Health"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    body = text_of(message)
    assert "Call one" in body and "Call two" in body and "Event" not in body and "Tourism" not in body


def test_a_later_call_gets_its_own_alert_and_old_ones_are_not_repeated(engine: Engine) -> None:
    with Session(engine) as session:
        make_subscriber(session, frequency="instant", language="it")
        make_item(session, title="Primo bando", first_seen_at=T)
    assert flush_alerts(engine, now=T + timedelta(minutes=20)).queued == 1
    with Session(engine) as session:
        later = make_item(session, title="Secondo bando", first_seen_at=T + timedelta(hours=1))
    assert flush_alerts(engine, now=T + timedelta(hours=1, minutes=1), window_s=0).queued == 1
    with Session(engine) as session:
        rows = outbox(session, "alert")
    assert rows[1].message_key.startswith(f"alert:{later.id}-")
    second = parsed(rows[1])
    assert second["Subject"] == "1 nuovo bando: Secondo bando" and "Primo bando" not in text_of(second)


def test_calls_too_old_are_never_alerted(engine: Engine) -> None:
    with Session(engine) as session:
        make_subscriber(session, frequency="instant")
        make_item(session, title="Stale", first_seen_at=T - timedelta(days=3))
    assert flush_alerts(engine, now=T, window_s=0).queued == 0


def test_a_flush_reads_the_same_few_things_for_any_number_of_subscribers(engine: Engine) -> None:
    """Calls, topics and the alert log are loaded once per flush; per subscriber only writes follow."""
    from sqlalchemy import event

    with Session(engine) as session:
        make_item(session, title="Call one", first_seen_at=T)

    def selects_for(count: int, start: int, now: datetime) -> tuple[int, int]:
        with Session(engine) as session:
            for n in range(count):
                make_subscriber(session, f"i{start + n}@example.org", frequency="instant",
                                joined=datetime(2026, 11, 1, tzinfo=UTC))
        seen: list[str] = []

        def record(conn: object, cursor: object, statement: str, *args: object) -> None:
            if statement.lstrip().upper().startswith("SELECT"):
                seen.append(statement)

        event.listen(engine, "before_cursor_execute", record)
        try:
            report = flush_alerts(engine, now=now, window_s=0)
        finally:
            event.remove(engine, "before_cursor_execute", record)
        return len(seen), report.queued

    first, queued = selects_for(2, 0, T + timedelta(minutes=1))
    assert queued == 2
    second, queued = selects_for(6, 100, T + timedelta(minutes=2))
    assert second == first and queued == 6  # the first two were alerted already
