"""Configured sources joined with their stored health, for `sources list` and the admin page."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, select

from watcher.db import get_engine
from watcher.models import SourceState
from watcher.sources.config import SourceConfig


def source_health_rows(sources: Sequence[SourceConfig]) -> list[dict[str, Any]]:
    """One row per configured source; never-polled sources show empty health."""
    with Session(get_engine()) as session:
        states = {row.source_id: row for row in session.exec(select(SourceState)).all()}
    rows = []
    for source in sources:
        state = states.get(source.id) or SourceState(source_id=source.id)
        rows.append(
            {
                "id": source.id,
                "name": source.name,
                "type": source.type,
                "url": source.url,
                "enabled": source.enabled and state.enabled,
                "interval_s": source.interval_s,
                "last_attempt_at": state.last_attempt_at,
                "last_success_at": state.last_success_at,
                "consecutive_failures": state.consecutive_failures,
                "last_error": state.last_error,
                "last_status": state.last_status,
                "items_seen": state.items_seen,
                "items_last_round": state.items_last_round,
                "next_poll_at": state.next_poll_at,
            }
        )
    return rows
