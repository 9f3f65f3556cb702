"""Builders for delivery tests: real rows in the real database, no mocks."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from sqlmodel import Session, col, select

from subscribers import service
from subscribers.models import Subscriber
from subscribers.outbox import OutboxMessage, message_bytes
from subscribers.preferences import PreferencesInput
from watcher.models import Item

_counter = itertools.count(1)
T0 = datetime(2026, 11, 16, 7, 0, tzinfo=UTC)  # Monday 16 Nov 2026, 08:00 in Rome


def make_item(session: Session, **values: Any) -> Item:
    n = next(_counter)
    defaults: dict[str, Any] = {
        "source_id": "test",
        "guid": f"guid-{n}",
        "url": f"https://example.eu/item/{n}",
        "title": f"Item {n}",
        "text": "Plain text body.",
        "fingerprint": f"fp{n}",
        "kind": "call",
        "ecosystems": ["health"],
        "language": "en",
        "first_seen_at": T0,
        "updated_at": values.get("first_seen_at", T0),
    }
    defaults.update(values)
    item = Item(**defaults)
    session.add(item)
    session.commit()
    session.refresh(item)
    session.expunge(item)  # keep its loaded values readable after later commits
    return item


def make_subscriber(
    session: Session,
    email: str = "reader@example.org",
    *,
    joined: datetime = datetime(2026, 11, 1, tzinfo=UTC),
    language: str = "en",
    name: str | None = None,
    **prefs: Any,
) -> Subscriber:
    subscriber = service.subscribe(
        session,
        email=email,
        name=name,
        language=language,
        preferences=PreferencesInput(**prefs),
        origin="test",
        confirmed=True,
    )
    subscriber.created_at = joined
    subscriber.confirmed_at = joined
    session.add(subscriber)
    session.commit()
    session.refresh(subscriber)
    return subscriber


@dataclass(frozen=True)
class Queued:
    """An outbox row with its message bytes (stored apart, in ``outbox_body``); reads as the row."""

    row: OutboxMessage
    raw: bytes

    def __getattr__(self, name: str) -> Any:
        return getattr(self.row, name)


def outbox(session: Session, kind: str | None = None) -> list[Queued]:
    statement = select(OutboxMessage).order_by(col(OutboxMessage.id))
    if kind:
        statement = statement.where(OutboxMessage.kind == kind)
    session.expire_all()
    rows = list(session.exec(statement))
    raw = message_bytes(session, [row.id for row in rows if row.id is not None])
    return [Queued(row, raw[row.id]) for row in rows if row.id is not None]


def parsed(row: Queued) -> EmailMessage:
    message = message_from_bytes(row.raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


def day(text: str) -> date:
    return date.fromisoformat(text)
