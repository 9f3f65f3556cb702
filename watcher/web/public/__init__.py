"""The public side of the web app: archive, item pages, subscription self-service, feeds and JSON API.

``install(app, settings)`` is the one entry the app factory calls; each concern lives in its own
module with its own router.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from watcher.settings import Settings
from watcher.web.public import api, archive, errors, feeds, preferences, subscribe
from watcher.web.templating import STATIC_DIR


def install(app: FastAPI, settings: Settings) -> None:
    """Mount static files, error pages and the public routers."""
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    errors.install(app)
    app.include_router(archive.router)
    app.include_router(feeds.router)
    app.include_router(api.router)
    app.include_router(subscribe.build_router(settings))
    app.include_router(preferences.build_router(settings))
