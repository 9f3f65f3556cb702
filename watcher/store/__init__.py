"""Storage of classified items: dedup, upsert, correction-aware updates, story links, history.

The public surface is ``store_items`` (inside the caller's transaction), ``StoreReport`` and
``publish_events`` (after the caller committed).
"""

from watcher.store.report import StoreReport, publish_events
from watcher.store.upsert import store_items

__all__ = ["StoreReport", "publish_events", "store_items"]
