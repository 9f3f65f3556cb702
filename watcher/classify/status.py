"""Status of an item from its deadlines and today: forthcoming, open, closing soon or closed.

Why recompute rather than trust the source: portals keep saying "open" after the deadline
(DESIGN.md), so the status always follows from the dates we hold.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

Status = Literal["forthcoming", "open", "closing_soon", "closed"]


def item_status(
    *, deadlines: list[date], opening: date | None, today: date, closing_soon_days: int = 14
) -> Status:
    """``forthcoming`` before opening, ``closed`` after the last deadline, ``closing_soon`` within
    ``closing_soon_days`` of the next deadline, else ``open`` (also when there is no date at all)."""
    if opening is not None and today < opening:
        return "forthcoming"
    upcoming = [deadline for deadline in deadlines if deadline >= today]
    if deadlines and not upcoming:
        return "closed"
    if upcoming and (min(upcoming) - today).days <= closing_soon_days:
        return "closing_soon"
    return "open"
