"""Tables owned by the ingest side: sources' health, items, their history and human corrections.

``watcher`` never imports ``subscribers``; delivery tables live in ``subscribers.models`` and share
this metadata (SQLModel's), so one Alembic history covers both.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Table, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """Aware UTC now; all timestamps are stored in UTC."""
    return datetime.now(UTC)


class SourceState(SQLModel, table=True):
    """What we know of one configured source between rounds: caching validators and health."""

    __tablename__ = "source_state"

    source_id: str = Field(primary_key=True, max_length=100)
    enabled: bool = Field(default=True, description="Admins can switch a source off without editing YAML.")
    etag: str | None = Field(default=None, max_length=500)
    last_modified: str | None = Field(default=None, max_length=100)
    last_attempt_at: datetime | None = None
    last_success_at: datetime | None = None
    consecutive_failures: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    last_status: int | None = None
    items_seen: int = 0
    items_last_round: int = 0
    next_poll_at: datetime | None = None
    lease_owner: str | None = Field(default=None, max_length=200)
    lease_until: datetime | None = None


class Item(SQLModel, table=True):
    """One thing a source published: a call, an event or a news item, classified."""

    __tablename__ = "item"
    __table_args__ = (
        UniqueConstraint("source_id", "guid", name="uq_item_source_guid"),
        Index("ix_item_published", "published_at"),
        Index("ix_item_deadline", "deadline"),
        Index("ix_item_kind_published", "kind", "published_at"),
        Index("ix_item_event_date", "event_date"),  # calendar feeds read events by date
    )

    id: int | None = Field(default=None, primary_key=True)
    # No index of its own: uq_item_source_guid starts with source_id (every index costs each insert).
    source_id: str = Field(max_length=100)
    guid: str = Field(max_length=1000, description="The source's own id for the item (or its URL).")
    identifier: str | None = Field(
        default=None, index=True, max_length=300, description="Portal topic/call identifier."
    )
    url: str = Field(index=True, max_length=2000, description="Canonical URL (tracking params dropped).")
    title: str = Field(sa_column=Column(Text, nullable=False))
    text: str = Field(default="", sa_column=Column(Text, nullable=False), description="Plain text body.")
    content_html: str = Field(default="", sa_column=Column(Text, nullable=False), description="Sanitised.")
    language: str | None = Field(default=None, max_length=8)
    region: str | None = Field(default=None, max_length=100)
    country: str | None = Field(default=None, max_length=8)
    published_at: datetime | None = None
    first_seen_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow, index=True)
    fingerprint: str = Field(max_length=64, description="Hash of normalised title + text (never searched).")
    story_key: str | None = Field(
        default=None, index=True, max_length=300, description="Key that links mirrors of one story."
    )
    story_id: int | None = Field(
        default=None, index=True, description="Item id of the story's primary; None when this is it."
    )

    kind: str = Field(default="news", max_length=10)  # ix_item_kind_published serves kind alone too
    ecosystems: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    scores: dict[str, float] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    why: dict[str, list[str]] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    deadline: date | None = Field(default=None, description="First upcoming (or last) deadline.")
    deadlines: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    event_date: date | None = None
    programmes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    extra: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))

    hidden: bool = False
    pinned: bool = False
    editor_note: str | None = Field(default=None, sa_column=Column(Text))
    corrected: bool = Field(default=False, description="An admin's correction overrides the classifier.")


class ItemEvent(SQLModel, table=True):
    """A change worth telling subscribers about: deadline moved, title changed (not arrival, see history)."""

    __tablename__ = "item_event"

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=40, description="deadline_changed | title_changed (created: older versions)")
    old_value: str | None = Field(default=None, sa_column=Column(Text))
    new_value: str | None = Field(default=None, sa_column=Column(Text))
    at: datetime = Field(default_factory=utcnow, index=True)


class Correction(SQLModel, table=True):
    """An admin's reclassification; it wins over the classifier and survives re-polls."""

    __tablename__ = "correction"

    item_id: int = Field(foreign_key="item.id", primary_key=True, ondelete="CASCADE")
    ecosystems: list[str] | None = Field(default=None, sa_column=Column(JSON))
    kind: str | None = Field(default=None, max_length=10)
    deadline: date | None = None
    event_date: date | None = None
    author: str = Field(default="admin", max_length=200)
    at: datetime = Field(default_factory=utcnow)


# The Core tables behind the models, for statements that bypass the ORM (bulk writes, probes).
SOURCE_STATE_TABLE: Table = SourceState.__table__  # type: ignore[attr-defined]
ITEM_TABLE: Table = Item.__table__  # type: ignore[attr-defined]
