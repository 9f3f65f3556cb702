"""The console's aggregate and list queries on SQLite and PostgreSQL (JSON casts, date grouping)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from subscribers.outbox import enqueue
from tests.web.admin.conftest import add_item
from watcher.settings import get_settings
from watcher.web.admin.dashboard import deliveries_per_day, items_per_week, summary
from watcher.web.admin.items import list_items

pytestmark = pytest.mark.postgres


def test_dashboard_aggregates(engine: Engine) -> None:
    now = datetime.now(UTC)
    with Session(engine, expire_on_commit=False) as session:
        add_item(session, guid="1", ecosystems=["digital", "health"], source_id="a", published_at=now)
        add_item(session, guid="2", ecosystems=[], source_id="b", published_at=now)
        add_item(
            session, guid="3", ecosystems=["digital"], source_id="a", published_at=now - timedelta(weeks=2)
        )
        add_item(
            session, guid="4", ecosystems=["digital"], source_id="a", published_at=now - timedelta(weeks=30)
        )
        message = EmailMessage()
        message["To"] = "x@example.org"
        message["Subject"] = "s"
        message.set_content("t")
        enqueue(session, subscriber_id=None, message_key="k", kind="admin", message=message)
        session.commit()
        weekly = items_per_week(session, today=now.date())
        this_week = weekly["ecosystem"][-1][1]
        assert this_week == {"digital": 1, "health": 1, "(none)": 1}
        assert weekly["source"][-1][1] == {"a": 1, "b": 1}
        assert weekly["ecosystem"][-3][1] == {"digital": 1}
        assert sum(sum(v.values()) for _, v in weekly["source"]) == 3  # the 30-week-old item is outside
        deliveries = deliveries_per_day(session, today=now.date())
        assert deliveries is not None and deliveries[-1][1] == {"pending": 1}
        assert summary(session) == {"items": 4, "uncategorised": 1, "failing_sources": 0}


def test_review_queue_lists(engine: Engine) -> None:
    settings = get_settings()
    with Session(engine, expire_on_commit=False) as session:
        add_item(session, guid="u", title="Uncategorised one")
        add_item(session, guid="l", title="Low one", ecosystems=["digital"], scores={"digital": 3.2})
        add_item(session, guid="h", title="High one", ecosystems=["digital"], scores={"digital": 30.0})
        add_item(session, guid="x", title="Hidden one", hidden=True)
        titles = {
            v: {i.title for i in list_items(session, settings, view=v, q="", page=1)}
            for v in ("queue", "uncategorised", "low", "newest", "hidden")
        }
    assert titles["queue"] == {"Uncategorised one", "Low one"}
    assert titles["uncategorised"] == {"Uncategorised one"}
    assert titles["low"] == {"Low one"}
    assert titles["newest"] == {"Uncategorised one", "Low one", "High one"}
    assert titles["hidden"] == {"Hidden one"}
