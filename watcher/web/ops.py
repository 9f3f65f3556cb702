"""Operations endpoints: /healthz (the process answers), /readyz (it can work), /metrics (Prometheus).

Kept apart from the public and admin routers: probes and scrapers hit these every few seconds, so
they touch no templates, sessions or CSRF, and /healthz touches not even the database.
"""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from watcher.db import get_engine
from watcher.observability import metrics
from watcher.observability.health import readiness
from watcher.observability.logging import configure_logging
from watcher.settings import Settings


def install(app: FastAPI, settings: Settings) -> None:
    """Add the three endpoints to ``app`` and start counting classifications in this process."""
    metrics.install_event_hooks()
    if settings.log_format == "json":  # after uvicorn set up its own (text) logging at startup
        app.router.add_event_handler("startup", lambda: configure_logging(settings, capture_uvicorn=True))

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        result = await asyncio.to_thread(readiness, get_engine(settings.resolved_database_url()))
        return JSONResponse(result.as_dict(), status_code=200 if result.ready else 503)

    @app.get("/metrics", include_in_schema=False)
    async def prometheus() -> Response:
        body = await asyncio.to_thread(metrics.exposition, get_engine(settings.resolved_database_url()))
        return Response(body, media_type=CONTENT_TYPE_LATEST)

