"""A process pool for the CPU-bound half of a round (normalise + classify).

Parsing HTML to text and matching vocabularies is pure CPU; in one process it caps a round at one
core. Big rounds (the first poll of many sources, the benchmark) hand drafts to worker processes
that each load the classifier once. The pool uses the ``spawn`` start method: `watcher run` has
web and scheduler threads, and forking a threaded process can copy a held lock into the child.
"""

from __future__ import annotations

import atexit
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING

from watcher.settings import Settings

if TYPE_CHECKING:
    from watcher.classify import Classifier
    from watcher.drafts import ItemDraft
    from watcher.pipeline import Prepared

_worker_classifier: Classifier | None = None
_pool: ProcessPoolExecutor | None = None


def _init_worker(settings_json: str) -> None:
    global _worker_classifier
    from watcher.classify import Classifier

    _worker_classifier = Classifier.from_settings(Settings.model_validate_json(settings_json))


def prepare_in_worker(drafts: Sequence[ItemDraft], default_kind: str | None) -> Prepared:
    """Runs in a pool process: the same `prepare` as in-process, with the worker's classifier."""
    from watcher.pipeline import prepare

    assert _worker_classifier is not None, "pool worker used before its initializer ran"
    return prepare(_worker_classifier, drafts, default_kind)


def discard_pool() -> None:
    """Forget a broken pool (a worker was killed, e.g. by the OOM killer); the next round makes one."""
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None


def shared_pool(settings: Settings) -> ProcessPoolExecutor | None:
    """The process-wide pool (created on first use), or None when settings keep work in-process."""
    global _pool
    if settings.pipeline_processes <= 0:
        return None
    if _pool is None:
        _pool = ProcessPoolExecutor(
            max_workers=settings.pipeline_processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(settings.model_dump_json(),),
        )
        atexit.register(_pool.shutdown, cancel_futures=True)
    return _pool
