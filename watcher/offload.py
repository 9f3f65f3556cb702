"""CPU-bound work of a round (parsing feeds and pages) off the event loop when a pool exists.

Adapters call :func:`run_cpu` for their parse step. During a big round the pipeline installs its
process pool with :func:`cpu_executor`, so parsing runs on the other cores while the event loop
keeps fetching; in small rounds and in tests nothing is installed and the call runs inline,
exactly as before. A contextvar keeps adapters free of any pipeline argument.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

_executor: ContextVar[Executor | None] = ContextVar("watcher_cpu_executor", default=None)


@contextmanager
def cpu_executor(executor: Executor | None) -> Iterator[None]:
    """Make ``executor`` the place :func:`run_cpu` sends work to, for tasks created inside."""
    token = _executor.set(executor)
    try:
        yield
    finally:
        _executor.reset(token)


async def run_cpu(func: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
    """``func(*args, **kwargs)`` in the installed executor, or inline when there is none.

    ``func`` and its arguments must pickle (module-level functions, plain data).
    """
    executor = _executor.get()
    if executor is not None:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(executor, functools.partial(func, *args, **kwargs))
        except BrokenProcessPool:  # a killed worker must cost this call its speed, not its result
            _executor.set(None)
    return func(*args, **kwargs)
