"""Import: restore an export into an empty database, all or nothing.

The target is brought to the export's schema revision first (a fresh database is migrated to it),
rows are inserted table by table in one transaction, and only then is the schema upgraded to this
build's head: an export from an older release restores through the ordinary migrations. A file that
is cut short, names another format or version, or meets a non-empty database is refused and leaves
the database as it was.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection, Engine

from watcher import migrate
from watcher.transfer.codec import RowDecoder
from watcher.transfer.dump import FORMAT, VERSION, reflected_tables

INSERT_BATCH = 500


class TransferError(ValueError):
    """The export cannot be imported here; the message says why and what to do."""


def _records(lines: IO[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise TransferError(f"line {number}: not JSON ({error.msg})") from None
        if not isinstance(record, dict):
            raise TransferError(f"line {number}: expected a JSON object")
        yield number, record


def _check_header(record: dict[str, Any]) -> str:
    if record.get("format") != FORMAT:
        raise TransferError(f"not a Cluster Watch export (format {record.get('format')!r})")
    if record.get("version") != VERSION:
        raise TransferError(f"export format version {record.get('version')!r}; this build reads {VERSION}")
    revision = record.get("schema_revision")
    if not isinstance(revision, str):
        raise TransferError("the export names no schema revision (was the source database migrated?)")
    return revision


def _prepare_schema(engine: Engine, url: str, revision: str) -> None:
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current is None:
        migrate.upgrade(url, revision=revision)
    elif current != revision:
        raise TransferError(
            f"the database is at schema {current} but the export at {revision}: import into a new, "
            "empty database (it is migrated to the export's revision, then upgraded)"
        )


def _check_empty(conn: Connection) -> None:
    filled = [
        table.name
        for table in reflected_tables(conn)
        if conn.execute(select(func.count()).select_from(table)).scalar()
    ]
    if filled:
        names = ", ".join(filled)
        raise TransferError(f"the database is not empty (rows in {names}): import needs an empty one")


def _reset_sequences(conn: Connection) -> None:
    """PostgreSQL: move each serial/identity sequence past the imported ids."""
    for table in reflected_tables(conn):
        for column in table.primary_key.columns:
            sequence = conn.execute(
                text("SELECT pg_get_serial_sequence(:table, :column)"),
                {"table": f'"{table.name}"', "column": column.name},
            ).scalar()
            if sequence:
                top = f'SELECT MAX("{column.name}") FROM "{table.name}"'
                conn.execute(text(f"SELECT setval(:seq, COALESCE(({top}), 0) + 1, false)"), {"seq": sequence})


def _insert_all(conn: Connection, records: Iterator[tuple[int, dict[str, Any]]]) -> dict[str, int]:
    tables = {table.name: table for table in reflected_tables(conn)}
    decoders = {name: RowDecoder(table) for name, table in tables.items()}
    counts: dict[str, int] = {}
    batch: list[dict[str, Any]] = []
    current: str | None = None

    def flush() -> None:
        if batch and current is not None:
            conn.execute(tables[current].insert(), batch)
            batch.clear()

    for number, record in records:
        if record.get("end"):
            flush()
            expected = {name: n for name, n in (record.get("counts") or {}).items() if n}
            if expected != counts:
                raise TransferError(f"row counts differ from the export's trailer: {counts} vs {expected}")
            return counts
        name = record.get("table")
        if name not in tables:
            raise TransferError(f"line {number}: table {name!r} does not exist in this schema")
        if name != current:
            flush()
            current = name
        try:
            batch.append(decoders[name](record.get("row") or {}))
        except (ValueError, TypeError) as error:
            raise TransferError(f"line {number}: {error}") from None
        counts[name] = counts.get(name, 0) + 1
        if len(batch) >= INSERT_BATCH:
            flush()
    raise TransferError("the export ends without its trailer: the file is truncated")


def import_database(engine: Engine, lines: IO[str], *, url: str) -> dict[str, int]:
    """Restore the export read from ``lines`` into the empty database at ``url``; rows per table."""
    records = _records(lines)
    first = next(records, None)
    if first is None:
        raise TransferError("the export file is empty")
    revision = _check_header(first[1])
    _prepare_schema(engine, url, revision)
    with engine.begin() as conn:
        _check_empty(conn)
        counts = _insert_all(conn, records)
        if engine.dialect.name == "postgresql":
            _reset_sequences(conn)
    migrate.upgrade(url)
    return counts
