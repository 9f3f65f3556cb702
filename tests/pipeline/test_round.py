"""A whole polling round over real loopback servers: good sources store, bad ones record errors.

The Regione Piemonte capture is served next to a gallery of broken sources; the round must end
with every failure in its source's health row, the good items stored once, conditional GET used
on the next round, and nothing stored twice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from tests.conftest import DATA_DIR
from tests.support.http_server import LoopbackServer, Reply, Request
from watcher.models import Item, ItemEvent, SourceState
from watcher.pipeline import due_source_ids, poll_sources_sync
from watcher.settings import get_settings
from watcher.sources.config import load_sources

PIEMONTE = (DATA_DIR / "fixtures" / "rss_bandi_regione_piemonte.xml").read_bytes()


def _conditional(request: Request, _handler: object) -> Reply:
    if request.headers.get("If-None-Match") == '"v1"':
        return Reply(304, b"", {"ETag": '"v1"'})
    return Reply(200, PIEMONTE, {"ETag": '"v1"', "Content-Type": "application/rss+xml"})


def _write_sources(path: Path, entries: dict[str, str]) -> None:
    lines = ["sources:"]
    for source_id, url in entries.items():
        lines += [
            f"  - id: {source_id}",
            f"    name: {source_id}",
            f"    url: {url}",
            "    type: rss",
            "    interval: 1h",
        ]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def round_sources(http_server: LoopbackServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    server = http_server
    entries = {
        "piemonte": server.route("/piemonte.xml", handler=_conditional),
        "gone": server.route("/gone.xml", status=410),
        "missing": server.url("/nothing-here.xml"),
        "throttled": server.route("/busy.xml", status=429, headers={"Retry-After": "7200"}),
        "broken-server": server.route("/error.xml", status=500),
        "html-page": server.route(
            "/page.xml",
            "<!doctype html><html><body><p>Hi</p></body></html>",
            headers={"Content-Type": "text/html"},
        ),
        "empty": server.route("/empty.xml", b""),
        "malformed": server.route("/bad.xml", b"<rss><channel><item><title>x</titl"),
        "loop": server.route("/loop-a", status=302, headers={"Location": "/loop-b"}),
    }
    server.route("/loop-b", status=302, headers={"Location": "/loop-a"})
    path = tmp_path / "sources.yaml"
    _write_sources(path, entries)
    monkeypatch.setenv("WATCHER_SOURCES", str(path))
    get_settings.cache_clear()
    return path


def _count(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(Item)).one()


def test_round_records_every_failure_and_stores_good_items_once(
    engine: Engine, round_sources: Path, http_server: LoopbackServer
) -> None:
    first = poll_sources_sync()
    outcomes = {outcome.source_id: outcome for outcome in first.outcomes}
    assert outcomes["piemonte"].ok and outcomes["piemonte"].new == 10
    failed = {source_id for source_id, outcome in outcomes.items() if not outcome.ok}
    assert failed == {"gone", "missing", "throttled", "broken-server", "html-page", "empty", "loop"} | (
        failed & {"malformed"}
    ), "every broken source must fail (malformed may yield a partial result)"
    stored = _count(engine)
    assert stored >= 10

    with Session(engine) as session:
        states = {state.source_id: state for state in session.exec(select(SourceState)).all()}
    for source_id in failed:
        assert states[source_id].consecutive_failures == 1, source_id
        assert states[source_id].last_error, source_id
    assert "410" in (states["gone"].last_error or "")
    throttled_next = states["throttled"].next_poll_at
    assert throttled_next is not None
    assert throttled_next.replace(tzinfo=UTC) >= datetime.now(UTC) + timedelta(seconds=7000)
    assert states["piemonte"].etag == '"v1"' and states["piemonte"].items_seen == 10

    second = poll_sources_sync()
    again = {outcome.source_id: outcome for outcome in second.outcomes}
    assert again["piemonte"].ok and again["piemonte"].not_modified and again["piemonte"].new == 0
    assert _count(engine) == stored, "a second round must not store anything twice"
    conditional = [r for r in http_server.requests if r.path == "/piemonte.xml"][-1]
    assert conditional.headers.get("If-None-Match") == '"v1"'
    with Session(engine) as session:
        assert session.get(SourceState, "gone").consecutive_failures == 2  # type: ignore[union-attr]
        changes = session.exec(select(func.count()).select_from(ItemEvent)).one()
    assert changes == 0, "new and unchanged items must not earn history rows"


def test_only_due_sources_are_polled_again(engine: Engine, round_sources: Path) -> None:
    poll_sources_sync(source_ids=["piemonte", "throttled"])
    sources = load_sources(round_sources)
    due = due_source_ids(engine, sources, now=datetime.now(UTC))
    assert "piemonte" not in due and "throttled" not in due
    assert "gone" in due  # never polled yet
    later = datetime.now(UTC) + timedelta(hours=3)
    assert {"piemonte", "throttled"} <= set(due_source_ids(engine, sources, now=later))


def test_unknown_source_id_is_a_clear_error(round_sources: Path) -> None:
    with pytest.raises(ValueError, match="unknown source id"):
        poll_sources_sync(source_ids=["no-such-source"])


def test_process_pool_path_stores_the_same_items(
    engine: Engine, round_sources: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Big rounds normalise and classify in worker processes; the stored result must not differ."""
    monkeypatch.setenv("WATCHER_PIPELINE_PROCESS_MIN_SOURCES", "1")
    monkeypatch.setenv("WATCHER_PIPELINE_PROCESSES", "1")
    get_settings.cache_clear()
    report = poll_sources_sync(source_ids=["piemonte", "gone"])
    outcomes = {outcome.source_id: outcome for outcome in report.outcomes}
    assert outcomes["piemonte"].new == 10 and not outcomes["gone"].ok
    with Session(engine) as session:
        kinds = {item.kind for item in session.exec(select(Item)).all()}
    assert kinds <= {"call", "event", "news"} and kinds


def test_pool_workers_items_are_announced_in_the_parent(
    engine: Engine, round_sources: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers store their chunks; the events must still reach this process's subscribers."""
    from watcher import events

    monkeypatch.setenv("WATCHER_PIPELINE_PROCESS_MIN_SOURCES", "1")
    monkeypatch.setenv("WATCHER_PIPELINE_PROCESSES", "2")
    monkeypatch.setenv("WATCHER_PIPELINE_CHUNK_SOURCES", "1")
    get_settings.cache_clear()
    seen: list[events.Event] = []
    unsubscribe = events.subscribe(seen.append)
    try:
        report = poll_sources_sync(source_ids=["piemonte", "gone", "empty"])
    finally:
        unsubscribe()
    assert [outcome.source_id for outcome in report.outcomes] == ["piemonte", "gone", "empty"]
    stored = [event for event in seen if isinstance(event, events.ItemStored)]
    assert len(stored) == 10 and all(event.item.id for event in stored)
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Item)).one() == 10


def test_a_killed_pool_worker_costs_speed_not_items(
    engine: Engine, round_sources: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pool worker killed (say by the OOM killer) breaks the pool; the round goes on in-process."""
    import os
    import signal
    import time

    from watcher.pipeline_pool import discard_pool, shared_pool

    monkeypatch.setenv("WATCHER_PIPELINE_PROCESS_MIN_SOURCES", "1")
    monkeypatch.setenv("WATCHER_PIPELINE_PROCESSES", "1")
    get_settings.cache_clear()
    discard_pool()
    pool = shared_pool(get_settings())
    assert pool is not None
    pool.submit(os.getpid).result(timeout=60)  # start the worker
    for pid in list(pool._processes):  # the test reaches in to kill the real worker
        os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
    try:
        report = poll_sources_sync(source_ids=["piemonte"])
    finally:
        discard_pool()
    assert report.outcomes[0].ok and report.outcomes[0].new == 10


def test_health_writes_leave_the_lease_and_the_admin_switch_alone(
    engine: Engine, round_sources: Path
) -> None:
    poll_sources_sync(source_ids=["piemonte", "gone"])
    with Session(engine) as session:
        for source_id in ("piemonte", "gone"):
            state = session.get(SourceState, source_id)
            assert state is not None
            state.enabled, state.lease_owner = False, "host:1:worker"
            session.add(state)
        session.commit()
    poll_sources_sync(source_ids=["piemonte", "gone"])
    with Session(engine) as session:
        states = [session.get(SourceState, source_id) for source_id in ("piemonte", "gone")]
    for state in states:
        assert state is not None and not state.enabled and state.lease_owner == "host:1:worker"
    piemonte, gone = states
    assert piemonte is not None and piemonte.consecutive_failures == 0 and piemonte.etag == '"v1"'
    assert gone is not None and gone.consecutive_failures == 2 and piemonte.items_seen == 10
