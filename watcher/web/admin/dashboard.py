"""Dashboard: items per ISO week by ecosystem and by source, deliveries per day by state.

Counting happens in SQL grouped by calendar day (``date()`` exists on SQLite and PostgreSQL);
Python only folds days into ISO weeks and splits the JSON ecosystem lists, so the work stays
proportional to days × groups, not to items.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from sqlalchemy import String, cast, func
from sqlmodel import Session, col, select

from subscribers.outbox import OutboxMessage
from watcher.models import Item, SourceState
from watcher.web.admin.charts import stacked_bars
from watcher.web.admin.common import admin_page, get_db

WEEKS = 12
DELIVERY_DAYS = 30
STATE_COLOURS = {
    "sent": "#2ca02c",
    "pending": "#1f77b4",
    "retry": "#ff7f0e",
    "failed": "#d62728",
    "unknown": "#9467bd",
    "cancelled": "#7f7f7f",
    "sending": "#17becf",
}


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def week_label(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_labels(today: date, weeks: int = WEEKS) -> list[str]:
    monday = today - timedelta(days=today.weekday())
    return [week_label(monday - timedelta(weeks=back)) for back in range(weeks - 1, -1, -1)]


def items_per_week(
    session: Session, *, today: date, weeks: int = WEEKS
) -> dict[str, list[tuple[str, dict[str, int]]]]:
    """``{"ecosystem": bars, "source": bars}``, one bar per ISO week (oldest first)."""
    labels = week_labels(today, weeks)
    start = today - timedelta(days=today.weekday()) - timedelta(weeks=weeks - 1)
    when = func.coalesce(Item.published_at, Item.first_seen_at)
    day = func.date(when)
    recent = (when >= datetime.combine(start, datetime.min.time(), UTC), col(Item.hidden).is_(False))
    by_source: dict[str, dict[str, int]] = {label: defaultdict(int) for label in labels}
    for value, source_id, count in session.exec(
        select(day, Item.source_id, func.count()).where(*recent).group_by(day, Item.source_id)
    ):
        label = week_label(_as_date(value))
        if label in by_source:
            by_source[label][source_id] += count
    by_ecosystem: dict[str, dict[str, int]] = {label: defaultdict(int) for label in labels}
    ecosystems = cast(Item.ecosystems, String)
    for value, raw, count in session.exec(
        select(day, ecosystems, func.count()).where(*recent).group_by(day, ecosystems)
    ):
        label = week_label(_as_date(value))
        if label not in by_ecosystem:
            continue
        for slug in json.loads(raw or "[]") or ["(none)"]:
            by_ecosystem[label][slug] += count
    return {
        "ecosystem": [(label[5:], dict(by_ecosystem[label])) for label in labels],
        "source": [(label[5:], dict(by_source[label])) for label in labels],
    }


def deliveries_per_day(
    session: Session, *, today: date, days: int = DELIVERY_DAYS
) -> list[tuple[str, dict[str, int]]]:
    """Outbox rows per creation day by state (oldest day first)."""
    start = today - timedelta(days=days - 1)
    day = func.date(OutboxMessage.created_at)
    rows: dict[date, dict[str, int]] = {start + timedelta(days=i): {} for i in range(days)}
    query = (
        select(day, OutboxMessage.state, func.count())
        .where(OutboxMessage.created_at >= datetime.combine(start, datetime.min.time(), UTC))
        .group_by(day, OutboxMessage.state)
    )
    for value, name, count in session.exec(query):
        bucket = rows.get(_as_date(value))
        if bucket is not None:
            bucket[name] = bucket.get(name, 0) + count
    return [(f"{d.day}/{d.month}", counts) for d, counts in rows.items()]


def summary(session: Session) -> Mapping[str, int]:
    uncategorised = session.exec(
        select(func.count()).select_from(Item).where(cast(Item.ecosystems, String) == "[]")
    ).one()
    failing = session.exec(
        select(func.count()).select_from(SourceState).where(SourceState.consecutive_failures > 0)
    ).one()
    return {
        "items": session.exec(select(func.count()).select_from(Item)).one(),
        "uncategorised": uncategorised,
        "failing_sources": failing,
    }


def charts(session: Session, *, today: date) -> dict[str, Markup]:
    weekly = items_per_week(session, today=today)
    deliveries = deliveries_per_day(session, today=today)
    return {
        "by_ecosystem": stacked_bars(
            weekly["ecosystem"], title=f"Items per week by ecosystem (last {WEEKS})"
        ),
        "by_source": stacked_bars(weekly["source"], title=f"Items per week by source (last {WEEKS})"),
        "deliveries": stacked_bars(
            deliveries, title=f"Deliveries per day by state (last {DELIVERY_DAYS})", colours=STATE_COLOURS
        ),
    }


def build_router() -> APIRouter:
    router = APIRouter()

    @router.get("", response_class=HTMLResponse)
    @router.get("/", response_class=HTMLResponse, include_in_schema=False)
    def dashboard(request: Request, session: Annotated[Session, Depends(get_db)]) -> HTMLResponse:
        today = datetime.now(UTC).date()
        return admin_page(
            request,
            "dashboard.html",
            section="dashboard",
            charts=charts(session, today=today),
            counts=summary(session),
        )

    return router
