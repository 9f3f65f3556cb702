"""Source leases: concurrent claimers get disjoint sources; leases expire and are released."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.support.http_server import LoopbackServer
from watcher.leases import claim_due_sources, extend_leases, release_leases
from watcher.models import SourceState
from watcher.sources.config import SourceConfig, load_sources

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def _sources(tmp_path: Path, count: int) -> list[SourceConfig]:
    lines = ["sources:"]
    for n in range(count):
        url = f"http://127.0.0.1:9/{n}.xml"
        lines += [f"  - id: s{n:03d}", f"    name: S{n}", f"    url: {url}", "    type: rss"]
    path = tmp_path / "sources.yaml"
    path.write_text("\n".join(lines) + "\n")
    return load_sources(path)


def _claim(
    engine: Engine, sources: list[SourceConfig], worker: str, limit: int = 10, now: datetime = NOW
) -> list[str]:
    return claim_due_sources(engine, worker_id=worker, limit=limit, lease_s=60, now=now, sources=sources)


def test_concurrent_claims_are_disjoint_and_cover_every_due_source(engine: Engine, tmp_path: Path) -> None:
    sources = _sources(tmp_path, 40)
    if engine.dialect.name == "sqlite":  # one process: claiming is "what is due", capped by the limit
        assert _claim(engine, sources, "a") == [f"s{n:03d}" for n in range(10)]
        return
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda worker: _claim(engine, sources, worker), ["a", "b", "c", "d", "e"]))
    claimed = [source for result in results for source in result]
    assert len(claimed) == len(set(claimed)) == 40
    assert sorted(len(result) for result in results) == [0, 10, 10, 10, 10]
    assert _claim(engine, sources, "f") == []  # all leased


def test_a_lease_keeps_others_out_until_released_or_expired(engine: Engine, tmp_path: Path) -> None:
    sources = _sources(tmp_path, 3)
    if engine.dialect.name == "sqlite":
        return
    first = _claim(engine, sources, "a")
    assert first == ["s000", "s001", "s002"]
    assert _claim(engine, sources, "b") == []
    assert extend_leases(engine, worker_id="a", source_ids=first, lease_s=60, now=NOW) == 3
    assert extend_leases(engine, worker_id="b", source_ids=first, lease_s=60, now=NOW) == 0  # not b's
    assert _claim(engine, sources, "b", now=NOW + timedelta(seconds=61)) == first  # a died: expired
    assert release_leases(engine, worker_id="a", source_ids=first) == 0  # a's late release changes nothing
    assert release_leases(engine, worker_id="b", source_ids=first) == 3
    with Session(engine) as session:
        state = session.get(SourceState, "s001")
        assert state is not None and state.lease_owner is None and state.lease_until is None


def test_sources_not_due_or_disabled_are_not_claimed(engine: Engine, tmp_path: Path) -> None:
    sources = _sources(tmp_path, 3)
    with Session(engine) as session:
        session.add(SourceState(source_id="s000", next_poll_at=NOW + timedelta(hours=1)))
        session.add(SourceState(source_id="s001", enabled=False))
        session.commit()
    assert _claim(engine, sources, "a") == ["s002"]


def test_two_pg_workers_poll_each_source_once(
    engine: Engine, tmp_path: Path, http_server: LoopbackServer
) -> None:
    """Two RoundRunner-driven claimers over loopback feeds: every feed fetched exactly once."""
    if engine.dialect.name == "sqlite":
        return
    import asyncio

    from watcher.classify import Classifier
    from watcher.pipeline import RoundRunner
    from watcher.settings import get_settings

    feed = (Path(__file__).parents[1] / "data" / "fixtures" / "rss_bandi_regione_piemonte.xml").read_bytes()
    lines = ["sources:"]
    for n in range(12):
        http_server.route(f"/feed/{n}.xml", feed, headers={"Content-Type": "application/rss+xml"})
        url = http_server.url(f"/feed/{n}.xml")
        lines += [f"  - id: f{n:02d}", f"    name: F{n}", f"    url: {url}", "    type: rss"]
    (tmp_path / "feeds.yaml").write_text("\n".join(lines) + "\n")
    sources = load_sources(tmp_path / "feeds.yaml")
    settings = get_settings()
    runner = RoundRunner(settings=settings, engine=engine, classifier=Classifier.from_settings(settings))

    async def worker(name: str) -> list[str]:
        polled: list[str] = []
        while ids := await asyncio.to_thread(
            claim_due_sources, engine, worker_id=name, limit=3, lease_s=60, now=datetime.now(UTC),
            sources=sources,
        ):
            await runner.run([s for s in sources if s.id in ids])
            await asyncio.to_thread(release_leases, engine, worker_id=name, source_ids=ids)
            polled += ids
        return polled

    async def both() -> list[list[str]]:
        return list(await asyncio.gather(worker("a"), worker("b")))

    results = asyncio.run(both())
    assert sorted(results[0] + results[1]) == [source.id for source in sources]
    assert all(results), "both workers polled"
    fetched = [request.path for request in http_server.requests]
    assert sorted(fetched) == sorted(f"/feed/{n}.xml" for n in range(12))
