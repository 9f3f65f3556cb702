"""`watcher run` (scheduler + web in one process) and `watcher demo` (the offline walkthrough)."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from watcher import migrate
from watcher.cli.common import fail, settings_or_exit, sources_or_exit
from watcher.db import get_engine
from watcher.locking import DatabaseLock


def run(
    host: Annotated[str | None, typer.Option(help="Address to bind (default: WATCHER_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: WATCHER_PORT).")] = None,
) -> None:
    """Run the scheduler (polling, digests, alerts, reminders, outbox) and the web app together."""
    import uvicorn

    from watcher.scheduler import build_scheduler
    from watcher.web.app import create_app

    settings = settings_or_exit()
    sources_or_exit(settings)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    migrate.upgrade()
    lock = DatabaseLock(get_engine(settings.resolved_database_url()))
    if not lock.try_acquire():
        fail("another `watcher run` already schedules this database; only one may (use `watcher serve`)")
    scheduler = build_scheduler(settings)
    scheduler.start()
    try:
        uvicorn.run(create_app(settings), host=host or settings.host, port=port or settings.port)
    finally:
        scheduler.shutdown(wait=False)
        lock.release()


def demo(
    serve: Annotated[bool, typer.Option(help="Serve the web app on the demo data afterwards.")] = False,
) -> None:
    """Run the whole pipeline offline on recorded real payloads served on loopback."""
    from watcher.demo import run_demo

    run_demo(serve=serve)


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("demo")(demo)
