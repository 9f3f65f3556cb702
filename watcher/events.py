"""In-process events the delivery side reacts to; ``watcher`` publishes, it never calls delivery."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from watcher.models import Item


@dataclass(frozen=True, slots=True)
class ItemStored:
    """A new item was stored."""

    item: Item


@dataclass(frozen=True, slots=True)
class ItemUpdated:
    """A stored item changed; ``changes`` maps field → (old, new)."""

    item: Item
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)


Event = ItemStored | ItemUpdated
Handler = Callable[[Event], None]

_handlers: list[Handler] = []


def subscribe(handler: Handler) -> Callable[[], None]:
    """Register ``handler``; returns a function that unregisters it."""
    _handlers.append(handler)
    return lambda: _handlers.remove(handler)


def has_subscribers() -> bool:
    """Whether anyone listens: a producer in another process ships events back only then."""
    return bool(_handlers)


def publish(event: Event) -> None:
    """Deliver ``event`` to every handler; one failing handler does not stop the others."""
    for handler in list(_handlers):
        try:
            handler(event)
        except Exception:  # a subscriber bug must never break ingestion
            import logging

            logging.getLogger(__name__).exception("event handler failed for %r", type(event).__name__)
