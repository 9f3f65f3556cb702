"""Column values ↔ plain JSON, by the column's reflected type (the same on SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import types
from sqlalchemy.sql.schema import Table

SKIPPED_TABLES = frozenset({"alembic_version"})


def encode(value: Any) -> Any:
    if isinstance(value, datetime):
        # Every timestamp is UTC (models store UTC); SQLite hands them back naive, PostgreSQL aware.
        aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return aware.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Decimal):
        return str(value)
    return value


def encode_row(row: dict[str, Any]) -> dict[str, Any]:
    return {key: encode(value) for key, value in row.items()}


def _decoder(column_type: types.TypeEngine[Any]) -> Any:
    if isinstance(column_type, types.DateTime):
        return datetime.fromisoformat
    if isinstance(column_type, types.Date):
        return date.fromisoformat
    if isinstance(column_type, types.Time):
        return time.fromisoformat
    if isinstance(column_type, types._Binary):
        return base64.b64decode
    return None  # JSON, numbers, strings, booleans: plain JSON already


class RowDecoder:
    """Turns exported JSON rows back into values the target table's columns accept."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.decoders = {column.name: _decoder(column.type) for column in table.columns}

    def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
        unknown = set(row) - set(self.decoders)
        if unknown:
            names = ", ".join(sorted(unknown))
            raise ValueError(f"table {self.table.name}: columns not in this schema: {names}")
        decoded = {}
        for name, value in row.items():
            decoder = self.decoders[name]
            decoded[name] = decoder(value) if value is not None and decoder is not None else value
        return decoded


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
