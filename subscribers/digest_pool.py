"""A big digest run built in worker processes: each takes a share of the due subscribers.

Building a digest is CPU work (matching, rendering, composing the MIME message), about 3-6 ms
each, and one Python process uses one core: 10,000 subscribers took a minute. The due subscribers
are split into shares that pool workers build and queue themselves, each with its own database
session and candidate set; the parent only adds up their reports. The outbox's unique (recipient,
message key) makes the split safe: a share that runs twice queues nothing twice. A worker that
dies costs speed, not digests: its share is built again in this process.
"""

from __future__ import annotations

import logging
import math
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime

from sqlmodel import Session

from subscribers.report import Report
from watcher.db import get_engine, in_chunks
from watcher.processes import init_worker, start_method, submit
from watcher.settings import get_settings

log = logging.getLogger("subscribers.digest")
# One share per process: each share loads the candidates and renders every item block it shows
# (~0.4 ms per item and language) again; equal shares finish close enough together.
SHARES_PER_PROCESS = 1


def queue_in_pool(
    ids: list[int], *, now: datetime, force_all: bool, report: Report, pool: ProcessPoolExecutor | None = None
) -> None:
    """Build and queue the digests of subscribers ``ids`` across ``digest_processes`` workers
    (in ``pool`` when given: it is left running)."""
    settings = get_settings()
    processes = max(1, settings.digest_processes)
    size = math.ceil(len(ids) / (processes * SHARES_PER_PROCESS))
    shares = [list(share) for share in in_chunks(ids, size)]
    if pool is not None:
        _queue_shares(pool, shares, now=now, force_all=force_all, report=report)
        return
    with ProcessPoolExecutor(
        max_workers=processes,
        mp_context=start_method(),
        initializer=init_digest_worker,
        initargs=(settings.model_dump_json(),),
    ) as own_pool:
        _queue_shares(own_pool, shares, now=now, force_all=force_all, report=report)


def init_digest_worker(settings_json: str) -> None:
    """``init_worker``, then yield the CPU to everything else: a big run builds for tens of seconds
    on every core, while the drain sending its first digests, the web app and the scheduler should
    not wait for it. The build takes the CPU they leave (and all of it once they are idle)."""
    init_worker(settings_json)
    if hasattr(os, "nice"):
        os.nice(get_settings().digest_worker_nice)


def _queue_shares(
    pool: ProcessPoolExecutor, shares: list[list[int]], *, now: datetime, force_all: bool, report: Report
) -> None:
    futures = [(share, submit(pool, queue_share, share, now, force_all)) for share in shares]
    for share, future in futures:
        try:
            report.add_outcomes(future.result())
        except BrokenProcessPool:
            log.warning("a digest worker died; %d subscriber(s) are built in-process", len(share))
            report.add_outcomes(queue_share(share, now, force_all))


def queue_share(ids: list[int], now: datetime, force_all: bool) -> Report:
    """Runs in a worker (or here, after a worker died): the due digests of ``ids``, queued."""
    from subscribers.digest_job import due_subscribers, queue_due

    report = Report("digest")
    engine = get_engine(get_settings().resolved_database_url())
    with Session(engine, expire_on_commit=False) as session:
        due = due_subscribers(session, ids, now=now, force_all=force_all, report=report)
        if due:
            queue_due(session, due, now=now, dry_run=False, report=report)
    return report
