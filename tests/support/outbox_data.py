"""Small builders shared by the outbox, mailer and crash tests: messages and subscribers."""

from __future__ import annotations

from email.message import EmailMessage

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from subscribers.outbox import enqueue


def message(to: str, subject: str = "Weekly digest", body: str = "Hello\n") -> EmailMessage:
    msg = EmailMessage()
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    return msg


def add_subscriber(engine: Engine, email: str) -> int:
    """Insert a minimal active subscriber through the real model; returns its id."""
    from subscribers.models import Subscriber

    with Session(engine) as session:
        subscriber = Subscriber(email=email, status="active")
        session.add(subscriber)
        session.commit()
        assert subscriber.id is not None
        return subscriber.id


def subscriber_state(engine: Engine, subscriber_id: int) -> tuple[str, int]:
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT status, hard_bounces FROM subscriber WHERE id = :id"), {"id": subscriber_id}
        ).one()
    return str(row.status), int(row.hard_bounces)


def queue(engine: Engine, *, to: str, key: str, subscriber_id: int | None = None) -> bool:
    with Session(engine) as session:
        added = enqueue(
            session, subscriber_id=subscriber_id, message_key=key, kind="digest", message=message(to)
        )
        session.commit()
    return added
