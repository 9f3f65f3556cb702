"""Helpers of bench/digest.py that run in their own process (spawned, so they import cleanly)."""

from __future__ import annotations

import os
import resource
import time
from typing import Any


def drainer_main(env: dict[str, str], done: Any, sent: Any, peak_rss_mib: Any) -> None:
    """``--overlap``: drain the outbox while the digest job is still filling it, as the scheduler's
    ``drain_outbox`` job does in production; stops once the job is done and nothing is left."""
    os.environ.update(env)
    from subscribers.drain import drain_sync
    from watcher.settings import get_settings

    get_settings.cache_clear()
    while True:
        finished = done.is_set()
        report = drain_sync(get_settings())
        with sent.get_lock():
            sent.value += report.sent
        if finished and not report.sent:
            break
        if not report.sent:
            time.sleep(0.2)
    peak_rss_mib.value = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
