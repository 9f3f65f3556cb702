"""`watcher worker`, `watcher export FILE`, `watcher import FILE`: running and moving a deployment.

Imports stay inside the commands so `watcher --help` does not load the worker's dependencies.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from watcher.cli.common import fail, settings_or_exit


def worker(
    concurrency: Annotated[
        int | None, typer.Option(min=1, help="Sources polled at once (default: WATCHER_WORKER_CONCURRENCY).")
    ] = None,
    processes: Annotated[
        int | None, typer.Option(min=1, help="Worker processes to start (default: WATCHER_WORKERS).")
    ] = None,
) -> None:
    """Poll, send and schedule as one of several workers sharing a PostgreSQL database."""
    from watcher.db import is_sqlite
    from watcher.observability.logging import configure_logging

    settings = settings_or_exit()
    if concurrency is not None:
        settings = settings.model_copy(update={"worker_concurrency": concurrency})
    count = processes or settings.workers
    configure_logging(settings)
    if count > 1 and is_sqlite(settings.resolved_database_url()):
        fail("SQLite runs a single worker; use PostgreSQL (WATCHER_DATABASE_URL) to run several")
    _wait_until_ready(settings.resolved_database_url(), timeout_s=settings.worker_ready_timeout_s)
    if count > 1:
        raise typer.Exit(_supervise(count, settings.worker_metrics_port))
    from watcher.worker import WorkerRefused, run_worker

    try:
        stats = run_worker(settings)
    except WorkerRefused as error:
        fail(str(error))
    typer.echo(f"worker stopped: {stats.rounds} round(s), {stats.sources_polled} poll(s), {stats.sent} sent")


def _wait_until_ready(url: str, *, timeout_s: float) -> None:
    """Workers never migrate (several starting at once would race): they wait for `watcher db upgrade`."""
    import time

    from watcher.db import get_engine
    from watcher.observability.health import readiness

    deadline = time.monotonic() + timeout_s
    while not (result := readiness(get_engine(url))).ready:
        if time.monotonic() > deadline:
            fail(f"database not ready after {timeout_s:.0f}s: {result.checks}")
        time.sleep(min(2.0, timeout_s))


def _supervise(count: int, metrics_port: int) -> int:
    """Start ``count`` single workers and wait; SIGTERM/SIGINT are passed on to all of them."""
    children = []
    for index in range(count):
        env = dict(os.environ, WATCHER_WORKERS="1")
        if metrics_port:
            env["WATCHER_WORKER_METRICS_PORT"] = str(metrics_port + index)
        command = [sys.executable, "-c", "from watcher.cli import main; main()", "worker", "--processes", "1"]
        children.append(subprocess.Popen(command, env=env))

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    return max(child.wait() for child in children)


def export(
    file: Annotated[Path, typer.Argument(help="Where to write the export (JSON lines); '-' for stdout.")],
) -> None:
    """Write every table (sources, items, corrections, topics, subscribers, outbox…) to a versioned file."""
    from watcher.db import get_engine
    from watcher.transfer import export_database

    settings = settings_or_exit()
    engine = get_engine(settings.resolved_database_url())
    if str(file) == "-":
        counts = export_database(engine, sys.stdout)
    else:
        with file.open("w", encoding="utf-8") as out:
            counts = export_database(engine, out)
    typer.echo(f"exported {sum(counts.values())} row(s) from {len(counts)} table(s)", err=True)


def import_(
    file: Annotated[Path, typer.Argument(help="An export written by `watcher export`.", exists=True)],
) -> None:
    """Restore an export into an empty database (SQLite or PostgreSQL), then migrate it to head."""
    from watcher.db import get_engine
    from watcher.transfer import TransferError, import_database

    settings = settings_or_exit()
    url = settings.resolved_database_url()
    try:
        with file.open(encoding="utf-8") as lines:
            counts = import_database(get_engine(url), lines, url=url)
    except TransferError as error:
        fail(f"{file}: {error}")
    typer.echo(f"imported {sum(counts.values())} row(s) into {len(counts)} table(s)")


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
    app.command("export")(export)
    app.command("import")(import_)
