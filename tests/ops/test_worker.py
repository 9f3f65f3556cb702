"""One `watcher worker` in-process on SQLite (the single-process default): polls, sends, schedules."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from subscribers.outbox import OutboxMessage, enqueue
from tests.support.http_server import LoopbackServer
from tests.support.outbox_data import message
from tests.support.smtp_server import FaultySmtpServer
from watcher.models import SourceState
from watcher.settings import Settings
from watcher.worker import Worker, WorkerRefused

FEED = Path(__file__).parents[1] / "data" / "fixtures" / "rss_bandi_regione_piemonte.xml"


def _settings(tmp_path: Path, engine: Engine, **values: object) -> Settings:
    return Settings(
        database_url=str(engine.url.render_as_string(hide_password=False)),
        sources=tmp_path / "sources.yaml",
        data_dir=tmp_path / "data",
        allow_private_networks=True,
        worker_idle_s=0.1,
        mail_poll_interval_s=0.1,
        scheduler_lock_retry_s=0.1,
        **values,  # type: ignore[arg-type]
    )


async def _run_until(worker: Worker, done: object, timeout: float = 20.0) -> None:
    task = asyncio.create_task(worker.run())
    try:
        async with asyncio.timeout(timeout):
            while not done():  # type: ignore[operator]
                await asyncio.sleep(0.05)
    finally:
        worker.stop.set()
        await task


async def test_worker_polls_sends_and_schedules_then_stops_cleanly(
    sqlite_engine: Engine, tmp_path: Path, http_server: LoopbackServer, smtp_server: FaultySmtpServer
) -> None:
    http_server.route("/feed.xml", FEED.read_bytes(), headers={"Content-Type": "application/rss+xml"})
    url = http_server.url("/feed.xml")
    (tmp_path / "sources.yaml").write_text(
        f"sources:\n  - id: piemonte\n    name: Piemonte\n    url: {url}\n    type: rss\n"
    )
    with Session(sqlite_engine) as session:
        enqueue(session, subscriber_id=None, message_key="k1", kind="digest", message=message("a@example.eu"))
        session.commit()
    worker = Worker(_settings(tmp_path, sqlite_engine, smtp_url=smtp_server.url), engine=sqlite_engine)

    def done() -> bool:
        with Session(sqlite_engine) as session:
            state = session.get(SourceState, "piemonte")
            row = session.exec(select(OutboxMessage)).one()
            return state is not None and state.last_success_at is not None and row.state == "sent"

    await _run_until(worker, done)
    assert worker.stats.scheduler_held and worker.stats.sources_polled == 1 and worker.stats.sent == 1
    assert len(smtp_server.received) == 1
    with Session(sqlite_engine) as session:
        state = session.get(SourceState, "piemonte")
        assert state is not None and state.items_seen > 0 and state.next_poll_at is not None
    assert len([r for r in http_server.requests if r.path == "/feed.xml"]) == 1  # not due again


async def test_a_second_worker_on_sqlite_is_refused(sqlite_engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text("sources: []\n")
    first = Worker(_settings(tmp_path, sqlite_engine), engine=sqlite_engine)
    task = asyncio.create_task(first.run())
    await asyncio.sleep(0.3)
    second = Worker(_settings(tmp_path, sqlite_engine), engine=sqlite_engine)
    with pytest.raises(WorkerRefused, match="SQLite allows one worker"):
        await second.run()
    first.stop.set()
    await task
    third = Worker(_settings(tmp_path, sqlite_engine), engine=sqlite_engine)  # the lock was given back
    third.stop.set()
    await third.run()


async def test_a_holder_whose_session_dies_steps_down_and_takes_the_lock_again(
    postgres_url: str, db_url: str, tmp_path: Path
) -> None:
    if db_url != postgres_url:
        pytest.skip("advisory locks are PostgreSQL's")
    from sqlalchemy import text

    from watcher.db import get_engine

    engine = get_engine(db_url)
    (tmp_path / "sources.yaml").write_text("sources: []\n")
    worker = Worker(_settings(tmp_path, engine), engine=engine)
    task = asyncio.create_task(worker.run())
    try:
        async with asyncio.timeout(20):
            while worker.stats.takeovers < 1:
                await asyncio.sleep(0.05)
            with engine.begin() as conn:  # what a server restart or a network cut does to the session
                conn.execute(text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                ))
            while worker.stats.takeovers < 2:
                await asyncio.sleep(0.05)
    finally:
        worker.stop.set()
        await task
    assert worker.stats.locks_lost == 1
