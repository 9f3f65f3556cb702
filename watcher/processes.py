"""Worker processes for CPU-heavy jobs (a big polling round, a digest run): how to start them.

A worker is forked when this process has no other thread: it starts at once with everything
imported, where a spawned one spends most of a second importing. `watcher run` has web and
scheduler threads, and forking a threaded process can copy a held lock into the child, so there
workers are spawned. Either way a worker runs with its parent's settings and its own database
connections.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.context import BaseContext
from typing import ParamSpec, TypeVar

from watcher.settings import Settings, install_settings

P = ParamSpec("P")
R = TypeVar("R")


def can_fork() -> bool:
    """Whether workers started now would be forked: no other thread could hold a lock at fork time."""
    return threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()


def start_method() -> BaseContext:
    """``fork`` when :func:`can_fork`, else ``spawn``.

    With ``fork``, ProcessPoolExecutor forks all its workers before it starts its own thread.
    """
    return multiprocessing.get_context("fork" if can_fork() else "spawn")


def init_worker(settings_json: str) -> None:
    """Pool initializer: the parent's settings, and none of its (forked) database connections."""
    from watcher import gc_tuning
    from watcher.db import forget_inherited_engines

    forget_inherited_engines()
    install_settings(Settings.model_validate_json(settings_json))
    gc_tuning.settle()  # a spawned worker's imports are done by now; a forked one inherits the parent's


def submit(pool: Executor, func: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> Future[R]:
    """``pool.submit``, or a future already failed with BrokenProcessPool when the pool is broken,
    so callers handle a dead worker in one place (when they collect results)."""
    try:
        return pool.submit(func, *args, **kwargs)
    except BrokenProcessPool as error:
        failed: Future[R] = Future()
        failed.set_exception(error)
        return failed
