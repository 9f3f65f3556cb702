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

Layout: the table and value types live in :mod:`subscribers.outbox_model`, outcome recording and
admin decisions in :mod:`subscribers.outbox_results`; this module re-exports all of it, so callers
import from ``subscribers.outbox`` only.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid, parseaddr
from typing import TYPE_CHECKING

import psutil
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from subscribers.mime import OutgoingMessage
from subscribers.outbox_model import (
    CLAIMABLE,
    OUTBOX,
    OUTBOX_BODY,
    STATES,
    Claimed,
    OutboxBody,
    OutboxMessage,
    Outcome,
)
from subscribers.outbox_results import (
    ADMIN_ACTIONS,
    admin_action,
    cancel_suppressed,
    count_hard_bounce,
    record,
    record_sent,
    retry_delay,
    rowcount,
)
from watcher.models import utcnow
from watcher.settings import Settings, get_settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from subscribers.drain import DrainReport


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


@dataclass(frozen=True, slots=True)
class ToQueue:
    """One message for :func:`enqueue_many`."""

    subscriber_id: int | None
    message_key: str
    kind: str
    message: OutgoingMessage | EmailMessage


def enqueue(
    session: Session,
    *,
    subscriber_id: int | None,
    message_key: str,
    kind: str,
    message: OutgoingMessage | EmailMessage,
) -> bool:
    """Queue ``message`` unless (recipient, message_key) is already queued; True if newly queued.

    ``message`` is an :class:`~subscribers.mime.OutgoingMessage` (subscriber mail, composed as raw
    bytes: stored as is) or a free-form ``EmailMessage`` (admin mail: missing From/Date/Message-ID
    are filled in, then it is serialised for SMTP).

    Runs in the caller's transaction (the caller commits) and never raises on a duplicate: the
    database decides with ``INSERT ... ON CONFLICT DO NOTHING``, so two concurrent jobs cannot both win.
    """
    return bool(enqueue_many(session, [ToQueue(subscriber_id, message_key, kind, message)]))


def enqueue_many(session: Session, entries: list[ToQueue]) -> set[tuple[str, str]]:
    """:func:`enqueue` for many messages at once; returns the (recipient_key,
    message_key) pairs newly queued (the others were queued before, or twice in ``entries``).

    A digest job queues thousands of ~40 KiB messages: one INSERT per message, with its round trip
    through the ORM, was a fifth of the job's time.
    """
    if not entries:
        return set()
    rows: list[dict[str, object]] = []
    bodies: dict[tuple[object, object], bytes] = {}
    for entry in entries:
        row, raw = _row(entry)
        rows.append(row)
        bodies.setdefault((row["recipient_key"], row["message_key"]), raw)  # the first copy wins
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # Many parameter sets with RETURNING: SQLAlchemy's "insertmanyvalues" sends them as multi-row
    # INSERTs from one cached compilation.
    statement = (
        insert(OUTBOX)
        .on_conflict_do_nothing()
        .returning(OUTBOX.c.id, OUTBOX.c.recipient_key, OUTBOX.c.message_key)
    )
    connection = session.connection()
    queued = {(key, message_key): row_id for row_id, key, message_key in connection.execute(statement, rows)}
    if queued:
        bodies_queued = [{"outbox_id": row_id, "raw": bodies[pair]} for pair, row_id in queued.items()]
        connection.execute(OUTBOX_BODY.insert(), bodies_queued)
    return set(queued)


def _row(entry: ToQueue) -> tuple[dict[str, object], bytes]:
    """The outbox row for ``entry`` (without its bytes) and the message bytes for its body row."""
    if not entry.message_key:
        raise ValueError("message_key must not be empty")
    message = entry.message
    if isinstance(message, OutgoingMessage):
        recipient, subject, identifier, raw = (
            message.recipient,
            message.subject,
            message.message_id,
            message.raw,
        )
    else:
        recipient = _single_recipient(message)
        _complete_headers(message)
        subject = str(message["Subject"] or "")
        identifier = str(message["Message-ID"]).strip()
        raw = message.as_bytes(policy=policy.SMTP)
    now = utcnow()
    return {
        "subscriber_id": entry.subscriber_id,
        "recipient_key": recipient_key(entry.subscriber_id, recipient),
        "message_key": entry.message_key,
        "kind": entry.kind,
        "recipient": recipient,
        "subject": subject,
        "message_id": identifier,
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }, raw


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
        unknown = rowcount(
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
        released = rowcount(
            session.execute(
                update(table)
                .where(table.c.id.in_(untouched), table.c.state == "sending", table.c.handed_at.is_(None))
                .values(state="pending", lease_owner=None, lease_until=None, attempts=table.c.attempts - 1)
            )
        )
    return unknown, released


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
            table.c.attempts,
        )
    )
    rows = session.execute(statement).all()
    raw = message_bytes(session, [r.id for r in rows])
    _fail_without_bytes(session, [r.id for r in rows if r.id not in raw])
    claimed = [
        Claimed(
            id=r.id,
            subscriber_id=r.subscriber_id,
            message_key=r.message_key,
            recipient=r.recipient,
            raw=raw[r.id],
            attempts=r.attempts,
            lease_until=lease_until,
        )
        for r in rows
        if r.id in raw
    ]
    return sorted(claimed, key=lambda c: c.id)


def _fail_without_bytes(session: Session, ids: list[int]) -> None:
    """Rows whose stored bytes are gone (only a damaged database has such): ``failed``, with the
    reason, instead of a drain that stops at them every time it claims them."""
    if ids:
        session.execute(
            update(OUTBOX)
            .where(OUTBOX.c.id.in_(ids))
            .values(state="failed", lease_owner=None, lease_until=None, last_error="message bytes missing")
        )


def message_bytes(session: Session, ids: list[int]) -> dict[int, bytes]:
    """The stored RFC 5322 bytes of the outbox rows ``ids``, by row id."""
    if not ids:
        return {}
    body = OUTBOX_BODY
    found = session.execute(select(body.c.outbox_id, body.c.raw).where(body.c.outbox_id.in_(ids)))
    return {row_id: raw for row_id, raw in found}


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
    return rowcount(result)


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


__all__ = [
    "ADMIN_ACTIONS",
    "CLAIMABLE",
    "OUTBOX",
    "OUTBOX_BODY",
    "STATES",
    "Claimed",
    "OutboxBody",
    "OutboxMessage",
    "Outcome",
    "ToQueue",
    "admin_action",
    "cancel_suppressed",
    "claim",
    "count_hard_bounce",
    "drain",
    "drain_sync",
    "enqueue",
    "enqueue_many",
    "mark_handed",
    "message_bytes",
    "record",
    "record_sent",
    "recover_stale",
    "recover_stale_counts",
    "release",
    "retry_delay",
    "worker_identity",
]
