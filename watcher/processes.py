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
from multiprocessing.context import BaseContext

from watcher.settings import Settings, install_settings


def start_method() -> BaseContext:
    """``fork`` when no other thread could hold a lock at fork time, else ``spawn``.

    With ``fork``, ProcessPoolExecutor forks all its workers before it starts its own thread.
    """
    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def init_worker(settings_json: str) -> None:
    """Pool initializer: the parent's settings, and none of its (forked) database connections."""
    from watcher.db import forget_inherited_engines

    forget_inherited_engines()
    install_settings(Settings.model_validate_json(settings_json))
