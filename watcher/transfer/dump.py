"""Export: stream every table to JSON lines without holding a table in memory."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO

from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.schema import Table

from watcher.transfer.codec import SKIPPED_TABLES, dumps, encode_row

FORMAT = "cluster-watch-export"
VERSION = 1
FETCH_BATCH = 1000


def reflected_tables(conn: Connection) -> list[Table]:
    """The database's own tables in foreign-key order (parents first), minus Alembic's bookkeeping."""
    metadata = MetaData()
    metadata.reflect(bind=conn)
    return [table for table in metadata.sorted_tables if table.name not in SKIPPED_TABLES]


def _rows(conn: Connection, table: Table) -> Iterator[dict[str, object]]:
    order = list(table.primary_key.columns) or list(table.columns)
    result = conn.execution_options(stream_results=True, yield_per=FETCH_BATCH).execute(
        select(table).order_by(*order)
    )
    for row in result.mappings():
        yield encode_row(dict(row))


def export_database(engine: Engine, out: IO[str]) -> dict[str, int]:
    """Write the whole database to ``out``; returns rows per table. Reads one consistent snapshot.

    On PostgreSQL the export runs in one REPEATABLE READ transaction, so rows written meanwhile
    cannot make the dump inconsistent (an outbox row without its subscriber, say).
    """
    counts: dict[str, int] = {}
    options = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" else {}
    with engine.connect().execution_options(**options) as conn, conn.begin():
        tables = reflected_tables(conn)
        revision = MigrationContext.configure(conn).get_current_revision()
        header = {
            "format": FORMAT,
            "version": VERSION,
            "schema_revision": revision,
            "source_dialect": engine.dialect.name,
            "exported_at": datetime.now(UTC).isoformat(),
            "tables": [table.name for table in tables],
        }
        out.write(dumps(header) + "\n")
        for table in tables:
            counts[table.name] = 0
            for row in _rows(conn, table):
                out.write(dumps({"table": table.name, "row": row}) + "\n")
                counts[table.name] += 1
    out.write(dumps({"end": True, "counts": counts}) + "\n")
    return counts
