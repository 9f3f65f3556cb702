"""Engine and session handling for SQLite (default, WAL) and PostgreSQL.

One engine per URL per process: creating engines is costly and SQLite's WAL pragmas must be
applied on every new connection, which the connect listener does.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import orjson
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlmodel import Session, create_engine

from watcher.settings import get_settings

T = TypeVar("T")
IN_CHUNK = 500  # bound parameters per IN (...): well under every backend's limit


def in_chunks(values: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    """``values`` in slices of ``size``: one ``IN (...)`` list or one batch each (``itertools.batched``
    arrives with Python 3.12)."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


SQLITE_BUSY_TIMEOUT_MS = 30_000  # how long a SQLite writer waits for another's lock before failing
SQLITE_CACHE_KIB = 16_384  # per connection; SQLite's default of 2 MiB re-read index pages at every insert


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL (readers never wait for the writer), and two settings measured on a first round's
    inserts (20,000 items, commits of 1,000 in savepoints of 20): a 16 MiB page cache and
    savepoint journals in memory rather than temporary files took 620,000 system calls down to
    130,000 and the inserts from 2.1 to 1.1 s."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def sqlite_outside_transaction(session: Session) -> Connection | None:
    """The session's connection when it is SQLite and no transaction is open on it yet, else None.

    Python's sqlite3 (legacy transaction control, Python < 3.12) sends BEGIN only before DML; a
    caller that needs the transaction earlier (for a SAVEPOINT, or to take the write lock) sends its
    own BEGIN on this connection, and pysqlite honours it.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return None
    driver = connection.connection.driver_connection
    return connection if driver is not None and not driver.in_transaction else None


def json_dumps(value: Any) -> str:
    """The text of a JSON column: orjson, compact and UTF-8.

    A first round writes seven JSON values per item; ``json.dumps`` spent 20 us on each row's
    (about 3% of the round), orjson an eighth of that. Reading keeps ``json.loads``, which also
    accepts whatever earlier versions wrote (ASCII escapes, spaces after separators).
    """
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def get_engine(url: str | None = None) -> Engine:
    """Engine for ``url`` (default: the configured database), created once per process and URL."""
    url = url or get_settings().resolved_database_url()
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = _create(url)
    return engine


def dispose_engines() -> None:
    """Close every pooled connection and forget the engines (tests, after settings change)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def forget_inherited_engines() -> None:
    """In a forked child: drop the parent's engines without closing their connections.

    Those connections belong to the parent; closing them here would end its PostgreSQL sessions.
    The child opens its own on first use.
    """
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose(close=False)
        _engines.clear()


def _create(url: str) -> Engine:
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, json_serializer=json_dumps
        )
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(
            url, pool_pre_ping=True, pool_size=10, max_overflow=20, json_serializer=json_dumps
        )
    return engine


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = Session(engine or get_engine(), expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
