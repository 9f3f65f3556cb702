"""A small in-process cache for public feed bodies that many clients poll.

Calendar apps refetch a subscribed .ics every few hours and all of them get the same bytes; the
10,000-event "all" calendar costs ~1 s to build at 100k items. Entries live ``max_age_s`` seconds
(``settings.calendar_cache_s``; 0 disables) and the cache holds at most ``max_entries`` bodies, so
memory stays bounded (the largest feed is ~6 MB). Private calendars are never cached here.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable


class BodyCache:
    """Least-recently-used bodies with a time-to-live, safe across the threadpool's threads."""

    def __init__(self, *, max_entries: int = 32, clock: Callable[[], float] = time.monotonic) -> None:
        self._entries: OrderedDict[Hashable, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()
        self._max_entries = max_entries
        self._clock = clock

    def get_or_build(self, key: Hashable, build: Callable[[], bytes], *, max_age_s: float) -> bytes:
        """The cached body for ``key`` if fresh, else ``build()`` (outside the lock) and remember it."""
        if max_age_s <= 0:
            return build()
        now = self._clock()
        with self._lock:
            hit = self._entries.get(key)
            if hit and now - hit[0] < max_age_s:
                self._entries.move_to_end(key)
                return hit[1]
        body = build()
        with self._lock:
            self._entries[key] = (now, body)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
        return body

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
