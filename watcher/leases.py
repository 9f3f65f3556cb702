"""Source leases: several workers share the polling without polling a source twice per interval.

On PostgreSQL a worker claims due sources with one ``UPDATE ... WHERE source_id IN (SELECT ... FOR
UPDATE SKIP LOCKED)``: concurrent claimers skip each other's rows instead of waiting, and the lease
(``lease_owner``/``lease_until`` on ``source_state``) keeps a source out of everyone else's hands
while its round runs, even after the row lock is gone. The round writes the next poll time; the
lease is then released. A worker that dies leaves a lease that simply expires.

SQLite has a single writer and runs a single worker, so claiming is just "what is due".
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Engine

from watcher.db import is_sqlite
from watcher.models import SOURCE_STATE_TABLE
from watcher.pipeline import due_source_ids
from watcher.sources.config import SourceConfig

STATE = SOURCE_STATE_TABLE


def ensure_rows(engine: Engine, source_ids: Sequence[str]) -> None:
    """Create missing health rows (a never-polled source has none) so they can be locked and leased.

    Reads which rows exist first: a worker claims every few seconds, and re-inserting thousands of
    rows each time (even as no-op conflicts) dominated its polling.
    """
    if not source_ids:
        return
    with engine.connect() as conn:
        existing = set(
            conn.execute(select(STATE.c.source_id).where(STATE.c.source_id.in_(source_ids))).scalars()
        )
    source_ids = [source_id for source_id in source_ids if source_id not in existing]
    if not source_ids:
        return
    values = [
        {
            "source_id": source_id,
            "enabled": True,
            "consecutive_failures": 0,
            "items_seen": 0,
            "items_last_round": 0,
        }
        for source_id in source_ids
    ]
    with engine.begin() as conn:
        conn.execute(postgresql.insert(STATE).values(values).on_conflict_do_nothing())


def claim_due_sources(
    engine: Engine,
    *,
    worker_id: str,
    limit: int,
    lease_s: float,
    now: datetime,
    sources: Sequence[SourceConfig],
) -> list[str]:
    """Lease up to ``limit`` due, enabled sources among ``sources`` to ``worker_id``; their ids."""
    if limit <= 0:
        return []
    enabled = [source.id for source in sources if source.enabled]
    if is_sqlite(str(engine.url)):
        return due_source_ids(engine, sources, now=now)[:limit]
    if not enabled:
        return []
    ensure_rows(engine, enabled)
    due = (
        select(STATE.c.source_id)
        .where(
            STATE.c.source_id.in_(enabled),
            STATE.c.enabled.is_(True),
            or_(STATE.c.next_poll_at.is_(None), STATE.c.next_poll_at <= now),
            or_(STATE.c.lease_until.is_(None), STATE.c.lease_until < now),
        )
        .order_by(STATE.c.next_poll_at.asc().nulls_first(), STATE.c.source_id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    statement = (
        update(STATE)
        .where(STATE.c.source_id.in_(due.scalar_subquery()))
        .values(lease_owner=worker_id, lease_until=now + timedelta(seconds=lease_s))
        .returning(STATE.c.source_id)
    )
    with engine.begin() as conn:
        claimed = [row.source_id for row in conn.execute(statement)]
    order = {source_id: index for index, source_id in enumerate(enabled)}
    return sorted(claimed, key=order.__getitem__)


def extend_leases(
    engine: Engine, *, worker_id: str, source_ids: Sequence[str], lease_s: float, now: datetime
) -> int:
    """Push our leases forward during a long round; returns how many are still ours."""
    if not source_ids or is_sqlite(str(engine.url)):
        return len(source_ids)
    with engine.begin() as conn:
        result = conn.execute(
            update(STATE)
            .where(and_(STATE.c.source_id.in_(list(source_ids)), STATE.c.lease_owner == worker_id))
            .values(lease_until=now + timedelta(seconds=lease_s))
        )
    return int(result.rowcount or 0)


def release_leases(engine: Engine, *, worker_id: str, source_ids: Sequence[str]) -> int:
    """Give our leases back after the round recorded each source's next poll time."""
    if not source_ids or is_sqlite(str(engine.url)):
        return 0
    with engine.begin() as conn:
        result = conn.execute(
            update(STATE)
            .where(and_(STATE.c.source_id.in_(list(source_ids)), STATE.c.lease_owner == worker_id))
            .values(lease_owner=None, lease_until=None)
        )
    return int(result.rowcount or 0)
