"""Building classified items for store tests without an adapter or the classifier."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from watcher.classify.document import Classification
from watcher.drafts import ItemDraft
from watcher.models import Item, ItemEvent
from watcher.normalize import NormalizedItem, normalize
from watcher.store import StoreReport, store_items

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
PORTAL = "https://ec.europa.eu/info/funding-tenders/opportunities/portal/screen/opportunities/topic-details/"


def entry(
    guid: str,
    *,
    source_id: str = "regione",
    title: str | None = None,
    html: str = "<p>Testo del bando</p>",
    url: str | None = None,
    identifier: str | None = None,
    deadlines: list[date] | None = None,
    ecosystems: list[str] | None = None,
    kind: str = "call",
) -> tuple[NormalizedItem, Classification]:
    """One (normalised item, classification) pair as the pipeline would hand it to the store."""
    draft = ItemDraft(
        source_id=source_id,
        guid=guid,
        url=url or f"https://{source_id}.example.eu/items/{guid}",
        title=title or f"Item {guid}",
        html=html,
        identifier=identifier,
        deadlines=list(deadlines or []),
    )
    result = Classification(
        ecosystems=list(ecosystems or ["digital"]),
        kind=kind,
        deadlines=list(deadlines or []),
        language="it",
        scores={"digital": 4.0},
        why={"digital": ["digitale"]},
    )
    return normalize(draft), result


def store(
    engine: Engine, items: list[tuple[NormalizedItem, Classification]], *, now: datetime = NOW
) -> StoreReport:
    """Store one batch (all items must share a source) in its own committed transaction."""
    with Session(engine, expire_on_commit=False) as session:
        report = store_items(session, source_id=items[0][0].source_id, items=items, now=now)
        session.commit()
    return report


def rows(engine: Engine) -> list[Item]:
    with Session(engine) as session:
        return list(session.exec(select(Item).order_by(Item.id)).all())  # type: ignore[arg-type]


def history(engine: Engine) -> list[tuple[int, str, str | None, str | None]]:
    with Session(engine) as session:
        found = session.exec(select(ItemEvent).order_by(ItemEvent.id)).all()  # type: ignore[arg-type]
        return [(event.item_id, event.kind, event.old_value, event.new_value) for event in found]
