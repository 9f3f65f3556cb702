"""`watcher export` / `watcher import`: every table moves SQLite → PostgreSQL and back unchanged."""

from __future__ import annotations

import io
import json
import secrets
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from subscribers.models import Topic, TopicFollow
from subscribers.outbox import enqueue
from tests.conftest import PG_ADMIN_URL
from tests.subscribers.factories import make_item, make_subscriber
from tests.support.outbox_data import message
from watcher.cli import app
from watcher.db import get_engine
from watcher.models import Correction, ItemEvent, SourceState
from watcher.transfer import FORMAT, TransferError, export_database, import_database


def _populate(engine: Engine) -> None:
    with Session(engine) as session:
        session.add(SourceState(source_id="ec-grow", etag='"abc"', consecutive_failures=2, last_error="boom"))
        session.commit()
        item = make_item(
            session, title="Bando digitale — città", scores={"digital": 7.5}, deadline=date(2026, 12, 1),
            why={"digital": ["digitale"]}, deadlines=["2026-12-01"],
        )
        assert item.id is not None
        session.add(ItemEvent(item_id=item.id, kind="deadline_changed", old_value="a", new_value="b"))
        session.add(Correction(item_id=item.id, ecosystems=["health"], kind="event"))
        subscriber = make_subscriber(session, "lettore@example.it", language="it", ecosystems=["digital"])
        topic = Topic(name="Salute", filters={"ecosystems": ["health"]})
        session.add(topic)
        session.commit()
        assert subscriber.id is not None and topic.id is not None
        session.add(TopicFollow(subscriber_id=subscriber.id, topic_id=topic.id))
        enqueue(session, subscriber_id=subscriber.id, message_key="digest:2026-W47", kind="digest",
                message=message("lettore@example.it", subject="Più notizie ✓"))
        session.commit()
        session.execute(text("UPDATE outbox SET state = 'sent', sent_at = :at"), {"at": datetime.now(UTC)})
        session.commit()


def _dump(engine: Engine) -> list[str]:
    out = io.StringIO()
    export_database(engine, out)
    return out.getvalue().splitlines()


@pytest.fixture
def other_database(db_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty, unmigrated database of the *other* kind than ``db_url``."""
    if db_url.startswith("sqlite"):
        request_pg = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        name = f"cw_import_{secrets.token_hex(4)}"
        with request_pg.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        yield url
        get_engine(url).dispose()
        with request_pg.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        request_pg.dispose()
    else:
        yield f"sqlite:///{tmp_path / 'imported.sqlite'}"


def test_round_trip_to_the_other_database_keeps_every_row(engine: Engine, other_database: str) -> None:
    _populate(engine)
    original = _dump(engine)
    header = json.loads(original[0])
    assert header["format"] == FORMAT and header["version"] == 1
    assert {"item", "correction", "topic", "subscriber", "outbox", "source_state"} <= set(header["tables"])
    target = get_engine(other_database)
    counts = import_database(target, io.StringIO("\n".join(original) + "\n"), url=other_database)
    assert counts["item"] == 1 and counts["outbox"] == 1 and counts["topic_follow"] == 1
    copied = _dump(target)
    assert copied[1:] == original[1:]  # every row, every value; only the header's time and dialect differ
    with Session(target) as session:  # ids keep counting after the imported ones (PostgreSQL sequences)
        item = make_item(session)
    assert item.id == 2


def test_import_refuses_a_database_that_is_not_empty(engine: Engine) -> None:
    _populate(engine)
    lines = "\n".join(_dump(engine)) + "\n"
    with pytest.raises(TransferError, match="not empty"):
        import_database(engine, io.StringIO(lines), url=str(engine.url.render_as_string(hide_password=False)))


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda lines: lines[:-1], "truncated"),
        (lambda lines: ['{"format": "other"}', *lines[1:]], "not a Cluster Watch export"),
        (lambda lines: [lines[0].replace('"version":1', '"version":99'), *lines[1:]], "version 99"),
        (lambda lines: [*lines[:2], "{not json", *lines[2:]], "line 3: not JSON"),
    ],
)
def test_bad_files_are_refused_and_leave_the_database_empty(
    sqlite_engine: Engine, tmp_path: Path, mangle: object, message: str
) -> None:
    _populate(sqlite_engine)
    lines = mangle(_dump(sqlite_engine))  # type: ignore[operator]
    url = f"sqlite:///{tmp_path / 'target.sqlite'}"
    target = get_engine(url)
    with pytest.raises(TransferError, match=message):
        import_database(target, io.StringIO("\n".join(lines) + "\n"), url=url)
    with target.connect() as conn:
        tables = [row[0] for row in conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))]
        assert all(
            conn.execute(text(f'SELECT COUNT(*) FROM "{name}"')).scalar() == 0
            for name in tables
            if name != "alembic_version"
        )


def test_cli_export_then_import(
    sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _populate(sqlite_engine)
    dump = tmp_path / "backup.jsonl"
    runner = CliRunner()
    result = runner.invoke(app, ["export", str(dump)])
    assert result.exit_code == 0, result.output
    assert json.loads(dump.read_text().splitlines()[0])["format"] == FORMAT
    monkeypatch.setenv("WATCHER_DATABASE_URL", f"sqlite:///{tmp_path / 'restored.sqlite'}")
    from watcher.settings import get_settings

    get_settings.cache_clear()
    result = runner.invoke(app, ["import", str(dump)])
    assert result.exit_code == 0, result.output
    assert "imported" in result.output
    again = runner.invoke(app, ["import", str(dump)])
    assert again.exit_code == 1 and "not empty" in again.output
