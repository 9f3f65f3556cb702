"""Recording what happened to a leased row: send outcomes, back-off, hard bounces, admin decisions.

Every transition is a guarded UPDATE, so a row that changed hands (recovered as ``unknown``,
cancelled by an admin) is never overwritten by a stale sender. Re-exported by
:mod:`subscribers.outbox`.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import Integer, column, text, update
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from subscribers.outbox_model import CLAIMABLE, OUTBOX, Claimed, OutboxMessage, Outcome
from watcher.settings import Settings


def rowcount(result: object) -> int:
    """Rows an UPDATE touched (typed access; SQLAlchemy's Result hides it from mypy)."""
    return int(getattr(result, "rowcount", 0))


def retry_delay(attempts: int, *, base_s: float, max_s: float, rng: random.Random | None = None) -> float:
    """Exponential back-off with jitter: half the step is fixed, half random, so retries spread out."""
    step = min(max_s, base_s * (2 ** max(0, attempts - 1)))
    return step / 2 + (rng or random).uniform(0, step / 2)


def record(
    session: Session,
    *,
    claimed: Claimed,
    outcome: Outcome,
    worker_id: str,
    now: datetime,
    settings: Settings,
) -> str:
    """Store the outcome of one attempt (guarded by the lease owner); returns the row's new state.

    A row an impatient ``recover_stale`` already marked ``unknown`` still takes a real outcome from
    its owner: knowing beats guessing.
    """
    table = OUTBOX
    values: dict[str, object] = {
        "smtp_code": outcome.code,
        "last_error": outcome.detail[:2000] or None,
        "lease_until": None,
    }
    state: str = outcome.status
    if outcome.status == "sent":
        values.update(sent_at=now, last_error=None)
    elif outcome.status == "retry":
        if claimed.attempts >= settings.mail_max_attempts:
            state = "failed"
            values["last_error"] = f"gave up after {claimed.attempts} attempts: {outcome.detail}"[:2000]
        else:
            delay = retry_delay(
                claimed.attempts, base_s=settings.mail_retry_base_s, max_s=settings.mail_retry_max_s
            )
            values["next_attempt_at"] = now + timedelta(seconds=delay)
    values["state"] = state
    result = session.execute(update(table).where(*_still_ours([claimed.id], worker_id)).values(**values))
    if rowcount(result) == 1 and outcome.bounce and claimed.subscriber_id is not None:
        count_hard_bounce(session, subscriber_id=claimed.subscriber_id, limit=settings.hard_bounce_limit)
    return state


def record_sent(session: Session, *, ids: list[int], code: int | None, worker_id: str, now: datetime) -> None:
    """:func:`record` of many ``sent`` outcomes with the same reply code, as one guarded UPDATE:
    a drain records hundreds of them a second, and one statement per row was most of its database work."""
    if not ids:
        return
    session.execute(
        update(OUTBOX)
        .where(*_still_ours(ids, worker_id))
        .values(state="sent", sent_at=now, smtp_code=code, last_error=None, lease_until=None)
    )


def _still_ours(ids: list[int], worker_id: str) -> list[ColumnElement[bool]]:
    """Rows ``ids`` if still leased to ``worker_id`` (``unknown`` included: see :func:`record`)."""
    table = OUTBOX
    return [table.c.id.in_(ids), table.c.lease_owner == worker_id, table.c.state.in_(("sending", "unknown"))]


def count_hard_bounce(session: Session, *, subscriber_id: int, limit: int) -> None:
    """One more hard bounce; at ``limit`` the subscriber is suppressed and their queued mail cancelled."""
    session.execute(
        text(
            "UPDATE subscriber SET hard_bounces = hard_bounces + 1, "
            "status = CASE WHEN hard_bounces + 1 >= :limit THEN 'suppressed' ELSE status END "
            "WHERE id = :id"
        ),
        {"limit": limit, "id": subscriber_id},
    )
    cancel_suppressed(session, subscriber_id=subscriber_id)


def cancel_suppressed(session: Session, *, subscriber_id: int | None = None) -> int:
    """Queued mail of suppressed subscribers is cancelled rather than sent into a known bounce."""
    table = OUTBOX
    suppressed = text("SELECT id FROM subscriber WHERE status = 'suppressed'").columns(column("id", Integer))
    condition: list[ColumnElement[bool]] = [
        table.c.state.in_(CLAIMABLE),
        table.c.subscriber_id.in_(suppressed.subquery().select()),
    ]
    if subscriber_id is not None:
        condition.append(table.c.subscriber_id == subscriber_id)
    result = session.execute(
        update(table).where(*condition).values(state="cancelled", last_error="subscriber suppressed")
    )
    return rowcount(result)


# Admin transitions: action -> (states it applies to, new state, note).
ADMIN_ACTIONS: dict[str, tuple[tuple[str, ...], str, str | None]] = {
    "retry": (("failed", "retry", "cancelled"), "pending", None),
    "cancel": (("pending", "retry", "failed", "unknown"), "cancelled", "cancelled by an admin"),
    "resolve-sent": (("unknown",), "sent", "marked sent by an admin after an unknown outcome"),
    "resolve-resend": (("unknown",), "pending", None),
}


def admin_action(session: Session, *, message_id: int, action: str, now: datetime) -> OutboxMessage:
    """Apply an admin decision; raises ValueError (with the reason) when the row's state forbids it."""
    if action not in ADMIN_ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    allowed, new_state, note = ADMIN_ACTIONS[action]
    row = session.get(OutboxMessage, message_id)
    if row is None:
        raise ValueError(f"no outbox message with id {message_id}")
    if row.state not in allowed:
        raise ValueError(f"message {message_id} is {row.state}; {action} applies to {', '.join(allowed)}")
    row.state = new_state
    row.last_error = note
    row.lease_owner = row.lease_until = row.handed_at = None
    if new_state == "pending":
        row.attempts = 0
        row.next_attempt_at = now
    if new_state == "sent":
        row.sent_at = now
    session.add(row)
    session.flush()
    return row
