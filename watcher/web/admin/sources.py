"""Sources: health table (configured sources joined with their SourceState), enable/disable, poll now.

"Poll now" runs after the response (a background task) because a round can take minutes; the
page says so, and the health table shows the outcome on the next load.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func
from sqlmodel import Session, select

from watcher.models import Item, SourceState
from watcher.settings import Settings
from watcher.sources.config import load_sources
from watcher.sources_health import sources_with_health
from watcher.web.admin.common import admin_page, get_db, redirect, settings_of

log = logging.getLogger(__name__)
SourceId = Annotated[str, Path(max_length=100, pattern=r"^[a-z0-9][a-z0-9-]*$")]


def configured_sources(settings: Settings) -> tuple[list[Any], str | None]:
    """The sources file's entries, or an empty list and the reason it cannot be read."""
    try:
        return list(load_sources(settings.sources)), None
    except Exception as error:  # a broken sources file must not take the console down
        return [], f"Cannot read {settings.sources}: {error}"[:500]


def health_rows(session: Session, sources: list[Any]) -> list[dict[str, Any]]:
    counts = dict(session.exec(select(Item.source_id, func.count()).group_by(Item.source_id)).all())
    rows = []
    for health in sources_with_health(session, sources, include_unconfigured=True):
        source = health.source
        rows.append(
            {
                "id": health.source_id,
                "name": source.name if source else "(no longer configured)",
                "type": source.type if source else "",
                "url": source.url if source else "",
                "configured": source is not None,
                "yaml_enabled": bool(source and source.enabled),
                "enabled": health.state.enabled,
                "state": health.state,
                "items": counts.get(health.source_id, 0),
            }
        )
    return rows


def _poll(settings: Settings, source_id: str) -> None:
    from watcher.pipeline import poll_sources_sync  # heavy (classifier): imported only to poll

    try:
        poll_sources_sync(settings, source_ids=[source_id])
    except Exception:  # logged: the health table records per-source failures itself
        log.exception("admin poll of %s failed", source_id)


def build_router() -> APIRouter:
    router = APIRouter(prefix="/sources")

    @router.get("", response_class=HTMLResponse)
    def sources_page(request: Request, session: Annotated[Session, Depends(get_db)]) -> HTMLResponse:
        sources, problem = configured_sources(settings_of(request))
        return admin_page(
            request,
            "sources.html",
            section="sources",
            rows=health_rows(session, sources),
            problem=problem,
        )

    @router.post("/{source_id}/toggle")
    def toggle(
        request: Request,
        source_id: SourceId,
        session: Annotated[Session, Depends(get_db)],
        enabled: Annotated[bool, Form()] = False,
    ) -> Response:
        sources, _ = configured_sources(settings_of(request))
        state = session.get(SourceState, source_id)
        if state is None:
            if source_id not in {source.id for source in sources}:
                return redirect(request, "/admin/sources", f"Unknown source {source_id!r}.", kind="error")
            state = SourceState(source_id=source_id)
        state.enabled = enabled
        session.add(state)
        session.commit()
        return redirect(request, "/admin/sources", f"{source_id} {'enabled' if enabled else 'disabled'}.")

    @router.post("/{source_id}/poll")
    def poll_now(request: Request, source_id: SourceId, background: BackgroundTasks) -> Response:
        settings = settings_of(request)
        sources, problem = configured_sources(settings)
        if problem:
            return redirect(request, "/admin/sources", problem, kind="error")
        if source_id not in {source.id for source in sources}:
            return redirect(request, "/admin/sources", f"Unknown source {source_id!r}.", kind="error")
        background.add_task(_poll, settings, source_id)
        return redirect(
            request, "/admin/sources", f"Polling {source_id} now; reload in a minute for the result."
        )

    return router
