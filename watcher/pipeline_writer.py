"""Group commit for a round: the items of many sources are stored in one transaction.

In a big round two pool processes write to one SQLite database. A process that wanted the write
lock while the other held it slept in SQLite's busy handler (1, 2, 5, 10, ... ms steps) with the
whole worker idle: about a second and a half of each worker's first round. Here a source hands
its classified items to the round's writer and awaits its report. The writer stores whatever is
queued in one transaction, each source inside its own savepoint, so one source's failure costs
only that source's items. On SQLite it asks for the write lock without waiting; when another
process holds it, the writer tries again a few milliseconds later while the worker goes on
fetching, parsing and classifying other sources, and the sources finished meanwhile join the
next transaction. After ``patience_s`` of refusals it waits for the lock like any writer, so it
cannot be starved.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from watcher.classify.document import Classification
from watcher.db import SQLITE_BUSY_TIMEOUT_MS, sqlite_outside_transaction
from watcher.normalize import NormalizedItem
from watcher.store import StoreReport, store_items
from watcher.store.hints import batch_hints

log = logging.getLogger(__name__)

Pairs = list[tuple[NormalizedItem, Classification]]
RunBlocking = Callable[..., Awaitable[Any]]


class DatabaseBusy(Exception):
    """Another process holds SQLite's write lock; try again shortly."""


@dataclass(slots=True)
class _Write:
    source_id: str
    pairs: Pairs
    done: asyncio.Future[StoreReport]


def begin_write(session: Session, *, wait: bool) -> None:
    """Open the session's transaction as a writer now (SQLite: ``BEGIN IMMEDIATE``).

    With ``wait=False`` a lock held elsewhere raises :class:`DatabaseBusy` at once instead of
    sleeping in the busy handler. PostgreSQL writers do not exclude each other: nothing to do.
    """
    connection = sqlite_outside_transaction(session)
    if connection is None:
        return
    if wait:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        return
    connection.exec_driver_sql("PRAGMA busy_timeout=0")
    try:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    except OperationalError as error:
        if "locked" in str(error.orig) or "busy" in str(error.orig):
            raise DatabaseBusy(str(error.orig)) from error
        raise
    finally:
        connection.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


def store_batch(
    engine: Engine, writes: list[tuple[str, Pairs]], *, wait: bool, events: bool = True
) -> list[StoreReport | Exception]:
    """Store each (source id, items) in one transaction, a savepoint each; one result per write.

    A write that fails is rolled back to its savepoint and returned as its exception; the others
    are committed. Raises :class:`DatabaseBusy` (nothing written) when ``wait`` is false and
    another process is writing. Without ``events`` the reports carry none (see ``store_items``).
    """
    results: list[StoreReport | Exception] = []
    with Session(engine, expire_on_commit=False) as session:
        begin_write(session, wait=wait)
        hints = None
        if engine.dialect.name == "sqlite":  # the write lock is ours until commit: hints stay exact
            items = [(source_id, [item for item, _ in pairs]) for source_id, pairs in writes]
            hints = batch_hints(session, items)
        for source_id, pairs in writes:
            try:
                with session.begin_nested():
                    stored = store_items(
                        session, source_id=source_id, items=pairs, hints=hints, events=events
                    )
                results.append(stored)
            except Exception as error:  # one source's items must not cost the other sources theirs
                log.warning("storing source %s failed: %s: %s", source_id, type(error).__name__, error)
                results.append(error)
        session.commit()
    return results


class RoundWriter:
    """Queues sources' items and stores them in shared transactions (see the module docstring)."""

    def __init__(
        self,
        engine: Engine,
        *,
        run_blocking: RunBlocking,
        publish: Callable[[StoreReport], None] | None,
        lock: asyncio.Lock,
        polling: Callable[[], int] | None = None,
        min_items: int = 1000,
        max_delay_s: float = 1.0,
        max_items: int = 2000,
        retry_s: float = 0.005,
        patience_s: float = 2.0,
    ) -> None:
        """``run_blocking`` runs database work (inline or in a thread); ``publish`` gets each
        committed source's report (None: nobody receives events, so none are built); ``lock``
        serialises this process's writes (health rows too).

        ``polling`` counts the sources still being polled (queued ones included): while some of
        them may still hand items, a commit waits for ``min_items`` items, at most ``max_delay_s``.
        Small commits rewrote the same index pages again and again: a first round of 1,000
        sources made 128 commits of 140 items in the median, a tenth of its CPU time.
        """
        self.engine = engine
        self._run_blocking = run_blocking
        self._publish = publish
        self._lock = lock
        self._events = publish is not None
        self._max_items = max_items
        self._retry_s = retry_s
        self._patience_s = patience_s
        self._polling = polling
        self._min_items = min_items
        self._max_delay_s = max_delay_s
        self._queue: list[_Write] = []
        self._task: asyncio.Task[None] | None = None
        self._arrived = asyncio.Event()

    async def store(self, source_id: str, pairs: Pairs) -> StoreReport:
        """Store ``pairs`` for ``source_id``; returns its report once committed (or raises its error)."""
        done: asyncio.Future[StoreReport] = asyncio.get_running_loop().create_future()
        self._queue.append(_Write(source_id, pairs, done))
        self._arrived.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())
        return await done

    def nudge(self) -> None:
        """A source finished without items to store: a waiting commit may not need to wait more."""
        self._arrived.set()

    async def _gather(self) -> None:
        """Wait until the queue is worth a commit (see ``__init__``)."""
        if self._polling is None:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._max_delay_s
        while sum(len(write.pairs) for write in self._queue) < self._min_items:
            remaining = deadline - loop.time()
            if len(self._queue) >= self._polling() or remaining <= 0:
                return  # nobody else can add items, or the oldest have waited long enough
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except TimeoutError:
                return

    def _take(self) -> list[_Write]:
        """The oldest queued writes, up to ``max_items`` items (at least one write)."""
        count = items = 0
        for write in self._queue:
            if count and items + len(write.pairs) > self._max_items:
                break
            count, items = count + 1, items + len(write.pairs)
        batch, self._queue = self._queue[:count], self._queue[count:]
        return batch

    async def _drain(self) -> None:
        busy_since: float | None = None
        loop = asyncio.get_running_loop()
        batch: list[_Write] = []
        try:
            while self._queue:
                await self._gather()
                batch = self._take()
                wait = busy_since is not None and loop.time() - busy_since >= self._patience_s
                try:
                    async with self._lock:
                        writes = [(write.source_id, write.pairs) for write in batch]
                        results = await self._run_blocking(
                            store_batch, self.engine, writes, wait=wait, events=self._events
                        )
                except DatabaseBusy:
                    self._queue[:0] = batch  # first in line next time, joined by what arrives meanwhile
                    batch = []
                    busy_since = busy_since if busy_since is not None else loop.time()
                    await asyncio.sleep(self._retry_s)
                    continue
                except Exception as error:  # the transaction failed as a whole: each source learns why
                    results = [error] * len(batch)
                busy_since = None
                _settle(batch, results, publish=self._publish)
                batch = []
        except BaseException as error:  # cancelled or worse: nobody may wait forever
            stopped = RuntimeError(f"round writer stopped: {error!r}")
            pending, self._queue = batch + self._queue, []
            _settle(pending, [stopped] * len(pending), publish=None)
            raise


def _settle(
    batch: list[_Write],
    results: list[StoreReport | Exception],
    publish: Callable[[StoreReport], None] | None,
) -> None:
    """Hand each write its result; committed reports are published first (after the commit)."""
    for write, result in zip(batch, results, strict=True):
        if isinstance(result, StoreReport) and publish is not None:
            try:
                publish(result)
            except Exception:  # a subscriber's bug must not turn stored items into a failed source
                log.exception("publishing the events of source %s failed", write.source_id)
        if write.done.done():  # its source was cancelled meanwhile
            continue
        if isinstance(result, Exception):
            write.done.set_exception(result)
        else:
            write.done.set_result(result)
