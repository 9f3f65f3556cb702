"""Big rounds in a process pool: each task polls a chunk of sources end to end in one worker.

A first poll of hundreds of feeds is CPU work (parse, normalise, classify, store), and one Python
process uses one core. Handing only the CPU steps to workers left the parent fetching, storing and
pickling every body and item twice, and it became the bottleneck. Here a worker fetches, parses,
classifies and stores its chunk itself, with no threads (no GIL contention), and sends back only
the outcomes and the store events, which the parent publishes so in-process subscribers still see
every item. Workers write to the same database: SQLite serialises their short transactions
(busy timeout), PostgreSQL takes them concurrently.

Workers start as ``watcher.processes`` says (forked when that is safe). A worker killed mid-chunk
(say, by the OOM killer) costs speed, not items: its chunk is polled again in-process, and
storing is idempotent.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from watcher import events
from watcher.events import Event
from watcher.processes import can_fork, init_worker, start_method, submit
from watcher.settings import Settings

if TYPE_CHECKING:
    from watcher.pipeline import ProgressCallback, RoundReport, SourceOutcome
    from watcher.sources.config import SourceConfig

log = logging.getLogger(__name__)

_pool: ProcessPoolExecutor | None = None
_pool_settings: str | None = None


@dataclass(slots=True)
class ChunkResult:
    """What a worker sends back for one chunk: outcomes for the summary, events to publish."""

    outcomes: list[SourceOutcome] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)


def worker_settings(settings: Settings) -> Settings:
    """The parent's settings with fetch limits shared out, so N workers stay as polite as one."""
    share = max(1, settings.pipeline_processes)
    return settings.model_copy(
        update={
            "fetch_concurrency": max(1, math.ceil(settings.fetch_concurrency / share)),
            "fetch_per_host_concurrency": max(1, math.ceil(settings.fetch_per_host_concurrency / share)),
        }
    )


def poll_chunk_in_worker(sources: Sequence[SourceConfig], want_events: bool = True) -> ChunkResult:
    """Runs in a pool process: one round over ``sources``, CPU work inline, events collected
    when the parent has subscribers (shipping 20,000 items back to nobody cost a CPU-second)."""
    from watcher.db import get_engine
    from watcher.pipeline import RoundRunner
    from watcher.settings import get_settings

    settings = get_settings()
    result = ChunkResult()
    runner = RoundRunner(
        settings=settings,
        engine=get_engine(settings.resolved_database_url()),
        inline=True,
        publish=(lambda report: result.events.extend(report.events)) if want_events else None,
    )
    result.outcomes = asyncio.run(runner.run(sources)).outcomes
    return result


def chunks(sources: Sequence[SourceConfig], size: int, workers: int = 1) -> list[list[SourceConfig]]:
    """``sources`` in order, in chunks of ``size`` that shrink towards the end (down to a fifth).

    The round ends when the last worker finishes its last chunk: with equal chunks one worker often
    idled for most of a chunk's time while the other finished. Chunks are cut to a share of what
    remains once that is small, so the workers run out of work at nearly the same time.
    """
    smallest = max(1, size // 5)
    result: list[list[SourceConfig]] = []
    start = 0
    while start < len(sources):
        remaining = len(sources) - start
        step = max(smallest, min(size, math.ceil(remaining / (2 * max(1, workers)))))
        result.append(list(sources[start : start + step]))
        start += step
    return result


async def poll_in_pool(
    sources: Sequence[SourceConfig],
    *,
    settings: Settings,
    pool: ProcessPoolExecutor,
    chunk_size: int,
    progress: ProgressCallback | None,
    in_process: Callable[[list[SourceConfig]], Awaitable[RoundReport]],
) -> RoundReport:
    """Poll ``sources`` in ``pool``, ``chunk_size`` per task (the tail smaller); a chunk whose worker
    died is polled in-process."""
    from watcher.pipeline import RoundReport

    pending: dict[asyncio.Future[ChunkResult], list[SourceConfig]] = {
        asyncio.wrap_future(submit(pool, poll_chunk_in_worker, chunk, events.has_subscribers())): chunk
        for chunk in chunks(sources, chunk_size, settings.pipeline_processes)
    }
    report = RoundReport()
    while pending:
        done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        for future in done:
            chunk = pending.pop(future)
            try:
                result = future.result()
            except BrokenProcessPool:
                log.warning("a pool worker died; %d source(s) are polled in-process", len(chunk))
                discard_pool()
                result = ChunkResult(outcomes=(await in_process(chunk)).outcomes)
            for event in result.events:  # stored and committed by the worker: safe to announce
                events.publish(event)
            for outcome in result.outcomes:
                report.outcomes.append(outcome)
                if progress:
                    progress(outcome)
    return report


def workers_start_at_once() -> bool:
    """Whether a round given to the pool pays no start-up: its workers are running already, or
    they would be forked (ready with everything imported) rather than spawned."""
    return _pool is not None or can_fork()


def discard_pool() -> None:
    """Forget a broken pool (a worker was killed, e.g. by the OOM killer); the next round makes one."""
    global _pool, _pool_settings
    if _pool is not None:
        _pool.shutdown(wait=False, cancel_futures=True)
        _pool, _pool_settings = None, None


def shared_pool(settings: Settings) -> ProcessPoolExecutor | None:
    """The process-wide pool for these settings (created on first use), or None to stay in-process.

    Workers hold the settings they were started with, so different settings get a new pool.
    """
    global _pool, _pool_settings
    if settings.pipeline_processes <= 0:
        return None
    wanted = worker_settings(settings).model_dump_json()
    if _pool is not None and _pool_settings != wanted:
        discard_pool()
    if _pool is None:
        # Workers parse feeds; load the parsers once here, so forked workers share them.
        import watcher.sources.rss_fast  # noqa: F401

        _pool = ProcessPoolExecutor(
            max_workers=settings.pipeline_processes,
            mp_context=start_method(),
            initializer=init_worker,
            initargs=(wanted,),
        )
        _pool_settings = wanted
    return _pool


@atexit.register
def _shutdown_at_exit() -> None:
    if _pool is not None:
        _pool.shutdown(cancel_futures=True)
