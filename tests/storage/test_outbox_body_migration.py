"""Moving message bytes to ``outbox_body`` keeps every queued message, both ways, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from tests.conftest import fresh_postgres_database
from watcher.migrate import alembic_config

BEFORE = "c3a9e51f0b27"
SPLIT = "9d0b7c41e2a6"
MESSAGE = b"From: a@example.eu\r\nSubject: kept\r\n\r\n" + b"x" * 50_000 + b"\r\n"


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all, so the test can stop the history where it likes."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'history.sqlite'}"
        return
    with fresh_postgres_database("cw_history") as url:
        yield url


def _queue_one(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO outbox (recipient_key, message_key, kind, recipient, subject, message_id, raw,"
                " state, attempts, next_attempt_at, created_at) VALUES ('addr:a@example.eu', 'k', 'digest',"
                " 'a@example.eu', 'kept', '<m@x>', :raw, 'sent', 1, '2026-11-22 08:00:00',"
                " '2026-11-22 08:00:00')"
            ),
            {"raw": MESSAGE},
        )
    engine.dispose()


def _read(url: str, query: str) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = [tuple(row) for row in conn.execute(text(query))]
    engine.dispose()
    return rows


def test_upgrade_moves_bytes_and_downgrade_brings_them_back(empty_url: str) -> None:
    config = alembic_config(empty_url)
    command.upgrade(config, BEFORE)
    _queue_one(empty_url)

    command.upgrade(config, SPLIT)
    joined = "SELECT o.subject, b.raw FROM outbox o JOIN outbox_body b ON b.outbox_id = o.id"
    assert _read(empty_url, joined) == [("kept", MESSAGE)]

    command.downgrade(config, BEFORE)
    assert _read(empty_url, "SELECT subject, raw FROM outbox") == [("kept", MESSAGE)]


def test_deleting_an_outbox_row_deletes_its_bytes(empty_url: str) -> None:
    from watcher.db import get_engine

    command.upgrade(alembic_config(empty_url), "head")
    engine = get_engine(empty_url)  # ours: SQLite enforces foreign keys only when told to
    with engine.begin() as conn:
        row_id = conn.execute(
            text(
                "INSERT INTO outbox (recipient_key, message_key, kind, recipient, subject, message_id,"
                " state, attempts, next_attempt_at, created_at) VALUES ('addr:a@example.eu', 'k', 'digest',"
                " 'a@example.eu', 's', '<m@x>', 'sent', 1, '2026-11-22 08:00:00', '2026-11-22 08:00:00')"
                " RETURNING id"
            )
        ).scalar_one()
        body = text("INSERT INTO outbox_body (outbox_id, raw) VALUES (:id, :raw)")
        conn.execute(body, {"id": row_id, "raw": MESSAGE})
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM outbox"))
    assert _read(empty_url, "SELECT count(*) FROM outbox_body") == [(0,)]
