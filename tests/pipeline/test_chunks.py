"""How a big round is cut into pool tasks: every source once, in order, with a short tail."""

from __future__ import annotations

from watcher.fetch import Validators
from watcher.pipeline import pool_chunk_size
from watcher.pipeline_pool import chunks, workers_start_at_once
from watcher.settings import Settings
from watcher.sources.config import SourceConfig


def _sources(count: int) -> list[SourceConfig]:
    return [
        SourceConfig(id=f"s{n}", name=f"S {n}", url=f"https://s{n}.example.eu/rss", type="rss", interval="1h")
        for n in range(count)
    ]


def test_every_source_once_in_order_within_the_size() -> None:
    sources = _sources(1000)
    cut = chunks(sources, 50, workers=2)
    assert [source.id for chunk in cut for source in chunk] == [source.id for source in sources]
    assert max(len(chunk) for chunk in cut) == 50


def test_the_last_chunks_shrink_so_workers_finish_together() -> None:
    sizes = [len(chunk) for chunk in chunks(_sources(1000), 50, workers=2)]
    assert sizes[0] == 50 and sizes[-1] < 50 and sizes == sorted(sizes, reverse=True)
    assert min(sizes[:-1]) >= 10  # never below a fifth of the size, except what is left at the end


def test_small_rounds_and_odd_inputs() -> None:
    assert chunks([], 50, workers=2) == []
    assert [len(chunk) for chunk in chunks(_sources(3), 50, workers=2)] == [3]  # not below a fifth
    assert [len(chunk) for chunk in chunks(_sources(7), 1, workers=0)] == [1] * 7


def _validators(fresh: int, known: int) -> dict[str, Validators]:
    """``fresh`` sources never fetched (a body expected), ``known`` with an ETag (a 304 likely)."""
    found = {f"new{n}": Validators() for n in range(fresh)}
    return found | {f"old{n}": Validators(etag=f'"{n}"') for n in range(known)}


def test_rounds_with_bodies_to_parse_use_the_configured_chunks() -> None:
    settings = Settings(pipeline_process_min_sources=20, pipeline_chunk_sources=50)
    assert pool_chunk_size(settings, _validators(fresh=20, known=980)) == 50


def test_rounds_of_likely_304s_pool_in_halves_of_each_share_only_when_workers_start_at_once() -> None:
    settings = Settings(pipeline_processes=2, pipeline_fork_min_sources=200, pipeline_chunk_sources=50)
    expected = 250 if workers_start_at_once() else None  # the suite's processes have threads: spawn
    assert pool_chunk_size(settings, _validators(fresh=5, known=995)) == expected


def test_small_rounds_of_likely_304s_stay_in_process() -> None:
    settings = Settings(pipeline_fork_min_sources=200)
    assert pool_chunk_size(settings, _validators(fresh=0, known=199)) is None
