"""The outbox table and its state machine, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import socket
import threading
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from subscribers.outbox import (
    OUTBOX_BODY,
    OutboxMessage,
    Outcome,
    admin_action,
    claim,
    enqueue,
    mark_handed,
    record,
    recover_stale,
    recover_stale_counts,
    release,
    retry_delay,
)
from tests.subscribers.factories import Queued, outbox
from tests.support.outbox_data import add_subscriber, message, queue, subscriber_state
from watcher.models import utcnow
from watcher.settings import get_settings


def _rows(engine: Engine) -> list[Queued]:
    with Session(engine) as session:
        return outbox(session)


def _claim(engine: Engine, worker: str = "w", limit: int = 10, lease_s: float = 60.0) -> list[int]:
    with Session(engine) as session:
        rows = claim(session, worker_id=worker, limit=limit, lease_s=lease_s, now=utcnow())
        session.commit()
    return [row.id for row in rows]


def test_enqueue_is_idempotent_per_subscriber_and_key(engine: Engine) -> None:
    sid = add_subscriber(engine, "anna@example.eu")
    assert queue(engine, to="anna@example.eu", key="digest:weekly:2026-W47", subscriber_id=sid) is True
    assert queue(engine, to="anna@example.eu", key="digest:weekly:2026-W47", subscriber_id=sid) is False
    assert queue(engine, to="anna@example.eu", key="digest:weekly:2026-W48", subscriber_id=sid) is True
    assert len(_rows(engine)) == 2


def test_enqueue_without_subscriber_dedups_by_address(engine: Engine) -> None:
    assert queue(engine, to="Admin@Example.eu", key="report:2026-11-22") is True
    assert queue(engine, to="admin@example.eu", key="report:2026-11-22") is False
    assert queue(engine, to="other@example.eu", key="report:2026-11-22") is True
    assert [row.recipient_key for row in _rows(engine)] == ["addr:admin@example.eu", "addr:other@example.eu"]


def test_enqueue_completes_headers_and_stores_smtp_bytes(engine: Engine) -> None:
    queue(engine, to="Anna Rossi <anna@example.eu>", key="k")
    row = _rows(engine)[0]
    assert row.recipient == "anna@example.eu" and row.state == "pending" and row.attempts == 0
    assert row.message_id.startswith("<") and row.message_id.encode() in row.raw
    assert b"\r\nDate: " in row.raw and b"From: Cluster Watch <noreply@clusterwatch.local>" in row.raw
    assert b"\r\n" in row.raw and b"\n" not in row.raw.replace(b"\r\n", b"")


def test_enqueue_refuses_a_message_without_exactly_one_recipient(engine: Engine) -> None:
    two = message("a@example.eu, b@example.eu")
    with Session(engine) as session, pytest.raises(ValueError, match="exactly one To"):
        enqueue(session, subscriber_id=None, message_key="k", kind="admin", message=two)


def test_claim_leases_due_rows_once(engine: Engine) -> None:
    for n in range(3):
        queue(engine, to=f"u{n}@example.eu", key="k")
    first = _claim(engine, "w1", limit=2)
    assert len(first) == 2
    assert _claim(engine, "w2", limit=10) == [max(row.id for row in _rows(engine))]
    assert _claim(engine, "w3") == []
    rows = _rows(engine)
    assert {row.state for row in rows} == {"sending"} and {row.attempts for row in rows} == {1}
    assert {row.lease_owner for row in rows if row.id in first} == {"w1"}


def test_concurrent_claims_take_disjoint_rows(engine: Engine) -> None:
    for n in range(40):
        queue(engine, to=f"u{n}@example.eu", key="k")
    results: dict[str, list[int]] = {}

    def worker(name: str) -> None:
        got: list[int] = []
        while ids := _claim(engine, name, limit=3):
            got += ids
        results[name] = got

    threads = [threading.Thread(target=worker, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [i for ids in results.values() for i in ids]
    assert sorted(every) == sorted(row.id for row in _rows(engine))


def _record(engine: Engine, outcome: Outcome, *, limit: int = 10) -> list[str]:
    states = []
    with Session(engine) as session:
        for row in claim(session, worker_id="w", limit=limit, lease_s=60, now=utcnow()):
            states.append(
                record(
                    session,
                    claimed=row,
                    outcome=outcome,
                    worker_id="w",
                    now=utcnow(),
                    settings=get_settings(),
                )
            )
        session.commit()
    return states


def test_a_retry_waits_for_its_back_off(engine: Engine) -> None:
    queue(engine, to="a@example.eu", key="k")
    settings = get_settings()
    assert _record(engine, Outcome("retry", 451, "busy")) == ["retry"]
    row = _rows(engine)[0]
    assert row.state == "retry" and row.smtp_code == 451 and row.last_error == "busy"
    assert row.next_attempt_at > utcnow() + timedelta(seconds=settings.mail_retry_base_s / 2 - 5)
    assert _claim(engine) == []


def test_retries_stop_at_max_attempts(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHER_MAIL_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("WATCHER_MAIL_RETRY_BASE_S", "0")
    get_settings.cache_clear()
    queue(engine, to="a@example.eu", key="k")
    assert _record(engine, Outcome("retry", 450, "mailbox busy")) == ["retry"]
    assert _record(engine, Outcome("retry", 450, "mailbox busy")) == ["failed"]
    row = _rows(engine)[0]
    assert (
        row.state == "failed" and row.attempts == 2 and "gave up after 2 attempts" in (row.last_error or "")
    )


def test_hard_bounces_suppress_the_subscriber_and_cancel_queued_mail(engine: Engine) -> None:
    sid = add_subscriber(engine, "gone@example.eu")
    limit = get_settings().hard_bounce_limit
    for n in range(limit):
        queue(engine, to="gone@example.eu", key=f"alert:{n}", subscriber_id=sid)
        assert _record(engine, Outcome("failed", 550, "no such user", bounce=True), limit=1) == ["failed"]
        assert subscriber_state(engine, sid) == ("active" if n + 1 < limit else "suppressed", n + 1)
    queue(engine, to="gone@example.eu", key="digest:later", subscriber_id=sid)
    queue(engine, to="gone@example.eu", key="digest:later2", subscriber_id=sid)
    from subscribers.outbox import cancel_suppressed

    with Session(engine) as session:
        assert cancel_suppressed(session) == 2
        session.commit()
    assert _claim(engine) == []


def _hand(engine: Engine, ids: list[int], worker: str) -> None:
    with Session(engine) as session:
        assert mark_handed(session, ids=ids, worker_id=worker, now=utcnow()) == set(ids)
        session.commit()


def test_recover_stale_marks_interrupted_transactions_unknown(engine: Engine) -> None:
    for n in range(5):
        queue(engine, to=f"u{n}@example.eu", key="k")
    dead = f"{socket.gethostname()}:999999999:dead"
    [expired] = _claim(engine, "w", limit=1, lease_s=-1)
    _hand(engine, [expired], "w")
    orphans = _claim(engine, dead, limit=2)
    _hand(engine, orphans[:1], dead)
    [alive] = _claim(engine, "otherhost:1:x", limit=1)
    _hand(engine, [alive], "otherhost:1:x")
    [idle] = _claim(engine, "w", limit=1, lease_s=-1)
    with Session(engine) as session:
        assert recover_stale_counts(session, now=utcnow()) == (2, 2)
        session.commit()
    states = {row.id: (row.state, row.attempts) for row in _rows(engine)}
    assert states == {
        expired: ("unknown", 1),
        orphans[0]: ("unknown", 1),
        orphans[1]: ("pending", 0),  # leased by a dead sender but never attempted: queued again
        alive: ("sending", 1),
        idle: ("pending", 0),
    }
    with Session(engine) as session:
        assert recover_stale(session, now=utcnow()) == 0


def test_a_row_taken_away_cannot_be_marked_handed(engine: Engine) -> None:
    queue(engine, to="a@example.eu", key="k")
    ids = _claim(engine, "w", lease_s=-1)
    with Session(engine) as session:
        recover_stale(session, now=utcnow())  # lease over, never handed: back to pending
        assert mark_handed(session, ids=ids, worker_id="w", now=utcnow()) == set()
        session.commit()


def test_release_gives_rows_back_without_counting_an_attempt(engine: Engine) -> None:
    queue(engine, to="a@example.eu", key="k")
    ids = _claim(engine, "w")
    with Session(engine) as session:
        assert release(session, ids=ids, worker_id="someone-else") == 0
        assert release(session, ids=ids, worker_id="w") == 1
        session.commit()
    row = _rows(engine)[0]
    assert (row.state, row.attempts, row.lease_owner) == ("pending", 0, None)


def test_admin_actions_follow_the_state_machine(engine: Engine) -> None:
    queue(engine, to="a@example.eu", key="k")
    _hand(engine, _claim(engine, "w", lease_s=-1), "w")
    row_id = _rows(engine)[0].id
    assert row_id is not None
    with Session(engine) as session:
        recover_stale(session, now=utcnow())
        with pytest.raises(ValueError, match="retry applies to"):
            admin_action(session, message_id=row_id, action="retry", now=utcnow())
        row = admin_action(session, message_id=row_id, action="resolve-sent", now=utcnow())
        assert row.state == "sent" and row.sent_at is not None
        with pytest.raises(ValueError, match="resolve-resend applies to unknown"):
            admin_action(session, message_id=row_id, action="resolve-resend", now=utcnow())
        with pytest.raises(ValueError, match="no outbox message"):
            admin_action(session, message_id=row_id + 100, action="cancel", now=utcnow())
        session.commit()


def test_retry_delay_grows_exponentially_with_bounded_jitter() -> None:
    rng = random.Random(7)
    for attempts in range(1, 12):
        step = min(3600.0, 60.0 * 2 ** (attempts - 1))
        delay = retry_delay(attempts, base_s=60.0, max_s=3600.0, rng=rng)
        assert step / 2 <= delay <= step


def test_a_row_whose_bytes_are_gone_fails_with_the_reason_and_the_rest_is_claimed(engine: Engine) -> None:
    queue(engine, to="a@example.eu", key="k1")
    queue(engine, to="b@example.eu", key="k2")
    damaged, intact = (row.id for row in _rows(engine))
    with Session(engine) as session:  # a damaged database: the message bytes of one row are gone
        session.execute(OUTBOX_BODY.delete().where(OUTBOX_BODY.c.outbox_id == damaged))
        session.commit()
    assert _claim(engine) == [intact]
    with Session(engine) as session:
        row = session.get(OutboxMessage, damaged)
        assert row is not None and row.state == "failed" and row.last_error == "message bytes missing"
    assert _claim(engine) == []  # not claimed again
