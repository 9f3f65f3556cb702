"""One polling round: fetch → adapter → normalise → classify → store, source by source.

A source that fails records its error in its health row and the round carries on; nothing a
source sends can stop the others or the process. In a small round, classification and database
writes happen in worker threads so slow storage never stalls the fetches in flight; big rounds
are split into chunks that pool processes poll end to end (``watcher.pipeline_pool``).
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ParamSpec, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col, select

from watcher.classify import Classifier
from watcher.classify.document import Classification, Document
from watcher.db import get_engine, in_chunks
from watcher.drafts import ItemDraft
from watcher.fetch import FetchError, HTTPStatusError, ParseError, Validators
from watcher.fetch.backoff import next_poll_delay_s
from watcher.fetch.client import Fetcher
from watcher.models import SOURCE_STATE_TABLE, SourceState
from watcher.normalize import NormalizedItem, normalize
from watcher.pipeline_pool import poll_in_pool, shared_pool, workers_start_at_once
from watcher.pipeline_writer import RoundWriter
from watcher.settings import Settings, get_settings
from watcher.sources.base import Collected, adapter_for
from watcher.sources.config import SourceConfig, load_sources
from watcher.store import StoreReport, publish_events

log = logging.getLogger(__name__)
# Dates written without a year are resolved against the publication day as Brussels sees it.
BRUSSELS = ZoneInfo("Europe/Brussels")

ProgressCallback = Callable[["SourceOutcome"], None]
P = ParamSpec("P")
R = TypeVar("R")


@dataclass(slots=True)
class SourceOutcome:
    """What one source's round produced, for the summary table and the health row."""

    source_id: str
    ok: bool = False
    not_modified: bool = False
    seen: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    error: str | None = None
    status: int | None = None
    retry_after_s: float | None = None
    warnings: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0


# What a round writes to a source's state row (the lease and ``enabled`` belong to others).
HEALTH_COLUMNS = tuple(
    SOURCE_STATE_TABLE.c[name]
    for name in (
        "last_attempt_at", "last_success_at", "consecutive_failures", "last_error", "items_last_round",
        "items_seen", "etag", "last_modified", "last_status", "next_poll_at",
    )
)
# A source's first health row starts from the model's defaults (no failures, nothing seen yet).
_NEW_HEALTH: dict[str, Any] = {
    column.name: SourceState.model_fields[column.name].default for column in HEALTH_COLUMNS
}


@dataclass(slots=True)
class _HealthUpdate:
    """One source's round result, queued for the next batched health write."""

    source: SourceConfig
    outcome: SourceOutcome
    validators: Validators | None  # new conditional-GET validators, when the fetch produced some
    at: datetime


@dataclass(slots=True)
class RoundReport:
    outcomes: list[SourceOutcome] = field(default_factory=list)

    def in_order_of(self, sources: Sequence[SourceConfig]) -> None:
        """Outcomes in the order the sources were given (they finish in any order)."""
        order = {source.id: index for index, source in enumerate(sources)}
        self.outcomes.sort(key=lambda outcome: order[outcome.source_id])

    @property
    def failed(self) -> int:
        return sum(1 for outcome in self.outcomes if not outcome.ok)

    @property
    def new(self) -> int:
        return sum(outcome.new for outcome in self.outcomes)

    @property
    def updated(self) -> int:
        return sum(outcome.updated for outcome in self.outcomes)


def select_sources(sources: Sequence[SourceConfig], source_ids: Sequence[str] | None) -> list[SourceConfig]:
    """The sources to poll; unknown ids are a configuration error, not silence."""
    if not source_ids:
        return [source for source in sources if source.enabled]
    by_id = {source.id: source for source in sources}
    unknown = [source_id for source_id in source_ids if source_id not in by_id]
    if unknown:
        raise ValueError(f"unknown source id(s): {', '.join(unknown)}; see `watcher sources list`")
    return [by_id[source_id] for source_id in source_ids]


def _document_for(item: NormalizedItem, default_kind: str | None) -> Document:
    return Document(
        id=item.guid,
        title=item.title,
        text=item.text,
        url=item.url,
        language=item.language or None,
        identifier=item.identifier,
        published=item.published.astimezone(BRUSSELS).date() if item.published else None,
        deadlines=list(item.deadlines),
        default_kind=item.kind_hint or default_kind,
        programmes=list(item.programmes),
    )


Prepared = tuple[list[tuple[NormalizedItem, Classification]], list[str]]


def prepare(classifier: Classifier, drafts: Sequence[ItemDraft], default_kind: str | None) -> Prepared:
    """Normalise and classify ``drafts``; an item that cannot be normalised is skipped with a warning."""
    pairs: list[tuple[NormalizedItem, Classification]] = []
    warnings: list[str] = []
    for draft in drafts:
        try:
            item = normalize(draft)
        except Exception as error:  # one bad item must not cost the others
            warnings.append(f"item {draft.guid!r} skipped: {type(error).__name__}: {error}")
            continue
        classification = classifier.classify(_document_for(item, default_kind))
        if item.event_date and not classification.event_date:
            classification.event_date = item.event_date
        pairs.append((item, classification))
    return pairs, warnings


class RoundRunner:
    """Runs one round over a set of sources, sharing one fetcher, classifier and engine."""

    def __init__(
        self,
        *,
        settings: Settings,
        engine: Engine,
        classifier: Classifier | None = None,
        inline: bool = False,
        publish: Callable[[StoreReport], None] | None = publish_events,
    ) -> None:
        """``inline`` runs CPU and database work on the event loop's thread (a pool worker has no
        other work to keep responsive, and threads would only fight over the GIL); ``publish``
        receives each committed batch's events (None: nobody would, so none are built). Without a
        ``classifier`` one is built when the first body arrives: a round of 304s never pays for
        compiling the vocabulary."""
        self.settings = settings
        self.engine = engine
        self._classifier = classifier
        self.inline = inline
        self.publish = publish
        # SQLite allows one writer: serialise our writes instead of fighting over the lock.
        self._write_lock = asyncio.Lock()
        self._polling = 0  # sources in poll_one, over all runs: they may still hand the writer items
        self._writer = RoundWriter(
            engine,
            run_blocking=self._blocking,
            publish=publish,
            lock=self._write_lock,
            polling=lambda: self._polling,
        )

    async def run(
        self,
        sources: Sequence[SourceConfig],
        *,
        progress: ProgressCallback | None = None,
        validators: dict[str, Validators] | None = None,
    ) -> RoundReport:
        """Poll ``sources``; ``validators`` are their stored ones when the caller has read them already."""
        report = RoundReport()
        states = validators
        if states is None:
            states = await self._blocking(stored_validators, self.engine, [source.id for source in sources])
        health: list[_HealthUpdate] = []  # this run's own: a runner may serve two runs at once
        async with Fetcher(self.settings) as fetcher:

            async def one(source: SourceConfig) -> None:
                outcome = await self.poll_one(source, fetcher, states[source.id], health)
                report.outcomes.append(outcome)
                if progress:
                    progress(outcome)

            try:
                await asyncio.gather(*(one(source) for source in sources))
            finally:
                await self._flush_health(health)
        report.in_order_of(sources)
        return report

    async def poll_one(
        self, source: SourceConfig, fetcher: Fetcher, validators: Validators, health: list[_HealthUpdate]
    ) -> SourceOutcome:
        """Poll one source; its health update joins ``health``, written in batches by this run."""
        self._polling += 1
        try:
            return await self._poll_one(source, fetcher, validators, health)
        finally:
            self._polling -= 1
            self._writer.nudge()

    async def _poll_one(
        self, source: SourceConfig, fetcher: Fetcher, validators: Validators, health: list[_HealthUpdate]
    ) -> SourceOutcome:
        outcome = SourceOutcome(source.id)
        started = asyncio.get_running_loop().time()
        collected: Collected | None = None
        try:
            collected = await adapter_for(source).collect(source, fetcher, validators)
            outcome.not_modified = collected.not_modified
            outcome.warnings = list(collected.warnings)
            outcome.seen = len(collected.drafts)
            pairs: list[tuple[NormalizedItem, Classification]] = []
            if collected.drafts:  # a 304 or an empty feed needs no classifier
                drafts, kind = collected.drafts, source.kind
                pairs, warnings = await self._blocking(prepare, self.classifier, drafts, kind)
                outcome.warnings += warnings
            stored = StoreReport()
            if pairs:  # a 304 has nothing to write: no lock, no thread hop
                stored = await self._writer.store(source.id, pairs)
            outcome.new, outcome.updated, outcome.unchanged = stored.new, stored.updated, stored.unchanged
            outcome.ok = True
        except HTTPStatusError as error:
            outcome.error, outcome.status, outcome.retry_after_s = (
                str(error),
                error.status,
                error.retry_after_s,
            )
        except (FetchError, ParseError) as error:
            outcome.error = f"{type(error).__name__}: {error}"
        except Exception as error:  # an adapter bug must not end the round
            log.warning("source %s failed unexpectedly:\n%s", source.id, traceback.format_exc())
            outcome.error = f"unexpected {type(error).__name__}: {error}"
        outcome.elapsed_s = asyncio.get_running_loop().time() - started
        fresh = collected.validators if outcome.ok and collected and not collected.not_modified else None
        health.append(_HealthUpdate(source, outcome, fresh, datetime.now(UTC)))
        if len(health) >= self.settings.health_batch_size:
            await self._flush_health(health)
        return outcome

    async def _flush_health(self, queue: list[_HealthUpdate]) -> None:
        """Write the queued health rows in one transaction (one commit per source cost ~20 ms)."""
        batch = queue[:]
        queue.clear()
        if batch:
            async with self._write_lock:
                await self._blocking(self._record_health, batch)

    @property
    def classifier(self) -> Classifier:
        if self._classifier is None:
            self._classifier = Classifier.from_settings(self.settings)
        return self._classifier

    async def _blocking(self, func: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        return func(*args, **kwargs) if self.inline else await asyncio.to_thread(func, *args, **kwargs)

    def _record_health(self, batch: list[_HealthUpdate]) -> None:
        """Write the batch's health rows with two Core statements (loading and flushing them through
        the ORM cost ~0.15 ms a source, a tenth of an unchanged round's work per source): the columns
        a round owns, never the lease or ``enabled``."""
        table = SOURCE_STATE_TABLE
        ids = sorted({entry.source.id for entry in batch})
        with self.engine.begin() as conn:
            found = conn.execute(select(table.c.source_id, *HEALTH_COLUMNS).where(table.c.source_id.in_(ids)))
            stored = {row.source_id: dict(row._mapping) for row in found}
            rows: dict[str, dict[str, Any]] = {}
            for entry in batch:  # a source twice in a batch builds on its first result
                current = rows.get(entry.source.id) or stored.get(entry.source.id) or dict(_NEW_HEALTH)
                rows[entry.source.id] = self._apply_health(current, entry)
            _write_health(conn, rows, stored=set(stored))

    def _apply_health(self, current: dict[str, Any], update: _HealthUpdate) -> dict[str, Any]:
        """The health columns after ``update``, from their ``current`` values."""
        state = dict(current, source_id=update.source.id)
        outcome, now = update.outcome, update.at
        state["last_attempt_at"] = now
        if outcome.ok:
            state["last_success_at"] = now
            state["consecutive_failures"] = 0
            state["last_error"] = None
            state["items_last_round"] = outcome.seen
            state["items_seen"] += outcome.new
            if update.validators is not None:
                state["etag"] = update.validators.etag
                state["last_modified"] = update.validators.last_modified
        else:
            state["consecutive_failures"] += 1
            state["last_error"] = (outcome.error or "unknown error")[:2000]
        state["last_status"] = outcome.status
        delay = next_poll_delay_s(
            interval_s=update.source.interval_s,
            consecutive_failures=state["consecutive_failures"],
            retry_after_s=outcome.retry_after_s,
            settings=self.settings,
        )
        jitter = random.uniform(0, self.settings.poll_jitter_s)
        state["next_poll_at"] = now + timedelta(seconds=delay + jitter)
        return state


def _write_health(conn: Connection, rows: dict[str, dict[str, Any]], *, stored: set[str]) -> None:
    """UPDATE the health columns of ``stored`` sources, INSERT the others (executemany each)."""
    names = [column.name for column in HEALTH_COLUMNS]
    changed = [{name: rows[sid][name] for name in names} | {"sid": sid} for sid in rows if sid in stored]
    added = [values | {"enabled": True} for sid, values in rows.items() if sid not in stored]
    if changed:
        assignments: dict[str, Any] = {name: bindparam(name) for name in names}
        by_id = SOURCE_STATE_TABLE.c.source_id == bindparam("sid")
        conn.execute(SOURCE_STATE_TABLE.update().where(by_id).values(assignments), changed)
    if added:
        conn.execute(SOURCE_STATE_TABLE.insert(), added)


def due_source_ids(engine: Engine, sources: Sequence[SourceConfig], *, now: datetime) -> list[str]:
    """Enabled sources whose next poll time has come (never-polled sources are due at once)."""
    with Session(engine) as session:
        states = {row.source_id: row for row in session.exec(select(SourceState)).all()}
    due = []
    for source in sources:
        state = states.get(source.id)
        if not source.enabled or (state is not None and not state.enabled):
            continue
        next_poll = state.next_poll_at if state else None
        if next_poll is not None and next_poll.tzinfo is None:
            next_poll = next_poll.replace(tzinfo=UTC)
        if next_poll is None or next_poll <= now:
            due.append(source.id)
    return due


def stored_validators(engine: Engine, source_ids: list[str]) -> dict[str, Validators]:
    """Each source's conditional-GET validators (empty for a source never fetched)."""
    columns = (col(SourceState.source_id), col(SourceState.etag), col(SourceState.last_modified))
    known: dict[str, Validators] = {}
    with Session(engine) as session:
        for chunk in in_chunks(source_ids):
            rows = session.exec(select(*columns).where(col(SourceState.source_id).in_(chunk)))
            known.update((source_id, Validators(etag, modified)) for source_id, etag, modified in rows)
    return {source_id: known.get(source_id, Validators()) for source_id in source_ids}


def _expected_bodies(validators: dict[str, Validators]) -> int:
    """Sources likely to send a whole body: those with no validators for a conditional GET."""
    return sum(1 for found in validators.values() if not (found.etag or found.last_modified))


def pool_chunk_size(settings: Settings, validators: dict[str, Validators]) -> int | None:
    """Sources per pool task for a round over these sources, or None to poll them in-process.

    Bodies to parse and classify are worth even a spawned pool's start-up (most of a second per
    worker), in tasks of ``pipeline_chunk_sources``. A round of feeds that mostly answer 304 (the
    steady state) is a millisecond or two of CPU per source: worth workers that start at once
    (forked with everything imported, or running already) once there are enough sources, never
    worth spawning new ones. Its tasks are each worker's share in halves: a task's own costs (a
    client and its connections, a health transaction, shipping the configs) would otherwise weigh
    as much as its 304s.
    """
    if _expected_bodies(validators) >= settings.pipeline_process_min_sources:
        return settings.pipeline_chunk_sources
    if len(validators) < settings.pipeline_fork_min_sources or not workers_start_at_once():
        return None
    share = math.ceil(len(validators) / (2 * max(1, settings.pipeline_processes)))
    return max(settings.pipeline_chunk_sources, share)


async def poll_sources(
    settings: Settings | None = None,
    *,
    source_ids: Sequence[str] | None = None,
    progress: ProgressCallback | None = None,
) -> RoundReport:
    """Poll the given sources (default: every enabled one) once."""
    settings = settings or get_settings()
    sources = select_sources(load_sources(settings.sources), source_ids)
    engine = get_engine(settings.resolved_database_url())
    validators = stored_validators(engine, [source.id for source in sources])
    chunk_size = pool_chunk_size(settings, validators)
    pool = shared_pool(settings) if chunk_size else None

    def in_process() -> RoundRunner:
        return RoundRunner(settings=settings, engine=engine)

    if pool is None or chunk_size is None:
        return await in_process().run(sources, progress=progress, validators=validators)
    report = await poll_in_pool(
        sources,
        settings=settings,
        pool=pool,
        chunk_size=chunk_size,
        progress=progress,
        in_process=lambda chunk: in_process().run(chunk),
    )
    report.in_order_of(sources)
    return report


def poll_sources_sync(
    settings: Settings | None = None,
    *,
    source_ids: Sequence[str] | None = None,
    progress: ProgressCallback | None = None,
) -> RoundReport:
    """Blocking wrapper for CLI, admin "poll now" and the scheduler thread."""
    return asyncio.run(poll_sources(settings, source_ids=source_ids, progress=progress))
