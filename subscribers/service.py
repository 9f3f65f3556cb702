"""Subscriber lifecycle used by the web app and the CLI: subscribe, confirm, change, leave, erase.

Every status, preference or topic change writes a ``ConsentLog`` row (what, when, from where).
``subscribe`` answers the same way whether or not the address is known, so the public form cannot be
used to probe who is subscribed: a pending address gets its confirmation again, a subscribed one a
short "already subscribed" notice (both capped by settings.confirm_resend_max), a suppressed one
nothing. Functions flush but never commit: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, update
from sqlmodel import Session, col, select

from subscribers.compose import base_url, build_message, clean_header, render_pair, subscriber_links
from subscribers.i18n import t
from subscribers.models import AlertLog, ConsentLog, Subscriber, Topic, TopicFollow, new_token_nonce
from subscribers.preferences import LANGUAGES, PreferencesInput, apply_preferences, normalise_email
from subscribers.tokens import TokenError, TokenInvalid, subscriber_for_token, token_for
from watcher.models import utcnow
from watcher.settings import get_settings

ORIGIN_MAX = 300


def log_consent(
    session: Session,
    subscriber: Subscriber,
    action: str,
    *,
    origin: str,
    detail: dict[str, Any] | None = None,
) -> None:
    assert subscriber.id is not None
    session.add(
        ConsentLog(
            subscriber_id=subscriber.id,
            action=action,
            origin=clean_header(origin, max_length=ORIGIN_MAX),
            detail=detail or {},
            at=utcnow(),
        )
    )


def _clean_name(name: str | None) -> str | None:
    cleaned = clean_header(name or "", max_length=200)
    return cleaned or None


def _check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, got {language!r}")
    return language


def find_by_email(session: Session, email: str) -> Subscriber | None:
    address = normalise_email(email)
    return session.exec(select(Subscriber).where(Subscriber.email == address)).first()


def subscribe(
    session: Session,
    *,
    email: str,
    name: str | None = None,
    language: str = "en",
    preferences: PreferencesInput | None = None,
    topic_ids: Sequence[int] = (),
    origin: str,
    confirmed: bool = False,
) -> Subscriber:
    """Create (or re-start) a subscription; ``confirmed`` records consent given to an admin.

    Raises ``InvalidEmail``/``ValueError`` for bad input, before anything is written.
    """
    address = normalise_email(email)
    language = _check_language(language)
    prefs = preferences or PreferencesInput()
    subscriber = session.exec(select(Subscriber).where(Subscriber.email == address)).first()
    if subscriber is None:
        subscriber = Subscriber(email=address, name=_clean_name(name), language=language)
        session.add(subscriber)
        session.flush()
        _start(session, subscriber, prefs, topic_ids, origin=origin, confirmed=confirmed, action="subscribe")
    elif subscriber.status == "suppressed":
        pass  # a known-bad address: say nothing, send nothing
    elif subscriber.status in ("pending", "unsubscribed"):
        if subscriber.status == "unsubscribed":
            subscriber.token_nonce = new_token_nonce()  # old links of the previous cycle stop working
            subscriber.confirmations_sent = 0
            subscriber.last_digest_at = None
            subscriber.last_digest_key = None
        subscriber.name = _clean_name(name) or subscriber.name
        subscriber.language = language
        _start(
            session, subscriber, prefs, topic_ids, origin=origin, confirmed=confirmed, action="resubscribe"
        )
    elif confirmed:  # an admin re-adding a known subscriber updates them
        subscriber.name = _clean_name(name) or subscriber.name
        subscriber.language = language
        update_preferences(session, subscriber, prefs, origin=origin)
        set_topics(session, subscriber, topic_ids, origin=origin)
    else:
        send_confirmation(session, subscriber, already=True)
    session.flush()
    return subscriber


def _start(
    session: Session,
    subscriber: Subscriber,
    prefs: PreferencesInput,
    topic_ids: Sequence[int],
    *,
    origin: str,
    confirmed: bool,
    action: str,
) -> None:
    apply_preferences(subscriber, prefs)
    subscriber.status = "pending"
    subscriber.confirmed_at = None
    subscriber.updated_at = utcnow()
    detail = {
        "preferences": prefs.model_dump(),
        "language": subscriber.language,
        "topics": list(topic_ids),
        "agreed": "receive Cluster Watch emails matching these preferences",
    }
    log_consent(session, subscriber, action, origin=origin, detail=detail)
    _replace_topics(session, subscriber, topic_ids)
    if confirmed:
        _activate(session, subscriber, origin=origin, via="admin")
    else:
        send_confirmation(session, subscriber)


def _activate(session: Session, subscriber: Subscriber, *, origin: str, via: str) -> None:
    subscriber.status = "active"
    subscriber.confirmed_at = utcnow()
    subscriber.confirmations_sent = 0
    subscriber.updated_at = utcnow()
    session.add(subscriber)
    log_consent(session, subscriber, "confirm", origin=origin, detail={"via": via})


def send_confirmation(session: Session, subscriber: Subscriber, *, already: bool = False) -> bool:
    """Queue the opt-in email (or the "already subscribed" notice); False when the cap is reached."""
    from subscribers.outbox import enqueue

    settings = get_settings()
    if subscriber.confirmations_sent >= settings.confirm_resend_max:
        return False
    subscriber.confirmations_sent += 1
    session.add(subscriber)
    session.flush()
    key = f"confirm:{subscriber.confirmations_sent}"
    language = subscriber.language
    subject = t("already_subject" if already else "confirm_subject", language)
    name = subscriber.name
    context = {
        "language": language,
        "subject": subject,
        "greeting": t("greeting", language, name=name) if name else t("greeting_anon", language),
        "already": already,
        "confirm_url": f"{base_url()}/confirm/{token_for(subscriber, 'confirm')}",
        "hours": settings.confirm_token_max_age_s // 3600,
        "links": subscriber_links(subscriber),
    }
    text, html = render_pair("confirm", context)
    message = build_message(
        subscriber=subscriber, message_key=key, subject=subject, text=text, html=html, bulk=False
    )
    return enqueue(session, subscriber_id=subscriber.id, message_key=key, kind="confirm", message=message)


def confirm(session: Session, token: str) -> Subscriber:
    """Activate the subscriber a (≤ 72 h old) confirmation token names; idempotent for active ones.

    Raises ``TokenExpired`` / ``TokenInvalid`` (both ``TokenError``).
    """
    subscriber = subscriber_for_token(
        session, token, "confirm", max_age_s=get_settings().confirm_token_max_age_s
    )
    if subscriber.status == "pending":
        _activate(session, subscriber, origin="confirmation link", via="double opt-in")
        session.flush()
    elif subscriber.status not in ("active", "paused"):
        raise TokenInvalid("this confirmation link is no longer valid")
    return subscriber


def unsubscribe(session: Session, token: str, *, origin: str) -> Subscriber | None:
    """Unsubscribe the token's subscriber (one-click safe: never raises); None for a bad token."""
    try:
        subscriber = subscriber_for_token(session, token, "unsubscribe")
    except TokenError:
        return None
    if subscriber.status in ("unsubscribed", "suppressed"):
        return subscriber
    set_status(session, subscriber, "unsubscribed", origin=origin)
    _cancel_queued(session, subscriber)
    return subscriber


def _cancel_queued(session: Session, subscriber: Subscriber) -> None:
    from subscribers.outbox import OutboxMessage

    session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.subscriber_id) == subscriber.id,
            col(OutboxMessage.state).in_(("pending", "retry")),
        )
        .values(state="cancelled", last_error="subscriber unsubscribed")
    )


def set_status(session: Session, subscriber: Subscriber, status: str, *, origin: str) -> None:
    old = subscriber.status
    if old == status:
        return
    subscriber.status = status
    subscriber.updated_at = utcnow()
    session.add(subscriber)
    log_consent(
        session,
        subscriber,
        status if status != "active" else "resume",
        origin=origin,
        detail={"from": old, "to": status},
    )
    session.flush()


def pause(session: Session, subscriber: Subscriber, *, origin: str) -> None:
    if subscriber.status == "active":
        set_status(session, subscriber, "paused", origin=origin)


def resume(session: Session, subscriber: Subscriber, *, origin: str) -> None:
    if subscriber.status == "paused":
        set_status(session, subscriber, "active", origin=origin)


def update_preferences(
    session: Session, subscriber: Subscriber, prefs: PreferencesInput, *, origin: str
) -> None:
    changed = apply_preferences(subscriber, prefs)
    if not changed:
        return
    subscriber.updated_at = utcnow()
    session.add(subscriber)
    log_consent(session, subscriber, "preferences", origin=origin, detail={"changed": changed})
    session.flush()


def _replace_topics(
    session: Session, subscriber: Subscriber, topic_ids: Sequence[int]
) -> tuple[set[int], set[int]]:
    assert subscriber.id is not None
    wanted = set(topic_ids)
    if wanted:
        known = set(session.exec(select(Topic.id).where(col(Topic.id).in_(wanted))))
        if wanted - known:
            raise ValueError(f"unknown topic id(s): {sorted(wanted - known)}")
    current = set(
        session.exec(select(TopicFollow.topic_id).where(TopicFollow.subscriber_id == subscriber.id))
    )
    for topic_id in wanted - current:
        session.add(TopicFollow(subscriber_id=subscriber.id, topic_id=topic_id))
    if current - wanted:
        session.execute(
            delete(TopicFollow).where(
                col(TopicFollow.subscriber_id) == subscriber.id,
                col(TopicFollow.topic_id).in_(current - wanted),
            )
        )
    session.flush()
    return wanted - current, current - wanted


def set_topics(session: Session, subscriber: Subscriber, topic_ids: Sequence[int], *, origin: str) -> None:
    """Follow exactly ``topic_ids`` (the subscriber's own form)."""
    added, removed = _replace_topics(session, subscriber, topic_ids)
    if added or removed:
        log_consent(
            session,
            subscriber,
            "topics",
            origin=origin,
            detail={"followed": sorted(added), "unfollowed": sorted(removed)},
        )
        session.flush()


def follow_topics(session: Session, subscriber_ids: Sequence[int], topic_id: int, *, origin: str) -> int:
    """Admin bulk action: make subscribers follow a topic; returns how many started following."""
    if session.get(Topic, topic_id) is None:
        raise ValueError(f"unknown topic id {topic_id}")
    count = 0
    for subscriber_id in subscriber_ids:
        subscriber = session.get(Subscriber, subscriber_id)
        if subscriber is None or session.get(TopicFollow, (subscriber_id, topic_id)) is not None:
            continue
        session.add(TopicFollow(subscriber_id=subscriber_id, topic_id=topic_id))
        log_consent(session, subscriber, "topics", origin=origin, detail={"followed": [topic_id]})
        count += 1
    session.flush()
    return count


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def export_data(session: Session, subscriber: Subscriber) -> dict[str, Any]:
    """Everything we hold about a subscriber (GDPR access request), JSON-serialisable."""
    from subscribers.outbox import OutboxMessage

    assert subscriber.id is not None
    data = subscriber.model_dump(exclude={"token_nonce"})
    data = {k: (_iso(v) if isinstance(v, datetime) else v) for k, v in data.items()}
    topics = session.exec(
        select(Topic)
        .join(TopicFollow, col(TopicFollow.topic_id) == col(Topic.id))
        .where(TopicFollow.subscriber_id == subscriber.id)
    )
    consent = session.exec(
        select(ConsentLog)
        .where(ConsentLog.subscriber_id == subscriber.id)
        .order_by(col(ConsentLog.at), col(ConsentLog.id))
    )
    messages = session.exec(
        select(OutboxMessage)
        .where(OutboxMessage.subscriber_id == subscriber.id)
        .order_by(col(OutboxMessage.created_at))
    )
    alerts = session.exec(select(AlertLog).where(AlertLog.subscriber_id == subscriber.id))
    data["topics"] = [{"id": tp.id, "name": tp.name} for tp in topics]
    data["consent_log"] = [
        {"at": _iso(c.at), "action": c.action, "origin": c.origin, "detail": c.detail} for c in consent
    ]
    data["messages"] = [
        {
            "key": m.message_key,
            "kind": m.kind,
            "subject": m.subject,
            "state": m.state,
            "created_at": _iso(m.created_at),
            "sent_at": _iso(m.sent_at),
        }
        for m in messages
    ]
    data["alerted_items"] = sorted(a.item_id for a in alerts)
    return data


def erase(session: Session, subscriber: Subscriber) -> None:
    """Delete the subscriber and everything that names them: follows, consent log, alerts, outbox."""
    from subscribers.outbox import OutboxMessage

    subscriber_id, email = subscriber.id, subscriber.email
    session.execute(
        delete(OutboxMessage).where(
            or_(col(OutboxMessage.subscriber_id) == subscriber_id, col(OutboxMessage.recipient) == email)
        )
    )
    session.execute(delete(AlertLog).where(col(AlertLog.subscriber_id) == subscriber_id))
    session.execute(delete(TopicFollow).where(col(TopicFollow.subscriber_id) == subscriber_id))
    session.execute(delete(ConsentLog).where(col(ConsentLog.subscriber_id) == subscriber_id))
    session.execute(delete(Subscriber).where(col(Subscriber.id) == subscriber_id))
    session.flush()
    if subscriber in session:
        session.expunge(subscriber)
