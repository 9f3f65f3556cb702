"""Functions the console borrows from packages written alongside it, looked up when called.

Each lookup returns None when the provider is missing, so a page can say "not available yet"
instead of failing at import time; once the provider lands, the page uses it with no change here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lookup(module: str, name: str) -> Any | None:
    try:
        found = importlib.import_module(module)
    except ImportError:
        return None
    return getattr(found, name, None)


def function(module: str, name: str) -> Callable[..., Any] | None:
    value = lookup(module, name)
    return value if callable(value) else None


def outbox_model() -> Any | None:
    """``subscribers.outbox.OutboxMessage`` if the outbox is there."""
    return lookup("subscribers.outbox", "OutboxMessage")
