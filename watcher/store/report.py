"""What one ``store_items`` call did, and the hand-off of its events to the delivery side."""

from __future__ import annotations

from dataclasses import dataclass, field

from watcher import events
from watcher.events import ItemStored, ItemUpdated


@dataclass
class StoreReport:
    """Counts for the round's log line, ids of every item the batch touched, events to publish.

    ``item_ids`` lists each stored item of the batch once, in batch order (new, updated and
    unchanged alike). ``events`` carry detached snapshots of the rows, safe to read after commit.
    """

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    item_ids: list[int] = field(default_factory=list)
    events: list[ItemStored | ItemUpdated] = field(default_factory=list)

    def merge(self, other: StoreReport) -> None:
        """Add ``other``'s counts, ids and events (a round that stores several batches)."""
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.item_ids.extend(other.item_ids)
        self.events.extend(other.events)


def publish_events(report: StoreReport) -> None:
    """Publish the report's events; call it only AFTER the transaction that stored them committed,
    so a subscriber never reacts to an item that a rollback made disappear."""
    for event in report.events:
        events.publish(event)
