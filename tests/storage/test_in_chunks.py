"""``in_chunks``: the one way long ``IN (...)`` lists and batches are cut."""

from __future__ import annotations

from watcher.db import IN_CHUNK, in_chunks


def test_every_value_once_in_order_in_slices_of_the_size() -> None:
    values = list(range(1201))
    chunks = list(in_chunks(values))
    assert [len(chunk) for chunk in chunks] == [IN_CHUNK, IN_CHUNK, 201]
    assert [value for chunk in chunks for value in chunk] == values


def test_empty_and_small_inputs() -> None:
    assert list(in_chunks([])) == []
    assert list(in_chunks(["a", "b", "c"], 2)) == [["a", "b"], ["c"]]
