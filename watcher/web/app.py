"""The FastAPI application: public archive and self-service, feeds, JSON API, admin console.

Routers live in their own modules; this factory only assembles them, so the public side and the
admin console can grow independently.
"""

from __future__ import annotations

from fastapi import FastAPI

from watcher.settings import Settings, get_settings
from watcher.web import admin, ops, public, security


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; ``settings`` defaults to the process-wide ones."""
    settings = settings or get_settings()
    app = FastAPI(title="Cluster Watch", version="0.1.0")
    app.state.settings = settings
    security.install(app, settings)
    ops.install(app, settings)
    public.install(app, settings)
    admin.install(app, settings)
    return app
