"""Candidate queries shared by digests, alerts and reminders.

They only narrow by time, kind and visibility in SQL; ``matching.explain`` decides per subscriber.
Mirrors (``story_id`` set) and hidden items are filtered here as well as in ``explain``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, or_, select

from subscribers.models import Topic, TopicFollow
from watcher.db import in_chunks
from watcher.models import Item, ItemEvent


def _visible() -> list[ColumnElement[bool]]:
    return [col(Item.hidden).is_(False), col(Item.story_id).is_(None)]


def followed_topics(session: Session, subscriber_id: int) -> list[Topic]:
    statement = (
        select(Topic)
        .join(TopicFollow, col(TopicFollow.topic_id) == col(Topic.id))
        .where(TopicFollow.subscriber_id == subscriber_id, col(Topic.active).is_(True))
        .order_by(col(Topic.name))
    )
    return list(session.exec(statement))


def new_items(
    session: Session,
    *,
    since: datetime,
    until: datetime,
    kinds: Sequence[str] = (),
    open_on: date | None = None,
) -> list[Item]:
    """Items first seen in (since, until], oldest first.

    With ``open_on``, calls whose every deadline passed before that day are left out: a source
    first seen today may list years of closed calls, and nobody can apply to those.
    """
    statement = select(Item).where(
        col(Item.first_seen_at) > since, col(Item.first_seen_at) <= until, *_visible()
    )
    if open_on is not None:
        statement = statement.where(
            or_(Item.kind != "call", col(Item.deadline).is_(None), col(Item.deadline) >= open_on)
        )
    if kinds:
        statement = statement.where(col(Item.kind).in_(list(kinds)))
    statement = statement.order_by(col(Item.first_seen_at), col(Item.id))
    return list(session.exec(statement))


def calls_closing(session: Session, *, start: date, end: date) -> list[Item]:
    """Calls whose (first upcoming) deadline falls in [start, end], soonest first."""
    statement = (
        select(Item)
        .where(
            Item.kind == "call",
            col(Item.deadline).is_not(None),
            col(Item.deadline) >= start,
            col(Item.deadline) <= end,
            *_visible(),
        )
        .order_by(col(Item.deadline), col(Item.id))
    )
    return list(session.exec(statement))


def deadline_changes(session: Session, *, since: datetime, until: datetime) -> list[tuple[ItemEvent, Item]]:
    """Deadline changes recorded in (since, until], oldest first."""
    statement = (
        select(ItemEvent, Item)
        .join(Item, col(Item.id) == col(ItemEvent.item_id))
        .where(
            col(ItemEvent.kind).startswith("deadline"),
            col(ItemEvent.at) > since,
            col(ItemEvent.at) <= until,
            *_visible(),
        )
        .order_by(col(ItemEvent.at), col(ItemEvent.id))
    )
    return [(event, item) for event, item in session.exec(statement)]


def pinned_items(session: Session, *, since: datetime, until: datetime) -> list[Item]:
    """Items an editor pinned or annotated that changed in (since, until]."""
    statement = (
        select(Item)
        .where(
            col(Item.pinned).is_(True) | col(Item.editor_note).is_not(None),
            col(Item.updated_at) > since,
            col(Item.updated_at) <= until,
            *_visible(),
        )
        .order_by(col(Item.updated_at).desc(), col(Item.id))
    )
    return list(session.exec(statement))


def queued_keys(session: Session, subscriber_id: int, prefix: str) -> set[str]:
    """Message keys with ``prefix`` already in the outbox for a subscriber (skip re-rendering them)."""
    from subscribers.outbox import OutboxMessage

    statement = select(OutboxMessage.message_key).where(
        OutboxMessage.subscriber_id == subscriber_id, col(OutboxMessage.message_key).startswith(prefix)
    )
    return set(session.exec(statement))


def topics_by_subscriber(session: Session) -> dict[int, list[Topic]]:
    """Every active followed topic by subscriber, in one query (by name, like ``followed_topics``)."""
    statement = (
        select(TopicFollow.subscriber_id, Topic)
        .join(Topic, col(TopicFollow.topic_id) == col(Topic.id))
        .where(col(Topic.active).is_(True))
        .order_by(col(TopicFollow.subscriber_id), col(Topic.name))
    )
    found: dict[int, list[Topic]] = {}
    for subscriber_id, topic in session.exec(statement):
        found.setdefault(subscriber_id, []).append(topic)
    return found


def queued_pairs(
    session: Session, pairs: Iterable[tuple[int, str]], *, chunk: int = 500
) -> set[tuple[int, str]]:
    """Those (subscriber id, message key) ``pairs`` already in the outbox, in a query per ``chunk``.

    A digest run asks once for all the messages it is about to build instead of once per subscriber;
    the filter uses the outbox's unique (recipient_key, message_key) index.
    """
    from subscribers.outbox import recipient_key
    from subscribers.outbox_model import OUTBOX

    wanted = sorted(set(pairs))
    found: set[tuple[int, str]] = set()
    for some in in_chunks(wanted, chunk):
        part = set(some)
        statement = select(OUTBOX.c.subscriber_id, OUTBOX.c.message_key).where(
            OUTBOX.c.recipient_key.in_({recipient_key(sid, "") for sid, _ in part}),
            OUTBOX.c.message_key.in_({key for _, key in part}),
        )
        found.update((sid, key) for sid, key in session.execute(statement) if (sid, key) in part)
    return found
