"""Only one scheduler per database: the second process is refused, a dead holder frees the lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from sqlalchemy.engine import Engine

from watcher.locking import DatabaseLock

HOLDER = """
import sys, time
from watcher.db import get_engine
from watcher.locking import DatabaseLock
lock = DatabaseLock(get_engine(sys.argv[1]))
assert lock.try_acquire()
print("held", flush=True)
time.sleep(60)
"""


def test_second_lock_is_refused_and_released_on_exit(engine: Engine) -> None:
    first, second = DatabaseLock(engine), DatabaseLock(engine)
    assert first.try_acquire()
    try:
        assert not second.try_acquire()
    finally:
        first.release()
    assert second.try_acquire()
    second.release()


def test_lock_of_a_killed_process_is_freed(engine: Engine, db_url: str) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, db_url], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert not DatabaseLock(engine).try_acquire()
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
        deadline = time.monotonic() + 10
        lock = DatabaseLock(engine)
        while not lock.try_acquire():
            assert time.monotonic() < deadline, "lock not freed after the holder died"
            time.sleep(0.1)
        lock.release()
    finally:
        if holder.poll() is None:
            holder.kill()
