"""Fixtures shared by the whole suite: isolated settings, both databases, a loopback HTTP server.

PostgreSQL tests use a fresh database per test session (``cw_test_<random>``) so parallel runs and
developers never see each other's rows; when the server is unreachable they skip and say why.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine

from watcher import migrate
from watcher.db import dispose_engines, get_engine
from watcher.settings import get_settings

pytest_plugins = ["tests.support.http_server", "tests.support.smtp_server", "tests.support.browser"]

TESTS_DIR = Path(__file__).parent
DATA_DIR = TESTS_DIR / "data"
PG_ADMIN_URL = os.environ.get(
    "WATCHER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(scope="session")
def pattern_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Compiled vocabulary shared by the session's tests (never the user's cache)."""
    return tmp_path_factory.mktemp("patterns")


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pattern_cache: Path) -> Iterator[None]:
    """Every test gets its own data dir and SQLite file, loopback fetching, a known secret."""
    monkeypatch.setenv("WATCHER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("WATCHER_CACHE_DIR", str(pattern_cache))
    monkeypatch.setenv("WATCHER_DATABASE_URL", f"sqlite:///{tmp_path / 'data' / 'watcher.db'}")
    monkeypatch.setenv("WATCHER_ALLOW_PRIVATE_NETWORKS", "true")
    monkeypatch.setenv("WATCHER_SECRET_KEY", "test-secret-key")
    monkeypatch.setenv("WATCHER_SMTP_URL", "")
    monkeypatch.delenv("WATCHER_SOURCES", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _postgres_reason() -> str | None:
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as error:  # any failure means "not reachable here"
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {type(error).__name__}: {error}"[:300]
    return None


@contextmanager
def fresh_postgres_database(prefix: str) -> Iterator[str]:
    """URL of a new, empty PostgreSQL database, dropped afterwards; skips the test when unreachable."""
    reason = _postgres_reason()
    if reason:
        pytest.skip(reason)
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        dispose_engines()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a fresh, migrated-on-demand PostgreSQL database for this test session."""
    with fresh_postgres_database("cw_test") as url:
        yield url


def _truncate_all(engine: Engine) -> None:
    from sqlmodel import SQLModel

    import watcher.all_models  # noqa: F401

    existing = set(inspect(engine).get_table_names())
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables if t.name in existing)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A migrated, empty database: SQLite in tmp_path, then PostgreSQL. Sets WATCHER_DATABASE_URL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'db.sqlite'}"
        migrate.upgrade(url)
    else:
        url = request.getfixturevalue("postgres_url")
        migrate.upgrade(url)
        _truncate_all(get_engine(url))
    monkeypatch.setenv("WATCHER_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url


@pytest.fixture
def engine(db_url: str) -> Engine:
    """Engine for ``db_url`` (runs every test using it on SQLite and PostgreSQL)."""
    return get_engine(db_url)


@pytest.fixture
def sqlite_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """A migrated SQLite engine only, for tests where the backend does not matter."""
    url = f"sqlite:///{tmp_path / 'only.sqlite'}"
    migrate.upgrade(url)
    monkeypatch.setenv("WATCHER_DATABASE_URL", url)
    get_settings.cache_clear()
    return get_engine(url)
