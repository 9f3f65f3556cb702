"""The drain against a real SMTP server (aiosmtpd) that answers 4xx/5xx, drops and stalls on cue."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from subscribers.drain import DrainReport, drain, drain_sync
from subscribers.outbox import OUTBOX, OutboxMessage, worker_identity
from tests.support.outbox_data import add_subscriber, queue, subscriber_state
from tests.support.smtp_server import Fault, FaultySmtpServer
from watcher.models import utcnow
from watcher.settings import Settings, get_settings

STALL_TIMEOUT_S = "1.5"  # only the stall tests shorten the timeout; elsewhere a busy box must not flake
FAST = {
    "WATCHER_MAIL_TIMEOUT_S": "10",
    "WATCHER_MAIL_RATE_PER_SECOND": "1000",
    "WATCHER_MAIL_CONCURRENCY": "2",
}


@pytest.fixture
def smtp_env(smtp_server: FaultySmtpServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultySmtpServer]:
    monkeypatch.setenv("WATCHER_SMTP_URL", smtp_server.url)
    for name, value in FAST.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield smtp_server


def _states(engine: Engine) -> dict[str, tuple[str, int | None]]:
    with Session(engine) as session:
        return {row.recipient: (row.state, row.smtp_code) for row in session.exec(select(OutboxMessage))}


def _make_due(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(update(OUTBOX).where(OUTBOX.c.state == "retry").values(next_attempt_at=utcnow()))


def _drain(engine: Engine) -> DrainReport:
    return drain_sync(get_settings())


@pytest.mark.parametrize(
    ("stage", "code"),
    [("rcpt", 421), ("rcpt", 450), ("rcpt", 451), ("rcpt", 452), ("data", 421), ("data", 451)],
)
def test_temporary_replies_retry_then_deliver_once(
    stage: str, code: int, smtp_env: FaultySmtpServer, sqlite_engine: Engine
) -> None:
    smtp_env.script("busy@example.eu", Fault(stage, code=code))
    queue(sqlite_engine, to="busy@example.eu", key="k")
    queue(sqlite_engine, to="fine@example.eu", key="k")
    report = _drain(sqlite_engine)
    assert (report.sent, report.retry) == (1, 1)
    assert _states(sqlite_engine) == {"busy@example.eu": ("retry", code), "fine@example.eu": ("sent", 250)}
    assert _drain(sqlite_engine).claimed == 0  # back-off: not due yet
    _make_due(sqlite_engine)
    assert _drain(sqlite_engine).sent == 1
    assert smtp_env.duplicates() == [] and len(smtp_env.received) == 2


@pytest.mark.parametrize("stage", ["rcpt", "data"])
def test_552_is_treated_as_temporary(stage: str, smtp_env: FaultySmtpServer, sqlite_engine: Engine) -> None:
    smtp_env.script("full@example.eu", Fault(stage, code=552, message="mailbox full"))
    queue(sqlite_engine, to="full@example.eu", key="k")
    _drain(sqlite_engine)
    assert _states(sqlite_engine) == {"full@example.eu": ("retry", 552)}


@pytest.mark.parametrize(("stage", "code"), [("rcpt", 550), ("rcpt", 553), ("data", 554), ("data", 550)])
def test_permanent_replies_fail_and_count_a_hard_bounce(
    stage: str, code: int, smtp_env: FaultySmtpServer, sqlite_engine: Engine
) -> None:
    sid = add_subscriber(sqlite_engine, "gone@example.eu")
    smtp_env.script("gone@example.eu", Fault(stage, code=code, message="no such user"))
    queue(sqlite_engine, to="gone@example.eu", key="k", subscriber_id=sid)
    report = _drain(sqlite_engine)
    assert report.failed == 1 and _states(sqlite_engine) == {"gone@example.eu": ("failed", code)}
    assert subscriber_state(sqlite_engine, sid) == ("active", 1)
    assert smtp_env.received == []


def test_repeated_hard_bounces_suppress_and_cancel_the_rest(
    smtp_env: FaultySmtpServer, sqlite_engine: Engine
) -> None:
    sid = add_subscriber(sqlite_engine, "gone@example.eu")
    limit = get_settings().hard_bounce_limit
    smtp_env.script("gone@example.eu", *[Fault("rcpt", code=550)] * limit)
    for n in range(limit):
        queue(sqlite_engine, to="gone@example.eu", key=f"alert:{n}", subscriber_id=sid)
        _drain(sqlite_engine)
    assert subscriber_state(sqlite_engine, sid) == ("suppressed", limit)
    queue(sqlite_engine, to="gone@example.eu", key="digest:next", subscriber_id=sid)
    report = _drain(sqlite_engine)
    assert report.cancelled_suppressed == 1 and report.claimed == 0 and smtp_env.received == []


def test_dropped_connection_before_data_retries(smtp_env: FaultySmtpServer, sqlite_engine: Engine) -> None:
    smtp_env.script("a@example.eu", Fault("rcpt", "drop"))
    queue(sqlite_engine, to="a@example.eu", key="k")
    queue(sqlite_engine, to="b@example.eu", key="k")
    report = _drain(sqlite_engine)
    assert _states(sqlite_engine) == {"a@example.eu": ("retry", None), "b@example.eu": ("sent", 250)}
    assert report.errors and "rcpt" in report.errors[0]


@pytest.mark.parametrize("action", ["drop-mid", "drop"])
def test_connection_lost_during_data_is_unknown_and_never_resent(
    action: str, smtp_env: FaultySmtpServer, sqlite_engine: Engine
) -> None:
    smtp_env.script("a@example.eu", Fault("data", action))
    queue(sqlite_engine, to="a@example.eu", key="k")
    queue(sqlite_engine, to="b@example.eu", key="k")
    report = _drain(sqlite_engine)
    assert (report.unknown, report.sent) == (1, 1)
    assert _states(sqlite_engine)["a@example.eu"] == ("unknown", None)
    assert _drain(sqlite_engine).claimed == 0
    assert [m.recipient for m in smtp_env.received] == ["b@example.eu"]


def _short_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHER_MAIL_TIMEOUT_S", STALL_TIMEOUT_S)
    get_settings.cache_clear()


def test_stall_before_data_times_out_and_retries(
    smtp_env: FaultySmtpServer, sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _short_timeout(monkeypatch)
    smtp_env.script("slow@example.eu", Fault("rcpt", "stall"))
    queue(sqlite_engine, to="slow@example.eu", key="k")
    queue(sqlite_engine, to="b@example.eu", key="k")
    _drain(sqlite_engine)
    assert _states(sqlite_engine) == {"slow@example.eu": ("retry", None), "b@example.eu": ("sent", 250)}


def test_stall_after_the_payload_is_unknown(
    smtp_env: FaultySmtpServer, sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _short_timeout(monkeypatch)
    smtp_env.script("slow@example.eu", Fault("data", "stall"))
    queue(sqlite_engine, to="slow@example.eu", key="k")
    _drain(sqlite_engine)
    assert _states(sqlite_engine) == {"slow@example.eu": ("unknown", None)}


def test_connections_are_reused(smtp_env: FaultySmtpServer, sqlite_engine: Engine) -> None:
    for n in range(20):
        queue(sqlite_engine, to=f"u{n}@example.eu", key="k")
    assert _drain(sqlite_engine).sent == 20
    assert smtp_env.handler.connections <= get_settings().mail_concurrency
    assert len(smtp_env.message_ids()) == 20 and smtp_env.duplicates() == []


def test_running_the_same_job_twice_sends_nothing_the_second_time(
    smtp_env: FaultySmtpServer, sqlite_engine: Engine
) -> None:
    for _ in range(2):
        for n in range(5):
            queue(sqlite_engine, to=f"u{n}@example.eu", key="digest:weekly:2026-W47")
        _drain(sqlite_engine)
    assert len(smtp_env.received) == 5 and smtp_env.duplicates() == []


def test_unreachable_server_halts_the_drain_and_gives_rows_back(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = FaultySmtpServer()  # never started: nothing listens on its port
    monkeypatch.setenv("WATCHER_SMTP_URL", closed.url)
    for name, value in FAST.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    for n in range(30):
        queue(sqlite_engine, to=f"u{n}@example.eu", key="k")
    report = _drain(sqlite_engine)
    assert report.stopped and "unreachable" in report.stopped
    assert report.retry <= get_settings().mail_concurrency + 1
    states = {state for state, _code in _states(sqlite_engine).values()}
    assert states <= {"retry", "pending"} and report.released + report.retry == report.claimed


async def test_drain_limit_and_worker_identity(smtp_env: FaultySmtpServer, engine: Engine) -> None:
    for n in range(7):
        queue(engine, to=f"u{n}@example.eu", key="k")
    settings = Settings()
    report = await drain(settings=settings, engine=engine, worker_id=worker_identity(), limit=3)
    assert report.claimed == 3 and report.sent == 3
    report = await drain(settings=settings, engine=engine, worker_id=worker_identity())
    assert report.sent == 4 and len(smtp_env.received) == 7


def test_server_that_never_greets_times_out_and_halts(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as silent:  # accepts TCP connections (backlog) but never says 220
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        monkeypatch.setenv("WATCHER_SMTP_URL", f"smtp://127.0.0.1:{silent.getsockname()[1]}")
        for name, value in FAST.items():
            monkeypatch.setenv(name, value)
        _short_timeout(monkeypatch)
        for n in range(6):
            queue(sqlite_engine, to=f"u{n}@example.eu", key="k")
        report = _drain(sqlite_engine)
    assert report.sent == 0 and report.stopped and "unreachable" in report.stopped
    assert {state for state, _code in _states(sqlite_engine).values()} <= {"retry", "pending"}
