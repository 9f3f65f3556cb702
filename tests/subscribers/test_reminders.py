"""Time travel: deadline reminders go once per (subscriber, call, deadline, lead time)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from subscribers.reminders import due_lead, scan_reminders
from tests.subscribers.factories import day, make_item, make_subscriber, outbox, parsed, text_of
from watcher.models import Item

DEADLINE = day("2026-12-15")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_due_lead_picks_the_smallest_lead_covering_the_days_left() -> None:
    leads = [14, 3]
    assert [due_lead(d, leads) for d in (20, 15, 14, 10, 4, 3, 1, 0, -1)] == [
        None,
        None,
        14,
        14,
        14,
        3,
        3,
        3,
        None,
    ]


def keys(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return [row.message_key for row in outbox(session, "reminder")]


def test_t14_and_t3_once_each_then_none_after_the_deadline(engine: Engine) -> None:
    with Session(engine) as session:
        make_subscriber(session, ecosystems=["health"])
        call = make_item(session, title="Health call", deadline=DEADLINE, deadlines=["2026-12-15"])
        make_item(session, title="Tourism call", ecosystems=["tourism"], deadline=DEADLINE)
        make_item(session, title="News", kind="news", deadline=DEADLINE)
    key14, key3 = f"reminder:{call.id}:2026-12-15:14", f"reminder:{call.id}:2026-12-15:3"
    assert scan_reminders(engine, now=at("2026-11-30T12:00")).queued == 0  # T-15
    assert scan_reminders(engine, now=at("2026-12-01T09:00")).queued == 1  # T-14
    again = scan_reminders(engine, now=at("2026-12-01T10:00"))
    assert (again.queued, again.already_sent) == (0, 1)
    assert scan_reminders(engine, now=at("2026-12-05T09:00")).queued == 0  # T-10: the T-14 one was sent
    assert scan_reminders(engine, now=at("2026-12-12T09:00")).queued == 1  # T-3
    assert scan_reminders(engine, now=at("2026-12-14T09:00")).queued == 0
    assert scan_reminders(engine, now=at("2026-12-16T09:00")).queued == 0  # passed
    assert keys(engine) == [key14, key3]
    with Session(engine) as session:
        messages = [parsed(row) for row in outbox(session, "reminder")]
    assert messages[0]["Subject"] == "Closes in 14 days: Health call"
    assert messages[1]["Subject"] == "Closes in 3 days: Health call"
    assert messages[1]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "Deadline: 15 Dec 2026" in text_of(messages[1])


def test_changed_deadline_earns_a_new_reminder(engine: Engine) -> None:
    with Session(engine) as session:
        make_subscriber(session)
        call = make_item(session, title="Extended", deadline=DEADLINE)
    assert scan_reminders(engine, now=at("2026-12-12T09:00")).queued == 1  # T-3 of 15 Dec
    with Session(engine) as session:
        item = session.get(Item, call.id)
        assert item is not None
        item.deadline = day("2026-12-18")
        session.add(item)
        session.commit()
    # 6 days before the new deadline: the 14-day reminder of the new deadline is due.
    assert scan_reminders(engine, now=at("2026-12-12T10:00")).queued == 1
    assert scan_reminders(engine, now=at("2026-12-13T10:00")).queued == 0
    assert scan_reminders(engine, now=at("2026-12-15T09:00")).queued == 1  # T-3 of 18 Dec
    assert keys(engine) == [
        f"reminder:{call.id}:2026-12-15:3",
        f"reminder:{call.id}:2026-12-18:14",
        f"reminder:{call.id}:2026-12-18:3",
    ]


def test_a_late_scan_sends_only_the_reminder_still_due(engine: Engine) -> None:
    with Session(engine) as session:
        make_subscriber(session, reminder_lead_days=[14, 3])
        make_subscriber(session, "none@example.org", reminder_lead_days=[])
        make_subscriber(session, "paused@example.org").status = "paused"
        session.commit()
        call = make_item(session, deadline=DEADLINE)
    for days in range(2, -2, -1):  # first scan two days before: only the 3-day reminder is still due
        scan_reminders(engine, now=at("2026-12-15T09:00") - timedelta(days=days))
    assert keys(engine) == [f"reminder:{call.id}:2026-12-15:3"]


def test_reminder_day_is_the_subscribers_local_day(engine: Engine) -> None:
    with Session(engine) as session:
        make_subscriber(session, timezone="Europe/Rome", reminder_lead_days=[1])
        make_item(session, deadline=DEADLINE)
    # 23:30 UTC on 13 Dec is already 14 Dec in Rome: one day left.
    assert scan_reminders(engine, now=at("2026-12-13T22:30")).queued == 0
    assert scan_reminders(engine, now=at("2026-12-13T23:30")).queued == 1


def test_a_scan_asks_the_same_few_questions_for_any_number_of_subscribers(engine: Engine) -> None:
    """Candidates, topics and already-queued reminders are loaded once per scan, not per subscriber."""
    from sqlalchemy import event

    with Session(engine) as session:
        make_item(session, title="Health call", deadline=DEADLINE)

    def selects_for(count: int, start: int) -> tuple[int, int]:
        with Session(engine) as session:
            for n in range(count):
                make_subscriber(session, f"r{start + n}@example.org", ecosystems=["health"])
        seen: list[str] = []

        def record(conn: object, cursor: object, statement: str, *args: object) -> None:
            if statement.lstrip().upper().startswith("SELECT"):
                seen.append(statement)

        event.listen(engine, "before_cursor_execute", record)
        try:
            report = scan_reminders(engine, now=at("2026-12-12T09:00"))
        finally:
            event.remove(engine, "before_cursor_execute", record)
        return len(seen), report.queued

    first, queued = selects_for(2, 0)
    assert queued == 2
    second, queued = selects_for(6, 100)
    assert second == first and queued == 6  # the first two are already queued
