"""Send while a job is still queueing: a big digest run's mail starts going out at once.

Building 10,000 digests takes a while, even in worker processes, and draining only afterwards
left the mail server idle all that time, then the builders idle while it sent. ``drain_alongside``
runs the job in the calling thread and drains the outbox in another until the job has returned
and nothing due is left. The parent of a pooled digest run only waits for its workers, so the
drain costs the job nothing. Draining twice at once is safe: rows are claimed atomically, and
each drain has its own worker identity (``subscribers.outbox``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

from subscribers.drain import DrainReport, drain_sync
from watcher.settings import Settings

T = TypeVar("T")
log = logging.getLogger("subscribers.drain")
IDLE_PAUSE_S = 0.25  # the job commits a batch every ~200 digests: look again soon


def drain_alongside(job: Callable[[], T], settings: Settings) -> tuple[T, DrainReport]:
    """(``job()``'s result, what was sent meanwhile and after); the job's exception propagates
    once what it already queued has been drained."""
    total = DrainReport()
    job_done = threading.Event()
    failure: list[BaseException] = []

    def drain_until_done() -> None:
        try:
            while True:
                finished = job_done.is_set()  # read before draining: nothing queued after is missed
                report = drain_sync(settings)
                total.absorb(report)
                if report.stopped or report.paused or (finished and not report.claimed):
                    return
                if not report.claimed:
                    job_done.wait(IDLE_PAUSE_S)
        except BaseException as error:  # reported by the caller's thread; the outbox keeps the rows
            failure.append(error)

    drainer = threading.Thread(target=drain_until_done, name="drain-alongside")
    drainer.start()
    try:
        result = job()
    finally:
        job_done.set()
        drainer.join()
    if failure:
        log.error("the drain alongside the job failed; queued mail stays in the outbox", exc_info=failure[0])
        total.stopped = total.stopped or f"drain failed: {failure[0]!r}"[:500]
    return result, total
