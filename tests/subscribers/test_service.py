"""Subscriber lifecycle: double opt-in, consent log, unsubscribe, preferences, export and erasure."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from subscribers import service
from subscribers.models import AlertLog, ConsentLog, Subscriber, Topic, TopicFollow
from subscribers.outbox import OutboxMessage
from subscribers.preferences import InvalidEmail, PreferencesInput
from subscribers.tokens import TokenInvalid, make_token, token_for
from tests.subscribers.factories import make_item, make_subscriber, outbox, parsed, text_of


def actions(session: Session, subscriber_id: int | None) -> list[str]:
    rows = session.exec(
        select(ConsentLog).where(ConsentLog.subscriber_id == subscriber_id).order_by(col(ConsentLog.id))
    )
    return [row.action for row in rows]


def confirm_token_from(row: OutboxMessage) -> str:
    match = re.search(r"/confirm/([\w.\-]+)", text_of(parsed(row)))
    assert match, "confirmation link missing"
    return match.group(1)


def test_double_opt_in(engine: Engine) -> None:
    with Session(engine) as session:
        prefs = PreferencesInput(ecosystems=["health"], frequency="daily")
        subscriber = service.subscribe(
            session,
            email="New@Example.org",
            name="Nuovo",
            language="it",
            preferences=prefs,
            origin="web 203.0.113.4",
        )
        session.commit()
        assert subscriber.status == "pending" and subscriber.email == "new@example.org"
        assert subscriber.ecosystems == ["health"] and subscriber.frequency == "daily"
        [row] = outbox(session, "confirm")
        assert row.message_key == "confirm:1" and row.recipient == "new@example.org"
        message = parsed(row)
        assert message["Subject"] == "Conferma l'iscrizione a Cluster Watch"
        assert message["List-Unsubscribe"] is None
        confirmed = service.confirm(session, confirm_token_from(row))
        session.commit()
        assert confirmed.status == "active" and confirmed.confirmed_at is not None
        assert service.confirm(session, confirm_token_from(row)).status == "active"  # idempotent
        log = session.exec(
            select(ConsentLog).where(ConsentLog.subscriber_id == subscriber.id).order_by(col(ConsentLog.id))
        ).all()
        assert [entry.action for entry in log] == ["subscribe", "confirm"]
        assert log[0].origin == "web 203.0.113.4" and log[0].detail["preferences"]["ecosystems"] == ["health"]
        assert log[0].detail["agreed"]


def test_bad_input_writes_nothing(engine: Engine) -> None:
    with Session(engine) as session:
        with pytest.raises(InvalidEmail):
            service.subscribe(session, email="not-an-address", origin="web")
        with pytest.raises(ValueError, match="language"):
            service.subscribe(session, email="a@example.org", language="de", origin="web")
        session.rollback()
        assert session.exec(select(func.count()).select_from(Subscriber)).one() == 0


def test_existing_address_gets_the_same_answer(engine: Engine) -> None:
    with Session(engine) as session:
        pending = service.subscribe(session, email="p@example.org", origin="web")
        active = make_subscriber(session, "a@example.org", ecosystems=["health"])
        again_pending = service.subscribe(session, email="P@example.org", origin="web")
        again_active = service.subscribe(
            session, email="a@example.org", origin="web", preferences=PreferencesInput(ecosystems=["tourism"])
        )
        session.commit()
        assert again_pending.id == pending.id and again_active.id == active.id
        assert again_active.ecosystems == ["health"]  # an anonymous form cannot change a subscriber
        keys = [(r.recipient, r.message_key, parsed(r)["Subject"]) for r in outbox(session, "confirm")]
        assert keys == [
            ("p@example.org", "confirm:1", "Confirm your Cluster Watch subscription"),
            ("p@example.org", "confirm:2", "Confirm your Cluster Watch subscription"),
            ("a@example.org", "confirm:1", "Your Cluster Watch subscription"),
        ]
        for _ in range(10):
            service.subscribe(session, email="p@example.org", origin="web")
        session.commit()
        assert len([r for r in outbox(session, "confirm") if r.recipient == "p@example.org"]) == 5  # capped


def test_unsubscribe_one_click_and_resubscribe(engine: Engine) -> None:
    with Session(engine) as session:
        subscriber = make_subscriber(session)
        token = token_for(subscriber, "unsubscribe")
        assert service.unsubscribe(session, "garbage", origin="web") is None
        assert (
            service.unsubscribe(session, make_token(subscriber.id or 0, "preferences"), origin="web") is None
        )
        done = service.unsubscribe(session, token, origin="one-click POST")
        session.commit()
        assert done is not None and done.status == "unsubscribed"
        assert service.unsubscribe(session, token, origin="again") is done
        assert actions(session, subscriber.id) == ["subscribe", "confirm", "unsubscribed"]
        again = service.subscribe(session, email="reader@example.org", origin="web")
        session.commit()
        assert again.status == "pending" and again.id == subscriber.id
        assert service.unsubscribe(session, token, origin="old link") is None  # old links revoked


def test_unsubscribe_cancels_queued_mail(engine: Engine) -> None:
    from subscribers.digest import send_due_digests

    with Session(engine) as session:
        token = token_for(make_subscriber(session), "unsubscribe")
        make_item(session, first_seen_at=datetime(2026, 11, 20, tzinfo=UTC))
    assert send_due_digests(engine, now=datetime(2026, 11, 23, 8, tzinfo=UTC)).queued == 1
    with Session(engine) as session:
        service.unsubscribe(session, token, origin="web")
        session.commit()
        assert [r.state for r in outbox(session, "digest")] == ["cancelled"]


def test_expired_or_revoked_confirmation(engine: Engine) -> None:
    with Session(engine) as session:
        subscriber = service.subscribe(session, email="x@example.org", origin="web")
        token = token_for(subscriber, "confirm")
        service.set_status(session, subscriber, "suppressed", origin="bounces")
        with pytest.raises(TokenInvalid):
            service.confirm(session, token)


def test_preferences_pause_resume_and_topics_are_logged(engine: Engine) -> None:
    with Session(engine) as session:
        subscriber = make_subscriber(session)
        topic = Topic(
            name="Eurocluster calls — Health", filters={"ecosystems": ["health"], "kinds": ["call"]}
        )
        session.add(topic)
        session.commit()
        service.update_preferences(
            session, subscriber, PreferencesInput(kinds=["call"], digest_hour=7), origin="preferences page"
        )
        service.update_preferences(
            session, subscriber, PreferencesInput(kinds=["call"], digest_hour=7), origin="no change"
        )
        service.pause(session, subscriber, origin="web")
        service.resume(session, subscriber, origin="web")
        assert service.follow_topics(session, [subscriber.id or 0, 999], topic.id or 0, origin="admin") == 1
        service.set_topics(session, subscriber, [], origin="web")
        session.commit()
        assert subscriber.status == "active" and subscriber.kinds == ["call"] and subscriber.digest_hour == 7
        assert actions(session, subscriber.id) == [
            "subscribe",
            "confirm",
            "preferences",
            "paused",
            "resume",
            "topics",
            "topics",
        ]
        last = session.exec(select(ConsentLog).order_by(col(ConsentLog.id).desc())).first()
        assert last is not None and last.detail == {"followed": [], "unfollowed": [topic.id]}


def test_export_contains_everything_held(engine: Engine) -> None:
    with Session(engine) as session:
        subscriber = service.subscribe(session, email="e@example.org", name="Export", origin="cli")
        session.commit()
        data = service.export_data(session, subscriber)
    assert data["email"] == "e@example.org" and data["name"] == "Export"
    assert "token_nonce" not in data and data["consent_log"][0]["action"] == "subscribe"
    assert data["messages"][0]["key"] == "confirm:1"


def test_erase_leaves_no_row_behind(engine: Engine) -> None:
    from subscribers.alerts import flush_alerts

    with Session(engine, expire_on_commit=False) as session:
        keep = make_subscriber(session, "keep@example.org", frequency="instant")
        gone = make_subscriber(session, "gone@example.org", frequency="instant")
        topic = Topic(name="T", filters={})
        session.add(topic)
        session.commit()
        service.follow_topics(session, [keep.id or 0, gone.id or 0], topic.id or 0, origin="admin")
        session.commit()
        make_item(session, first_seen_at=datetime(2026, 11, 20, tzinfo=UTC))
    flush_alerts(engine, now=datetime(2026, 11, 20, 1, tzinfo=UTC), window_s=0)
    with Session(engine) as session:
        service.subscribe(session, email="gone@example.org", origin="web")  # an "already" notice queued
        session.commit()
        gone_id = gone.id
        target = session.get(Subscriber, gone_id)
        assert target is not None
        service.erase(session, target)
        session.commit()
    with engine.connect() as conn:
        for table in ("consent_log", "topic_follow", "alert_log", "outbox"):
            count = conn.execute(
                text(f"SELECT count(*) FROM {table} WHERE subscriber_id = :i"), {"i": gone_id}
            )
            assert count.scalar() == 0, table
        assert (
            conn.execute(text("SELECT count(*) FROM subscriber WHERE id = :i"), {"i": gone_id}).scalar() == 0
        )
        assert (
            conn.execute(text("SELECT count(*) FROM outbox WHERE recipient = 'gone@example.org'")).scalar()
            == 0
        )
        dump = " ".join(
            str(row)
            for table in ("consent_log", "outbox", "outbox_body")
            for row in conn.execute(text(f"SELECT * FROM {table}"))
        )
    assert "gone@example.org" not in dump
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(AlertLog)).one() == 1  # keep's row stays
        assert session.exec(select(func.count()).select_from(TopicFollow)).one() == 1
