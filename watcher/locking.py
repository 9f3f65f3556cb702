"""A lock that lets exactly one scheduler run against a database.

PostgreSQL: a session-level advisory lock held on a dedicated connection, released by the server
when the process dies. SQLite: an exclusive ``flock`` on a file beside the database, released by
the kernel when the process dies. Either way a crashed holder never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path
from typing import IO, Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine, make_url

from watcher.db import is_sqlite


class LockHeld(RuntimeError):
    """Another process holds the lock."""


def _advisory_key(name: str) -> int:
    digest = hashlib.sha256(name.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class DatabaseLock:
    """Exclusive, process-lifetime lock named ``name`` on the database behind ``engine``."""

    def __init__(self, engine: Engine, name: str = "watcher-scheduler") -> None:
        self.engine = engine
        self.name = name
        self._connection: Connection | None = None
        self._file: IO[Any] | None = None

    def _lock_path(self) -> Path:
        database = make_url(str(self.engine.url)).database or "memory"
        return Path(f"{database}.{self.name}.lock")

    def try_acquire(self) -> bool:
        """Take the lock if free; True on success."""
        if is_sqlite(str(self.engine.url)):
            return self._try_file_lock()
        connection = self.engine.connect()
        got = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": _advisory_key(self.name)})
        if got.scalar():
            connection.commit()
            self._connection = connection
            return True
        connection.close()
        return False

    def _try_file_lock(self) -> bool:
        path = self._lock_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle
        return True

    def acquire(self) -> None:
        """Take the lock or raise LockHeld with a message an operator can act on."""
        if not self.try_acquire():
            where = self.engine.url.render_as_string(hide_password=True)
            raise LockHeld(
                f"another scheduler already runs against {where}"
                " (only one may run per database); stop it or use `watcher serve` for the web app alone"
            )

    def is_held(self) -> bool:
        """Still ours? False once the PostgreSQL session holding the lock is gone (server restart,
        network cut): the server has then freed it and another process may hold it now."""
        if self._file is not None:
            return True
        if self._connection is None:
            return False
        try:
            self._connection.execute(text("SELECT 1"))
            self._connection.commit()
        except Exception:
            return False
        return True

    def release(self) -> None:
        if self._connection is not None:
            self._connection.execute(
                text("SELECT pg_advisory_unlock(:key)"), {"key": _advisory_key(self.name)}
            )
            self._connection.close()
            self._connection = None
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def __enter__(self) -> DatabaseLock:
        self.acquire()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()
