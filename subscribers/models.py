"""Tables owned by the delivery side: subscribers, their consent log, topics and what was alerted.

Preferences live on the subscriber row as JSON lists (an empty list means "all") so one row answers
"who wants what" without joins; topics are admin-defined filters stored in the same shape.
Idempotency of sends is the outbox's unique (subscriber, message key); ``AlertLog`` adds "each item is
alerted once per subscriber" because alert message keys name a batch, not an item.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from watcher.models import utcnow
from watcher.settings import get_settings

STATUSES = ("pending", "active", "paused", "unsubscribed", "suppressed")
FREQUENCIES = ("weekly", "daily", "instant", "off")
DEFAULT_LEAD_DAYS = [14, 3]


def new_token_nonce() -> str:
    """A per-subscriber secret mixed into every link token: rotating it revokes old links."""
    return secrets.token_hex(16)


def default_timezone() -> str:
    return get_settings().timezone


def _json_list() -> Any:
    return Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class Subscriber(SQLModel, table=True):
    """A person who receives mail, with their preferences and delivery state."""

    __tablename__ = "subscriber"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True, index=True, description="Normalised, lower-cased.")
    name: str | None = Field(default=None, max_length=200)
    language: str = Field(default="en", max_length=2, description="it | en: language of our mail.")
    status: str = Field(default="pending", max_length=20, index=True, description=" | ".join(STATUSES))
    timezone: str = Field(default_factory=default_timezone, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    confirmed_at: datetime | None = None
    updated_at: datetime = Field(default_factory=utcnow)
    hard_bounces: int = 0
    token_nonce: str = Field(default_factory=new_token_nonce, max_length=64)
    confirmations_sent: int = Field(default=0, description="Numbers confirmation message keys.")

    # --- preferences (empty list = everything) ------------------------------------------------
    ecosystems: list[str] = _json_list()
    kinds: list[str] = _json_list()
    programmes: list[str] = _json_list()
    regions: list[str] = _json_list()
    countries: list[str] = _json_list()
    content_languages: list[str] = _json_list()
    include_keywords: list[str] = _json_list()
    exclude_keywords: list[str] = _json_list()
    own_filters: bool = Field(default=True, description="False: only followed topics select items.")
    frequency: str = Field(default="weekly", max_length=10, description=" | ".join(FREQUENCIES))
    digest_weekday: int = Field(default=0, description="0 = Monday, local time.")
    digest_hour: int = Field(default=8, description="Local hour the digest is due.")
    reminder_lead_days: list[int] = Field(
        default_factory=lambda: list(DEFAULT_LEAD_DAYS), sa_column=Column(JSON, nullable=False)
    )

    # --- delivery state ----------------------------------------------------------------------
    last_digest_at: datetime | None = None
    last_digest_key: str | None = Field(default=None, max_length=60)


class ConsentLog(SQLModel, table=True):
    """What a subscriber agreed to or changed, when and from where (GDPR accountability)."""

    __tablename__ = "consent_log"

    id: int | None = Field(default=None, primary_key=True)
    subscriber_id: int = Field(foreign_key="subscriber.id", index=True, ondelete="CASCADE")
    at: datetime = Field(default_factory=utcnow)
    action: str = Field(max_length=40, description="subscribe | confirm | preferences | unsubscribe | ...")
    origin: str = Field(max_length=300, description="Where it happened: 'web 203.0.113.4', 'cli', ...")
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Topic(SQLModel, table=True):
    """An admin-defined named filter ("Eurocluster calls — Health") subscribers can follow."""

    __tablename__ = "topic"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    filters: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False), description="A TopicFilter dump."
    )
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)


class TopicFollow(SQLModel, table=True):
    """A subscriber follows a topic."""

    __tablename__ = "topic_follow"

    subscriber_id: int = Field(foreign_key="subscriber.id", primary_key=True, ondelete="CASCADE")
    topic_id: int = Field(foreign_key="topic.id", primary_key=True, ondelete="CASCADE")
    at: datetime = Field(default_factory=utcnow)


class AlertLog(SQLModel, table=True):
    """An item was included in an instant alert to a subscriber; never alert it again."""

    __tablename__ = "alert_log"
    __table_args__ = (UniqueConstraint("subscriber_id", "item_id", name="uq_alert_subscriber_item"),)

    id: int | None = Field(default=None, primary_key=True)
    subscriber_id: int = Field(foreign_key="subscriber.id", index=True, ondelete="CASCADE")
    item_id: int = Field(foreign_key="item.id", index=True, ondelete="CASCADE")
    message_key: str = Field(max_length=200)
    at: datetime = Field(default_factory=utcnow)
