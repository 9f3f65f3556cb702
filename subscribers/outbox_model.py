"""The outbox table and the small value types passed between the drain, the mailer and the table.

Separate from :mod:`subscribers.outbox` (which re-exports everything here) so the state machine
modules can share the table without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Column, ForeignKey, Index, Integer, LargeBinary, Table, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from watcher.models import utcnow

STATES = ("pending", "sending", "sent", "retry", "failed", "unknown", "cancelled")
CLAIMABLE = ("pending", "retry")


class OutboxMessage(SQLModel, table=True):
    """One message to one recipient; its bytes are in :class:`OutboxBody`, so a resend is identical."""

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


class OutboxBody(SQLModel, table=True):
    """The full RFC 5322 bytes of one outbox message, written once and never updated.

    Kept apart from the row whose state moves: SQLite rewrites a whole record, overflow pages and
    all, whenever an update changes its size, so each state change (leased, handed, sent) rewrote a
    ~40 KiB message three more times into the WAL. PostgreSQL's TOAST avoided that on its own.
    Deleting the outbox row deletes its body (ON DELETE CASCADE).
    """

    __tablename__ = "outbox_body"

    outbox_id: int = Field(
        sa_column=Column(Integer, ForeignKey("outbox.id", ondelete="CASCADE"), primary_key=True)
    )
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


OUTBOX: Table = OutboxMessage.__table__  # type: ignore[attr-defined]  # SQLModel sets it at class creation
OUTBOX_BODY: Table = OutboxBody.__table__  # type: ignore[attr-defined]


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
