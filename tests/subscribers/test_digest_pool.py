"""A big digest run is built by worker processes; the outbox must look as if one process did it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from subscribers.digest import send_due_digests
from tests.subscribers.factories import make_item, make_subscriber, outbox
from watcher.settings import get_settings

NOW = datetime(2026, 11, 23, 7, 5, tzinfo=UTC)
NEW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


@pytest.fixture
def pooled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHER_DIGEST_PROCESSES", "2")
    monkeypatch.setenv("WATCHER_DIGEST_PROCESS_MIN_SUBSCRIBERS", "1")
    get_settings.cache_clear()


def test_workers_queue_every_digest_once_and_a_rerun_queues_nothing(engine: Engine, pooled: None) -> None:
    with Session(engine) as session:
        make_item(session, title="Health call", ecosystems=["health"], first_seen_at=NEW)
        make_item(session, title="Tourism call", ecosystems=["tourism"], first_seen_at=NEW)
        for n in range(9):
            make_subscriber(session, f"reader{n}@example.org", ecosystems=["health"])
        make_subscriber(session, "nothing@example.org", ecosystems=["textile"])

    first = send_due_digests(engine, now=NOW, force_all=True)
    assert (first.queued, first.empty, first.errors, first.considered) == (9, 1, 0, 10)
    with Session(engine) as session:
        rows = outbox(session, "digest")
    assert sorted(row.recipient for row in rows) == sorted(f"reader{n}@example.org" for n in range(9))
    assert all(b"Health call" in row.raw and b"Tourism call" not in row.raw for row in rows)

    again = send_due_digests(engine, now=NOW, force_all=True)
    assert again.queued == 0 and again.errors == 0
    with Session(engine) as session:
        assert len(outbox(session, "digest")) == 9


def test_a_killed_worker_costs_speed_not_digests(engine: Engine, pooled: None) -> None:
    """A worker killed (say by the OOM killer) breaks the pool; its share is built in-process."""
    import multiprocessing
    import os
    import signal
    from concurrent.futures import ProcessPoolExecutor

    from subscribers.digest_pool import queue_in_pool
    from subscribers.report import Report

    with Session(engine) as session:
        make_item(session, title="Health call", ecosystems=["health"], first_seen_at=NEW)
        ids = [make_subscriber(session, f"r{n}@example.org", ecosystems=["health"]).id or 0 for n in range(6)]
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        pool.submit(os.getpid).result(timeout=60)  # start the worker, then kill it
        for pid in list(pool._processes):  # the test reaches in to kill the real worker
            os.kill(pid, signal.SIGKILL)
        report = Report("digest")
        queue_in_pool(ids, now=NOW, force_all=True, report=report, pool=pool)
    assert report.queued == 6 and report.errors == 0
    with Session(engine) as session:
        recipients = sorted(row.recipient for row in outbox(session, "digest"))
    assert recipients == sorted(f"r{n}@example.org" for n in range(6))
