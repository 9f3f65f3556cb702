"""The outbox: one row per message, unique per (recipient, message key), with a send state machine.

A message becomes a row *before* any SMTP traffic, in the caller's transaction, so "we decided to
send X to Y" and "X to Y is queued" commit together and running a job twice queues nothing new.

States::

    pending ─claim─► sending ─250─► sent
       ▲               ├─4xx/552/connection error before DATA─► retry ─(next_attempt_at)─► claim again
       │               ├─5xx─► failed (+ hard bounce on the subscriber)
       │               └─reply lost after the payload, or the sender died─► unknown (admin decides)
    cancelled (admin, or subscriber suppressed)

Uniqueness: ``recipient_key`` is ``"sub:<id>"`` for subscriber mail and ``"addr:<lower-cased email>"``
for admin/system mail (no subscriber); ``UNIQUE(recipient_key, message_key)`` therefore holds for
both, which a plain ``UNIQUE(subscriber_id, message_key)`` would not (NULLs never collide).

The drain (:mod:`subscribers.drain`) calls :func:`claim`, :func:`mark_handed`, sends, then
:func:`record`; admins use :func:`admin_action`. Every transition is a guarded UPDATE
(``WHERE state = ... AND lease_owner = ...``), so two processes never both believe they own a row.
A leased row whose SMTP transaction never started (``handed_at`` empty) is safe to give back; one
whose transaction started is ``unknown`` if its sender vanishes.
"""

from __future__ import annotations

import os
import random
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid, parseaddr
from typing import TYPE_CHECKING, Literal

import psutil
from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Table,
    Text,
    UniqueConstraint,
    column,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Field, Session, SQLModel

from watcher.models import utcnow
from watcher.settings import Settings, get_settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from subscribers.drain import DrainReport

STATES = ("pending", "sending", "sent", "retry", "failed", "unknown", "cancelled")
CLAIMABLE = ("pending", "retry")


class OutboxMessage(SQLModel, table=True):
    """One message to one recipient; the full RFC 5322 bytes are stored so a resend is identical."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("recipient_key", "message_key", name="uq_outbox_recipient_message"),
        Index("ix_outbox_state_next", "state", "next_attempt_at"),
        Index("ix_outbox_sent_at", "sent_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    subscriber_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("subscriber.id", ondelete="CASCADE"), nullable=True, index=True),
    )
    recipient_key: str = Field(max_length=340, description="sub:<id> or addr:<email>; unique with the key.")
    message_key: str = Field(max_length=300, description="Idempotency key, e.g. digest:2026-W47.")
    kind: str = Field(max_length=30, description="digest | alert | reminder | confirm | admin ...")
    recipient: str = Field(max_length=320, description="Envelope recipient (RCPT TO).")
    subject: str = Field(sa_column=Column(Text, nullable=False))
    message_id: str = Field(max_length=300, description="The Message-ID header, to trace a message.")
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    state: str = Field(default="pending", max_length=12, description=" | ".join(STATES))
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    lease_owner: str | None = Field(default=None, max_length=200)
    lease_until: datetime | None = None
    handed_at: datetime | None = Field(default=None, description="When the current SMTP attempt started.")
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    smtp_code: int | None = None
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None


OUTBOX: Table = OutboxMessage.__table__  # type: ignore[attr-defined]  # SQLModel sets it at class creation


def recipient_key(subscriber_id: int | None, recipient: str) -> str:
    return f"sub:{subscriber_id}" if subscriber_id is not None else f"addr:{recipient.lower()}"


def _single_recipient(message: EmailMessage) -> str:
    addresses = [addr for _name, addr in getaddresses(message.get_all("To", [])) if addr]
    if len(addresses) != 1:
        raise ValueError(f"an outbox message needs exactly one To address, got {len(addresses)}")
    return addresses[0]


def _complete_headers(message: EmailMessage) -> None:
    """Fill the headers a resend must keep identical: Message-ID, Date, From."""
    if message["From"] is None:
        message["From"] = get_settings().mail_from
    if message["Date"] is None:
        message["Date"] = format_datetime(utcnow())
    if message["Message-ID"] is None:
        domain = parseaddr(get_settings().mail_from)[1].rpartition("@")[2] or "clusterwatch.local"
        message["Message-ID"] = make_msgid(idstring=uuid.uuid4().hex[:12], domain=domain)


def enqueue(
    session: Session, *, subscriber_id: int | None, message_key: str, kind: str, message: EmailMessage
) -> bool:
    """Queue ``message`` unless (recipient, message_key) is already queued; True if newly queued.

    Runs in the caller's transaction (the caller commits) and never raises on a duplicate: the
    database decides with ``INSERT ... ON CONFLICT DO NOTHING``, so two concurrent jobs cannot both win.
    """
    if not message_key:
        raise ValueError("message_key must not be empty")
    recipient = _single_recipient(message)
    _complete_headers(message)
    row = {
        "subscriber_id": subscriber_id,
        "recipient_key": recipient_key(subscriber_id, recipient),
        "message_key": message_key,
        "kind": kind,
        "recipient": recipient,
        "subject": str(message["Subject"] or ""),
        "message_id": str(message["Message-ID"]).strip(),
        "raw": message.as_bytes(policy=policy.SMTP),
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": utcnow(),
        "created_at": utcnow(),
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(OUTBOX).values(**row).on_conflict_do_nothing().returning(OUTBOX.c.id)
    return session.execute(statement).first() is not None


def worker_identity() -> str:
    """``host:pid:nonce``: lets a restarted drain on the same host see that a lease holder died."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _owner_is_dead(owner: str | None) -> bool:
    """True only when the owner ran on this host and its process is gone (so its lease means nothing)."""
    if not owner:
        return True
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    return not psutil.pid_exists(int(pid_text))


def recover_stale(session: Session, *, now: datetime) -> int:
    """Rows left in ``sending`` by a sender that died or overran its lease; returns how many became unknown.

    A row whose SMTP transaction had started (``handed_at`` set) may or may not have reached the
    server, so it becomes ``unknown`` and is never resent blindly: an admin resolves it (``watcher
    outbox resolve ID --sent|--resend``); its lease owner is kept so the original sender, if in fact
    alive, can still record the real outcome. A row that was only leased goes back to ``pending``.
    """
    return recover_stale_counts(session, now=now)[0]


def recover_stale_counts(session: Session, *, now: datetime) -> tuple[int, int]:
    """(rows marked unknown, leased-but-never-handed rows put back to pending)."""
    table = OUTBOX
    rows = session.execute(
        select(table.c.id, table.c.lease_owner, table.c.lease_until, table.c.handed_at).where(
            table.c.state == "sending"
        )
    ).all()
    stale = [
        row
        for row in rows
        if (row.lease_until is not None and row.lease_until <= now) or _owner_is_dead(row.lease_owner)
    ]
    handed = [row.id for row in stale if row.handed_at is not None]
    untouched = [row.id for row in stale if row.handed_at is None]
    unknown = released = 0
    if handed:
        unknown = _rowcount(
            session.execute(
                update(table)
                .where(table.c.id.in_(handed), table.c.state == "sending")
                .values(
                    state="unknown",
                    last_error="sender stopped while the message was in flight; "
                    "delivery unknown, resolve with `watcher outbox resolve`",
                )
            )
        )
    if untouched:
        released = _rowcount(
            session.execute(
                update(table)
                .where(table.c.id.in_(untouched), table.c.state == "sending", table.c.handed_at.is_(None))
                .values(state="pending", lease_owner=None, lease_until=None, attempts=table.c.attempts - 1)
            )
        )
    return unknown, released


def _rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0))


def mark_handed(session: Session, *, ids: list[int], worker_id: str, now: datetime) -> set[int]:
    """Record that SMTP transactions for ``ids`` start now; only rows still leased to us qualify.

    Must be committed *before* the transactions start: it is what lets a restart tell "maybe
    delivered" (unknown) from "never attempted" (back to pending).
    """
    if not ids:
        return set()
    table = OUTBOX
    rows = session.execute(
        update(table)
        .where(table.c.id.in_(ids), table.c.state == "sending", table.c.lease_owner == worker_id)
        .values(handed_at=now)
        .returning(table.c.id)
    ).all()
    return {row.id for row in rows}


@dataclass(frozen=True)
class Claimed:
    """A leased row, detached from any session: what a sender needs and nothing else."""

    id: int
    subscriber_id: int | None
    message_key: str
    recipient: str
    raw: bytes
    attempts: int
    lease_until: datetime


@dataclass(frozen=True)
class Outcome:
    """What one send attempt ended in; ``bounce`` marks a permanent refusal of the recipient."""

    status: Literal["sent", "retry", "failed", "unknown"]
    code: int | None = None
    detail: str = ""
    bounce: bool = False
    stage: str = ""  # connect | mail | rcpt | data: where it happened (a connect failure pauses the drain)


def claim(session: Session, *, worker_id: str, limit: int, lease_s: float, now: datetime) -> list[Claimed]:
    """Lease up to ``limit`` due rows (``pending``/``retry``) to ``worker_id``; caller commits at once.

    One statement: UPDATE ... WHERE id IN (due rows) RETURNING. PostgreSQL locks the chosen rows
    with ``FOR UPDATE SKIP LOCKED`` so concurrent drains take disjoint sets; SQLite serialises writers.
    """
    if limit <= 0:
        return []
    table = OUTBOX
    due = (
        select(table.c.id)
        .where(table.c.state.in_(CLAIMABLE), table.c.next_attempt_at <= now)
        .order_by(table.c.next_attempt_at, table.c.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    lease_until = now + timedelta(seconds=lease_s)
    statement = (
        update(table)
        .where(table.c.id.in_(due.scalar_subquery()), table.c.state.in_(CLAIMABLE))
        .values(
            state="sending",
            lease_owner=worker_id,
            lease_until=lease_until,
            handed_at=None,
            attempts=table.c.attempts + 1,
        )
        .returning(
            table.c.id,
            table.c.subscriber_id,
            table.c.message_key,
            table.c.recipient,
            table.c.raw,
            table.c.attempts,
        )
    )
    rows = session.execute(statement).all()
    claimed = [
        Claimed(
            id=r.id,
            subscriber_id=r.subscriber_id,
            message_key=r.message_key,
            recipient=r.recipient,
            raw=r.raw,
            attempts=r.attempts,
            lease_until=lease_until,
        )
        for r in rows
    ]
    return sorted(claimed, key=lambda c: c.id)


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
    result = session.execute(
        update(table)
        .where(
            table.c.id == claimed.id,
            table.c.lease_owner == worker_id,
            table.c.state.in_(("sending", "unknown")),
        )
        .values(**values)
    )
    if _rowcount(result) == 1 and outcome.bounce and claimed.subscriber_id is not None:
        count_hard_bounce(session, subscriber_id=claimed.subscriber_id, limit=settings.hard_bounce_limit)
    return state


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
    return _rowcount(result)


def release(session: Session, *, ids: list[int], worker_id: str) -> int:
    """Give leased rows back untouched (no SMTP traffic happened for them): back to the queue as due."""
    if not ids:
        return 0
    table = OUTBOX
    result = session.execute(
        update(table)
        .where(table.c.id.in_(ids), table.c.state == "sending", table.c.lease_owner == worker_id)
        .values(state="pending", lease_owner=None, lease_until=None, attempts=table.c.attempts - 1)
    )
    return _rowcount(result)


def drain_sync(settings: Settings | None = None, *, limit: int | None = None) -> DrainReport:
    """Send every due message now (see :mod:`subscribers.drain`); what the CLI and the scheduler call."""
    from subscribers.drain import drain_sync as run

    return run(settings, limit=limit)


async def drain(
    *,
    settings: Settings,
    engine: Engine,
    worker_id: str,
    limit: int | None = None,
    stop_when_idle: bool = True,
) -> DrainReport:
    """The async drain (see :mod:`subscribers.drain`), re-exported here as part of the outbox contract."""
    from subscribers.drain import drain as run

    return await run(
        settings=settings, engine=engine, worker_id=worker_id, limit=limit, stop_when_idle=stop_when_idle
    )


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


__all__ = [
    "ADMIN_ACTIONS",
    "CLAIMABLE",
    "OUTBOX",
    "STATES",
    "Claimed",
    "OutboxMessage",
    "Outcome",
    "admin_action",
    "cancel_suppressed",
    "claim",
    "count_hard_bounce",
    "drain",
    "drain_sync",
    "enqueue",
    "mark_handed",
    "record",
    "recover_stale",
    "recover_stale_counts",
    "release",
    "retry_delay",
    "worker_identity",
]
