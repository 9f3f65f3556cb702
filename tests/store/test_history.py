"""How a stored deadline change reads in a digest, and the pure rules behind the stored values."""

from __future__ import annotations

from datetime import date

import pytest

from watcher.store.history import deadline_change
from watcher.store.values import pick_deadline


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("2025-04-01", "2025-04-30", "extended"),
        ("2025-04-30", "2025-04-01", "brought_forward"),
        (None, "2025-04-01", "set"),
        ("2025-04-01", None, "removed"),
        ("2025-04-01", "2025-04-01", "unchanged"),
    ],
)
def test_deadline_change(old: str | None, new: str | None, expected: str) -> None:
    assert deadline_change(old, new) == expected


@pytest.mark.parametrize(
    ("deadlines", "expected"),
    [
        ([], None),
        ([date(2025, 3, 1)], date(2025, 3, 1)),
        ([date(2025, 2, 1), date(2025, 3, 1), date(2025, 4, 1)], date(2025, 3, 1)),
        ([date(2025, 1, 1), date(2025, 2, 1)], date(2025, 2, 1)),
    ],
)
def test_pick_deadline_is_first_upcoming_else_last(deadlines: list[date], expected: date | None) -> None:
    assert pick_deadline(deadlines, on=date(2025, 3, 1)) == expected
