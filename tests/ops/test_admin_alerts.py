"""Admin emails: a source failing N rounds in a row, and `unknown` mail, each incident mailed once."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from subscribers.outbox import enqueue
from tests.subscribers.factories import outbox
from tests.support.outbox_data import message
from watcher.admin_alerts import queue_admin_alerts
from watcher.models import SourceState
from watcher.observability.logging import JsonFormatter, configure_logging
from watcher.settings import Settings


@pytest.fixture
def settings() -> Settings:
    return Settings(admin_emails=["ops@example.eu", "lead@example.eu"], source_failure_alert_after=3)


def _fail(engine: Engine, source_id: str, rounds: int, *, last_success: datetime | None = None) -> None:
    with Session(engine) as session:
        state = session.get(SourceState, source_id) or SourceState(source_id=source_id)
        state.consecutive_failures = rounds
        state.last_success_at = last_success
        state.last_error = "HTTPStatusError: 503"
        session.add(state)
        session.commit()


def test_a_failing_source_mails_each_admin_once_per_streak(engine: Engine, settings: Settings) -> None:
    _fail(engine, "ec-grow", 2)
    assert queue_admin_alerts(engine, settings=settings) == 0  # under the threshold
    _fail(engine, "ec-grow", 3)
    assert queue_admin_alerts(engine, settings=settings) == 2
    _fail(engine, "ec-grow", 7)
    assert queue_admin_alerts(engine, settings=settings) == 0  # same streak: already told
    recovered = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
    _fail(engine, "ec-grow", 3, last_success=recovered)  # it recovered, then failed again: a new streak
    assert queue_admin_alerts(engine, settings=settings) == 2
    with Session(engine) as session:
        rows = outbox(session, "admin")
    assert sorted({row.recipient for row in rows}) == ["lead@example.eu", "ops@example.eu"]
    assert {row.message_key for row in rows} == {
        "admin:source-failing:ec-grow:never",
        "admin:source-failing:ec-grow:20261120T060000",
    }
    assert "ec-grow" in rows[0].subject and b"HTTPStatusError: 503" in rows[0].raw


def test_unknown_mail_alerts_once_and_again_for_newer_rows(engine: Engine, settings: Settings) -> None:
    with Session(engine) as session:
        for n in range(3):
            mail = message(f"r{n}@example.eu")
            enqueue(session, subscriber_id=None, message_key=f"d{n}", kind="digest", message=mail)
        session.commit()
        session.execute(text("UPDATE outbox SET state = 'unknown' WHERE message_key IN ('d0', 'd1')"))
        session.commit()
    assert queue_admin_alerts(engine, settings=settings) == 2
    assert queue_admin_alerts(engine, settings=settings) == 0
    with Session(engine) as session:
        session.execute(text("UPDATE outbox SET state = 'unknown' WHERE message_key = 'd2'"))
        session.commit()
    assert queue_admin_alerts(engine, settings=settings) == 2
    with Session(engine) as session:
        subjects = [row.subject for row in outbox(session, "admin")]
    assert subjects[-1].startswith("[Cluster Watch] 3 message(s) with unknown delivery")


def test_no_admins_configured_means_no_mail(engine: Engine) -> None:
    _fail(engine, "ec-grow", 10)
    assert queue_admin_alerts(engine, settings=Settings(admin_emails=[])) == 0


def test_json_logs_carry_extras_and_exceptions(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(Settings(log_format="json", log_level="INFO"))
    try:
        log = logging.getLogger("watcher.test")
        log.info("polled %d", 3, extra={"event": "round_done", "worker_id": "h:1:x"})
        try:
            raise ValueError("bad")
        except ValueError:
            log.exception("failed")
        log.debug("hidden")
    finally:
        configure_logging(Settings(log_format="text", log_level="WARNING"))
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [line["message"] for line in lines] == ["polled 3", "failed"]
    assert lines[0]["event"] == "round_done" and lines[0]["worker_id"] == "h:1:x"
    assert lines[0]["level"] == "INFO" and lines[0]["logger"] == "watcher.test"
    assert "ValueError: bad" in lines[1]["exception"]


def test_json_formatter_survives_unserialisable_extras() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    record.thing = object()
    assert json.loads(JsonFormatter().format(record))["thing"].startswith("<object")
