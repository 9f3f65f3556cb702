"""Liveness and readiness: "the process answers" versus "it can do its job".

Ready means the database answers and its schema is at the migrations' head; a process that
started before `watcher db upgrade` finished, or against an older schema, says so instead of
failing on the first query.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

from watcher.migrate import alembic_config


@dataclass
class Readiness:
    ready: bool
    checks: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {"status": "ready" if self.ready else "not ready", "checks": self.checks}


@lru_cache(maxsize=1)
def migration_heads() -> frozenset[str]:
    """The revisions this build's migrations end at (read once: they ship with the code)."""
    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def _current_revisions(conn: Connection) -> frozenset[str]:
    """The database's revisions, read directly (Alembic's MigrationContext logs on every call, and
    probes call this every few seconds)."""
    if not inspect(conn).has_table("alembic_version"):
        return frozenset()
    return frozenset(str(row[0]) for row in conn.execute(text("SELECT version_num FROM alembic_version")))


def readiness(engine: Engine) -> Readiness:
    """Check the database connection and the schema revision; never raises."""
    result = Readiness(ready=False)
    try:
        with engine.connect() as conn:
            current = _current_revisions(conn)
    except Exception as error:
        result.checks["database"] = f"unreachable: {type(error).__name__}: {error}"[:300]
        return result
    result.checks["database"] = "ok"
    heads = migration_heads()
    if current == heads:
        result.checks["migrations"] = "at head"
        result.ready = True
    else:
        have = ", ".join(sorted(current)) or "none"
        want = ", ".join(sorted(heads))
        result.checks["migrations"] = f"database at {have}, code expects {want}: run `watcher db upgrade`"
    return result
