"""The round writer: sources share transactions, a failing source costs only itself, and a SQLite
lock held by another process neither blocks the worker nor loses anything."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, func, select

from tests.store.factory import entry
from watcher.models import Item
from watcher.pipeline_writer import DatabaseBusy, RoundWriter, store_batch
from watcher.store import StoreReport


async def _inline(func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


def _writer(engine: Engine, published: list[StoreReport], **options: Any) -> RoundWriter:
    return RoundWriter(engine, run_blocking=_inline, publish=published.append, lock=asyncio.Lock(), **options)


def _count(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(Item)).one()


def _commits(engine: Engine) -> list[int]:
    counted: list[int] = []
    event.listen(engine, "commit", lambda _conn: counted.append(1))
    return counted


def test_sources_queued_together_share_one_commit(engine: Engine) -> None:
    published: list[StoreReport] = []
    commits = _commits(engine)

    async def round_of_three() -> list[StoreReport]:
        writer = _writer(engine, published)
        batches = [[entry(f"{source}-{n}", source_id=source) for n in range(3)] for source in ("a", "b", "c")]
        return await asyncio.gather(*(writer.store(items[0][0].source_id, items) for items in batches))

    reports = asyncio.run(round_of_three())
    assert [report.new for report in reports] == [3, 3, 3]
    assert published == reports  # each source's events, once, after the commit
    assert len(commits) == 1 and _count(engine) == 9


def test_a_failing_source_costs_only_its_own_items(engine: Engine) -> None:
    good = [entry("g1", source_id="good"), entry("g2", source_id="good")]
    item, classification = entry("b1", source_id="broken")
    broken = [(dataclasses.replace(item, title=None), classification)]  # NOT NULL refuses it

    async def round_with_a_bad_source() -> list[StoreReport | BaseException]:
        writer = _writer(engine, [])
        stores: list[Awaitable[StoreReport]] = [writer.store("broken", broken), writer.store("good", good)]
        return await asyncio.gather(*stores, return_exceptions=True)

    bad, fine = asyncio.run(round_with_a_bad_source())
    assert isinstance(bad, Exception)
    assert isinstance(fine, StoreReport) and fine.new == 2
    assert _count(engine) == 2



def test_a_commit_waits_for_sources_still_polling_up_to_its_size(engine: Engine) -> None:
    """While other sources of the round may still hand items, the writer gathers them into one
    commit (up to ``min_items``); once every source still polling is waiting on it, it commits."""
    commits = _commits(engine)
    polling = 3

    async def round_of_three_staggered() -> list[StoreReport]:
        nonlocal polling
        writer = _writer(engine, [], polling=lambda: polling, min_items=100, max_delay_s=30)

        async def source(name: str, delay: float) -> StoreReport:
            nonlocal polling
            await asyncio.sleep(delay)
            try:
                return await writer.store(name, [entry(f"{name}-{n}", source_id=name) for n in range(2)])
            finally:
                polling -= 1

        async def nothing_to_store() -> None:  # a 304: finishes without items
            nonlocal polling
            await asyncio.sleep(0.2)
            polling -= 1
            writer.nudge()

        polling = 4
        done = await asyncio.gather(source("a", 0), source("b", 0.05), source("c", 0.1), nothing_to_store())
        return [report for report in done if report is not None]

    reports = asyncio.run(round_of_three_staggered())
    assert [report.new for report in reports] == [2, 2, 2]
    assert len(commits) == 1 and _count(engine) == 6


def test_a_commit_waits_no_longer_than_its_delay(engine: Engine) -> None:
    commits = _commits(engine)

    async def one_source_and_a_slow_one() -> float:
        writer = _writer(engine, [], polling=lambda: 2, min_items=100, max_delay_s=0.2)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await writer.store("a", [entry("a-1", source_id="a")])
        return loop.time() - started

    waited = asyncio.run(one_source_and_a_slow_one())
    assert 0.15 <= waited < 2 and len(commits) == 1 and _count(engine) == 1


@pytest.fixture
def sqlite_path(engine: Engine) -> str:
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL writers do not exclude each other: no lock to wait for")
    database = make_url(str(engine.url)).database
    assert database
    return database


def test_a_busy_database_is_refused_at_once_and_nothing_is_written(engine: Engine, sqlite_path: str) -> None:
    other = sqlite3.connect(sqlite_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process is writing
    try:
        with pytest.raises(DatabaseBusy):
            store_batch(engine, [("a", [entry("a-1", source_id="a")])], wait=False)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert _count(engine) == 0
    stored = store_batch(engine, [("a", [entry("a-1", source_id="a")])], wait=False)
    assert isinstance(stored[0], StoreReport) and stored[0].new == 1


def test_while_another_process_writes_the_round_goes_on_and_then_stores(
    engine: Engine, sqlite_path: str
) -> None:
    other = sqlite3.connect(sqlite_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    ticks = 0

    async def other_work() -> None:  # fetching and classifying other sources, meanwhile
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.001)

    async def round_during_a_foreign_write() -> StoreReport:
        writer = _writer(engine, [], retry_s=0.002)
        worker = asyncio.create_task(other_work())
        store = asyncio.create_task(writer.store("a", [entry("a-1", source_id="a")]))
        await asyncio.sleep(0.2)
        assert not store.done() and ticks > 20  # waiting, without blocking the loop
        other.execute("COMMIT")
        report = await store
        worker.cancel()
        return report

    try:
        assert asyncio.run(round_during_a_foreign_write()).new == 1
    finally:
        other.close()
    assert _count(engine) == 1


def test_after_its_patience_the_writer_waits_for_the_lock_like_any_writer(
    engine: Engine, sqlite_path: str
) -> None:
    other = sqlite3.connect(sqlite_path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    waits: list[bool] = []

    async def in_thread(func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        waits.append(kwargs["wait"])  # a blocking wait must not hold up the loop that frees the lock
        return await asyncio.to_thread(func, *args, **kwargs)

    async def round_against_a_long_write() -> StoreReport:
        writer = RoundWriter(
            engine,
            run_blocking=in_thread,
            publish=lambda _report: None,
            lock=asyncio.Lock(),
            retry_s=0.005,
            patience_s=0.05,
        )
        store = asyncio.create_task(writer.store("a", [entry("a-1", source_id="a")]))
        await asyncio.sleep(0.3)
        other.execute("COMMIT")
        return await store

    try:
        assert asyncio.run(round_against_a_long_write()).new == 1
    finally:
        other.close()
    assert waits[0] is False and waits[-1] is True and waits.count(True) == 1
