"""Sending while a job is still queueing: everything once, some of it before the job is over."""

from __future__ import annotations

import time

import pytest
from sqlalchemy.engine import Engine

from subscribers.drain_alongside import drain_alongside
from tests.support.outbox_data import queue
from tests.support.smtp_server import FaultySmtpServer
from watcher.settings import get_settings


@pytest.fixture
def smtp_settings(smtp_server: FaultySmtpServer, monkeypatch: pytest.MonkeyPatch) -> FaultySmtpServer:
    monkeypatch.setenv("WATCHER_SMTP_URL", smtp_server.url)
    monkeypatch.setenv("WATCHER_MAIL_RATE_PER_SECOND", "1000")
    get_settings.cache_clear()
    return smtp_server


def test_mail_goes_out_while_the_job_is_still_queueing(
    smtp_settings: FaultySmtpServer, sqlite_engine: Engine
) -> None:
    received_before_the_end: list[int] = []

    def job() -> str:
        for batch in range(3):
            for n in range(5):
                queue(sqlite_engine, to=f"b{batch}n{n}@example.eu", key="digest:weekly:2026-W48")
            deadline = time.monotonic() + 10
            while len(smtp_settings.received) < 5 * (batch + 1) and time.monotonic() < deadline:
                time.sleep(0.05)  # give the drain the time to catch up, as later batches are built
        received_before_the_end.append(len(smtp_settings.received))
        for n in range(5):
            queue(sqlite_engine, to=f"last{n}@example.eu", key="digest:weekly:2026-W48")
        return "done"

    result, drained = drain_alongside(job, get_settings())
    assert result == "done"
    assert received_before_the_end == [15]
    assert drained.sent == 20 and len(smtp_settings.received) == 20
    assert smtp_settings.duplicates() == []


def test_a_failing_job_still_has_what_it_queued_sent(
    smtp_settings: FaultySmtpServer, sqlite_engine: Engine
) -> None:
    def job() -> None:
        queue(sqlite_engine, to="one@example.eu", key="k")
        raise RuntimeError("the job broke")

    with pytest.raises(RuntimeError, match="the job broke"):
        drain_alongside(job, get_settings())
    assert [message.recipient for message in smtp_settings.received] == ["one@example.eu"]


def test_an_unreachable_server_stops_the_drain_not_the_job(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHER_SMTP_URL", "smtp://127.0.0.1:9")  # discard port: refused
    monkeypatch.setenv("WATCHER_MAIL_CONCURRENCY", "1")
    get_settings.cache_clear()

    def job() -> int:
        queue(sqlite_engine, to="one@example.eu", key="k")
        time.sleep(0.5)
        return 1

    result, drained = drain_alongside(job, get_settings())
    assert result == 1 and drained.sent == 0
    assert drained.stopped and "unreachable" in drained.stopped
