"""Configured sources joined with their stored health, for `sources list` and the admin page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from watcher.db import get_engine
from watcher.models import SourceState
from watcher.sources.config import SourceConfig


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """A source id with its configuration (None once removed from the file) and its health row."""

    source_id: str
    source: SourceConfig | None
    state: SourceState

    @property
    def enabled(self) -> bool:
        """Polled at all: enabled in the sources file and not disabled by an admin."""
        return bool(self.source and self.source.enabled) and self.state.enabled


def sources_with_health(
    session: Session, sources: Sequence[SourceConfig], *, include_unconfigured: bool = False
) -> list[SourceHealth]:
    """Configured sources in file order (never-polled ones with empty health); then, if asked,
    sources that have health rows but are no longer configured, by id."""
    states = {row.source_id: row for row in session.exec(select(SourceState)).all()}
    ids = [source.id for source in sources]
    if include_unconfigured:
        ids += sorted(set(states) - set(ids))
    by_id = {source.id: source for source in sources}
    return [
        SourceHealth(id_, by_id.get(id_), states.get(id_) or SourceState(source_id=id_))
        for id_ in ids
    ]


def source_health_rows(sources: Sequence[SourceConfig]) -> list[dict[str, Any]]:
    """One row per configured source for `watcher sources list`."""
    with Session(get_engine()) as session:
        joined = sources_with_health(session, sources)
    rows = []
    for health in joined:
        source, state = health.source, health.state
        assert source is not None  # configured sources only
        rows.append(
            {
                "id": source.id,
                "name": source.name,
                "type": source.type,
                "url": source.url,
                "enabled": health.enabled,
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
