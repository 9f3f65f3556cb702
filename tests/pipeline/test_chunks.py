"""How a big round is cut into pool tasks: every source once, in order, with a short tail."""

from __future__ import annotations

from watcher.pipeline_pool import chunks
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
