"""What every public view needs: the settings, a database session, "today" in the service's zone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Path, Request
from sqlmodel import Session

from watcher.db import get_engine
from watcher.settings import Settings, get_settings

MAX_ID = 2**62  # beyond any real id, inside every database's BIGINT (and SQLite's INTEGER)
ItemId = Annotated[int, Path(ge=1, le=MAX_ID, description="Item id.")]


def settings_of(request: Request) -> Settings:
    settings = getattr(request.app.state, "settings", None)
    return settings if isinstance(settings, Settings) else get_settings()


def db_session(request: Request) -> Iterator[Session]:
    """FastAPI dependency: a session on the configured database, committed when the view returns."""
    engine = get_engine(settings_of(request).resolved_database_url())
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def today(settings: Settings) -> date:
    """Today's date where the service runs (deadlines are calendar dates in that zone)."""
    try:
        zone = ZoneInfo(settings.timezone)
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return datetime.now(zone).date()


def client_origin(request: Request) -> str:
    """How consent logs record where an action came from."""
    host = request.client.host if request.client else "unknown"
    return f"web {host}"[:300]
