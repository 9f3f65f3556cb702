"""Drain the outbox: lease due rows, send them through the backend, record every outcome at once.

Pipeline (one event loop, the database in worker threads)::

    feeder ──claim (COMMIT)──► queue ──► N senders ──► result writer (group COMMIT)

- Rate tokens are taken *before* rows are claimed, so a row never sits leased waiting for an hourly
  quota; a claimed row whose lease is nearly over is released untouched instead of sent late.
- Before a message's SMTP transaction starts, its "handed" mark is committed; outcomes are
  committed as they arrive. Both go through a single writer in small groups. After a crash only
  rows handed but without a recorded outcome (at most the in-flight ones and those whose outcome
  was not yet committed) become ``unknown``; rows merely leased go back to ``pending``.
- If the server cannot be reached ``mail_concurrency`` times in a row the drain stops claiming and
  gives back what it holds, instead of burning every message's attempts against a dead server.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from subscribers.mailer import Backend, make_backend
from subscribers.outbox import (
    OUTBOX,
    Claimed,
    Outcome,
    cancel_suppressed,
    claim,
    mark_handed,
    record,
    record_sent,
    recover_stale_counts,
    release,
    worker_identity,
)
from watcher.db import get_engine
from watcher.models import utcnow
from watcher.settings import Settings, get_settings


@dataclass
class DrainReport:
    backend: str = ""
    recovered_unknown: int = 0  # interrupted mid-transaction by an earlier sender: admin decides
    recovered_pending: int = 0  # leased by an earlier sender but never attempted: queued again
    cancelled_suppressed: int = 0
    claimed: int = 0
    sent: int = 0
    retry: int = 0
    failed: int = 0
    unknown: int = 0
    released: int = 0
    stopped: str | None = None  # why the drain stopped early because something is wrong
    paused: str | None = None  # why it stopped early although nothing is wrong (rate limit)
    elapsed_s: float = 0.0
    errors: list[str] = field(default_factory=list)  # a few sample error details

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    def absorb(self, other: DrainReport) -> None:
        """Add ``other`` (a later drain of the same run) to this report."""
        for name in ("recovered_unknown", "recovered_pending", "cancelled_suppressed", "claimed", "sent",
                     "retry", "failed", "unknown", "released"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.backend = self.backend or other.backend
        self.stopped, self.paused = other.stopped or self.stopped, other.paused or self.paused
        self.elapsed_s = round(self.elapsed_s + other.elapsed_s, 3)
        self.errors = (self.errors + other.errors)[:5]

    def __bool__(self) -> bool:
        """Falsy when the drain found nothing to do (so schedulers log nothing)."""
        return bool(
            self.claimed
            or self.recovered_unknown
            or self.recovered_pending
            or self.cancelled_suppressed
            or self.stopped
        )

    def __str__(self) -> str:
        text = (
            f"outbox ({self.backend}): sent {self.sent}, retry {self.retry}, failed {self.failed}, "
            f"unknown {self.unknown}, released {self.released} in {self.elapsed_s:.1f}s"
        )
        if self.recovered_unknown or self.recovered_pending:
            text += (
                f"; interrupted earlier: {self.recovered_unknown} unknown (see `watcher outbox list "
                f"--state unknown`), {self.recovered_pending} queued again"
            )
        if self.cancelled_suppressed:
            text += f"; {self.cancelled_suppressed} cancelled for suppressed subscribers"
        if self.paused:
            text += f"; paused: {self.paused}"
        if self.stopped:
            text += f"; stopped early: {self.stopped}"
        return text


class TokenBucket:
    """Classic token bucket: ``capacity`` burst, refilled at ``rate`` tokens per second."""

    def __init__(
        self,
        *,
        rate: float,
        capacity: float,
        tokens: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.capacity = max(1.0, capacity)
        self.clock = clock
        self.tokens = self.capacity if tokens is None else max(0.0, min(tokens, self.capacity))
        self.stamp = clock()

    def refill(self) -> float:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return self.tokens

    def wait_s(self, want: float = 1.0) -> float:
        missing = want - self.refill()
        return 0.0 if missing <= 0 else missing / self.rate if self.rate > 0 else math.inf


class RateLimiter:
    """Per-second and per-hour limits together; the hour bucket starts from what was sent in the last hour."""

    def __init__(self, *, per_second: float, per_hour: int, sent_last_hour: int = 0) -> None:
        self.second = TokenBucket(rate=per_second, capacity=per_second)
        self.hour = TokenBucket(rate=per_hour / 3600.0, capacity=per_hour, tokens=per_hour - sent_last_hour)

    async def acquire(self, want: int, *, max_wait_s: float = math.inf) -> int:
        """Wait until at least one message may go; take and return up to ``want`` tokens.

        Returns 0 instead of waiting longer than ``max_wait_s`` (a quota that refills slowly).
        """
        while True:
            granted = min(want, int(self.second.refill()), int(self.hour.refill()))
            if granted >= 1:
                self.second.tokens -= granted
                self.hour.tokens -= granted
                return granted
            wait = max(self.second.wait_s(), self.hour.wait_s(), 0.001)
            if wait > max_wait_s:
                return 0
            await asyncio.sleep(wait)

    def refund(self, count: int) -> None:
        self.second.tokens = min(self.second.capacity, self.second.tokens + count)
        self.hour.tokens = min(self.hour.capacity, self.hour.tokens + count)


def _prepare(engine: Engine) -> tuple[int, int, int, int]:
    """At start: recover stale leases, cancel suppressed subscribers' mail, count the last hour's sends."""
    now = utcnow()
    with Session(engine) as session:
        unknown, pending = recover_stale_counts(session, now=now)
        cancelled = cancel_suppressed(session)
        sent = session.execute(
            select(func.count()).select_from(OUTBOX).where(OUTBOX.c.sent_at > now - timedelta(hours=1))
        ).scalar_one()
        session.commit()
    return unknown, pending, cancelled, int(sent)


@dataclass
class _Op:
    claimed: Claimed
    outcome: Outcome | None = None  # None: a "handed" mark the sender waits for before SMTP traffic
    done: asyncio.Future[bool] | None = None


class _Writer:
    """The one database writer of a drain: commits "handed" marks and outcomes in groups.

    Senders wait for their "handed" mark to be committed before talking SMTP; grouping keeps that
    to one commit for all senders ready at the same moment instead of one commit per message.
    """

    def __init__(self, *, engine: Engine, settings: Settings, worker_id: str, report: DrainReport) -> None:
        self.engine, self.settings, self.worker_id, self.report = engine, settings, worker_id, report
        self.queue: asyncio.Queue[_Op | None] = asyncio.Queue()

    async def handed(self, claimed: Claimed) -> bool:
        """Durably mark ``claimed`` as handed to SMTP; False if it is no longer ours (do not send)."""
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.queue.put_nowait(_Op(claimed, None, done))
        return await done

    def result(self, claimed: Claimed, outcome: Outcome) -> None:
        self.queue.put_nowait(_Op(claimed, outcome))

    def _write(self, batch: list[_Op]) -> tuple[set[int], list[str]]:
        now = utcnow()
        with Session(self.engine) as session:
            marks = [op.claimed.id for op in batch if op.outcome is None]
            handed = mark_handed(session, ids=marks, worker_id=self.worker_id, now=now)
            sent: dict[int | None, list[int]] = {}
            states: list[str] = []
            for op in batch:
                if op.outcome is not None and op.outcome.status == "sent":
                    sent.setdefault(op.outcome.code, []).append(op.claimed.id)
                    states.append("sent")
                elif op.outcome is not None:
                    states.append(record(session, claimed=op.claimed, outcome=op.outcome,
                                         worker_id=self.worker_id, now=now, settings=self.settings))
            for code, ids in sent.items():
                record_sent(session, ids=ids, code=code, worker_id=self.worker_id, now=now)
            session.commit()
        return handed, states

    async def run(self) -> None:
        done = False
        while not done:
            batch: list[_Op] = []
            item = await self.queue.get()
            while item is not None:
                batch.append(item)
                if self.queue.empty():
                    break
                item = self.queue.get_nowait()
            done = item is None
            if batch:
                await self._commit(batch)

    async def _commit(self, batch: list[_Op]) -> None:
        try:
            handed, states = await asyncio.to_thread(self._write, batch)
        except Exception as error:  # database trouble: send nothing more, leave rows to recovery
            handed, states = set(), []
            self.report.errors.append(f"could not record {len(batch)} outbox change(s): {error!r}"[:300])
            self.report.stopped = self.report.stopped or "database write failed"
        for op in batch:
            if op.done is not None and not op.done.done():
                op.done.set_result(op.claimed.id in handed)
        for state in states:
            setattr(self.report, state, getattr(self.report, state) + 1)


@dataclass
class _Run:
    settings: Settings
    engine: Engine
    worker_id: str
    backend: Backend
    report: DrainReport
    writer: _Writer
    queue: asyncio.Queue[Claimed | None] = field(default_factory=asyncio.Queue)
    room: asyncio.Event = field(default_factory=asyncio.Event)
    leftovers: list[int] = field(default_factory=list)
    connect_failures: int = 0
    halted: bool = False

    def _claim(self, count: int) -> list[Claimed]:
        with Session(self.engine) as session:
            rows = claim(
                session,
                worker_id=self.worker_id,
                limit=count,
                lease_s=self.settings.mail_lease_s,
                now=utcnow(),
            )
            session.commit()
        return rows

    async def feed(self, limiter: RateLimiter, *, limit: int | None, stop_when_idle: bool) -> None:
        batch = max(1, self.settings.mail_claim_batch)
        while not (self.halted or self.report.stopped) and (limit is None or self.report.claimed < limit):
            if self.queue.qsize() > batch // 2:
                self.room.clear()
                await self.room.wait()
                continue
            want = batch - self.queue.qsize()
            if limit is not None:
                want = min(want, limit - self.report.claimed)
            granted = await limiter.acquire(want, max_wait_s=self.settings.mail_poll_interval_s)
            if granted == 0:
                if stop_when_idle:  # a one-off drain does not sit on the hourly quota: the next one goes on
                    self.report.paused = "rate limit reached; the next drain continues"
                    return
                await asyncio.sleep(self.settings.mail_poll_interval_s)
                continue
            rows = await asyncio.to_thread(self._claim, granted)
            limiter.refund(granted - len(rows))
            self.report.claimed += len(rows)
            for row in rows:
                self.queue.put_nowait(row)
            if not rows:
                if stop_when_idle:
                    return
                await asyncio.sleep(self.settings.mail_poll_interval_s)

    async def send_loop(self) -> None:
        margin = timedelta(seconds=3 * self.settings.mail_timeout_s)
        while (row := await self.queue.get()) is not None:
            self.room.set()
            if self.halted or self.report.stopped or utcnow() + margin > row.lease_until:
                self.leftovers.append(row.id)
                continue
            if not await self.writer.handed(row):
                continue  # taken away from us (lease recovered by another drain): not ours to send
            try:
                outcome = await self.backend.send(row)
            except Exception as error:  # a bug must not kill a sender and stall the drain
                outcome = Outcome("unknown", None, f"internal error while sending: {error!r}"[:500])
            self._watch_connectivity(outcome)
            if outcome.status != "sent" and len(self.report.errors) < 5:
                self.report.errors.append(f"#{row.id} {outcome.status}: {outcome.detail}"[:300])
            self.writer.result(row, outcome)

    def _watch_connectivity(self, outcome: Outcome) -> None:
        self.connect_failures = self.connect_failures + 1 if outcome.stage == "connect" else 0
        if self.connect_failures >= max(1, self.settings.mail_concurrency) and not self.halted:
            self.halted = True
            self.report.stopped = f"mail server unreachable: {outcome.detail}"[:500]
            self.room.set()


async def drain(
    *,
    settings: Settings,
    engine: Engine,
    worker_id: str,
    limit: int | None = None,
    stop_when_idle: bool = True,
) -> DrainReport:
    """Send due outbox rows until none is due (or ``limit`` were claimed); see the module docstring."""
    started = time.monotonic()
    report = DrainReport()
    backend = make_backend(settings)
    report.backend = backend.name
    prepared = await asyncio.to_thread(_prepare, engine)
    report.recovered_unknown, report.recovered_pending, report.cancelled_suppressed, sent_last_hour = prepared
    limiter = RateLimiter(
        per_second=settings.mail_rate_per_second,
        per_hour=settings.mail_rate_per_hour,
        sent_last_hour=sent_last_hour,
    )
    writer = _Writer(engine=engine, settings=settings, worker_id=worker_id, report=report)
    run = _Run(
        settings=settings, engine=engine, worker_id=worker_id, backend=backend, report=report, writer=writer
    )
    writer_task = asyncio.create_task(writer.run())
    senders = [asyncio.create_task(run.send_loop()) for _ in range(max(1, settings.mail_concurrency))]
    try:
        await run.feed(limiter, limit=limit, stop_when_idle=stop_when_idle)
    finally:
        for _ in senders:
            run.queue.put_nowait(None)
        await asyncio.gather(*senders, return_exceptions=True)
        while not run.queue.empty():
            if (row := run.queue.get_nowait()) is not None:
                run.leftovers.append(row.id)
        writer.queue.put_nowait(None)
        await writer_task
        await backend.close()
        report.released = await asyncio.to_thread(_release, engine, run.leftovers, worker_id)
        report.elapsed_s = round(time.monotonic() - started, 3)
    return report


def _release(engine: Engine, ids: list[int], worker_id: str) -> int:
    if not ids:
        return 0
    with Session(engine) as session:
        count = release(session, ids=ids, worker_id=worker_id)
        session.commit()
    return count


def drain_sync(settings: Settings | None = None, *, limit: int | None = None) -> DrainReport:
    """Run one drain to idleness from synchronous code (CLI, scheduler job); not from inside a loop."""
    settings = settings or get_settings()
    engine = get_engine(settings.resolved_database_url())
    return asyncio.run(drain(settings=settings, engine=engine, worker_id=worker_identity(), limit=limit))
