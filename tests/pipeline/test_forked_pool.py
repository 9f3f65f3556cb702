"""`watcher poll` from a single-threaded process forks its pool workers: check that path for real.

The test suite's own processes have threads (so in-process tests get ``spawn``); here a fresh
child process polls, with the pool, the way the CLI does, then keeps using its own database
connection, which the forked workers must have left alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from tests.conftest import DATA_DIR
from tests.support.http_server import LoopbackServer, Reply, Request

CHILD = """
import json
from sqlmodel import Session, func, select
from watcher import events
from watcher.db import get_engine
from watcher.models import Item
from watcher.pipeline import poll_sources_sync
from watcher.processes import start_method
from watcher.settings import get_settings

settings = get_settings()
engine = get_engine(settings.resolved_database_url())
with Session(engine) as session:  # the parent's pooled connection exists before the fork
    before = session.exec(select(func.count()).select_from(Item)).one()
method = start_method().get_start_method()
stored = []
events.subscribe(lambda event: stored.append(event.item.id))
report = poll_sources_sync(settings)
with Session(engine) as session:  # ...and still works after the workers are gone
    after = session.exec(select(func.count()).select_from(Item)).one()
print(json.dumps({"method": method, "before": before, "after": after, "events": len(stored),
                  "outcomes": sorted((o.source_id, o.ok, o.new) for o in report.outcomes)}))
"""


def _pool_env(tmp_path: Path, db_url: str, urls: dict[str, str], **settings: str) -> dict[str, str]:
    """The environment of a child polling ``urls`` (one RSS source each) with the pool's settings."""
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "sources:\n"
        + "".join(
            f"  - id: {name}\n    name: {name}\n    url: {url}\n    type: rss\n    interval: 1h\n"
            for name, url in urls.items()
        )
    )
    return {
        **os.environ,
        "WATCHER_DATABASE_URL": db_url,
        "WATCHER_SOURCES": str(sources),
        "WATCHER_ALLOW_PRIVATE_NETWORKS": "true",
        "WATCHER_PIPELINE_PROCESSES": "2",
        "WATCHER_PIPELINE_CHUNK_SOURCES": "1",
        **{f"WATCHER_{name.upper()}": value for name, value in settings.items()},
    }


def _run_child(script: str, env: dict[str, str]) -> dict[str, Any]:
    """Run ``script`` in a fresh interpreter (single-threaded, so its pool forks); its last line as JSON."""
    command = [sys.executable, "-c", script]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_a_single_threaded_round_forks_workers_that_store_and_leave_the_parent_working(
    db_url: str, tmp_path: Path, http_server: LoopbackServer
) -> None:
    feed = (DATA_DIR / "fixtures" / "rss_bandi_regione_piemonte.xml").read_bytes()
    urls = {name: http_server.route(f"/{name}.xml", feed) for name in ("one", "two", "three")}
    result = _run_child(CHILD, _pool_env(tmp_path, db_url, urls, pipeline_process_min_sources="1"))
    assert result["method"] == "fork"
    assert result["before"] == 0 and result["after"] == 30 and result["events"] == 30
    assert result["outcomes"] == [["one", True, 10], ["three", True, 10], ["two", True, 10]]


UNCHANGED_CHILD = """
import json
from watcher import pipeline_pool
from watcher.pipeline import poll_sources_sync
from watcher.settings import get_settings

report = poll_sources_sync(get_settings())
print(json.dumps({"pooled": pipeline_pool._pool is not None,
                  "outcomes": sorted((o.source_id, o.ok, o.new, o.not_modified) for o in report.outcomes)}))
"""


def test_a_big_round_of_unchanged_feeds_goes_to_forked_workers(
    db_url: str, tmp_path: Path, http_server: LoopbackServer
) -> None:
    """Feeds that answer 304 are not worth spawned workers, but forked ones start ready: a round of
    at least ``pipeline_fork_min_sources`` sources is shared out, and its 304s are recorded."""
    feed = (DATA_DIR / "fixtures" / "rss_bandi_regione_piemonte.xml").read_bytes()

    def conditional(request: Request, _: BaseHTTPRequestHandler) -> Reply:
        if request.headers.get("If-None-Match") == '"v1"':
            return Reply(304, b"", {"ETag": '"v1"'})
        return Reply(200, feed, {"ETag": '"v1"'})

    names = ("one", "two", "three")
    urls = {name: http_server.route(f"/{name}.xml", handler=conditional) for name in names}
    env = _pool_env(
        tmp_path, db_url, urls, pipeline_process_min_sources="100", pipeline_fork_min_sources="3"
    )
    rounds = [_run_child(UNCHANGED_CHILD, env) for _ in range(2)]
    first, second = rounds
    assert first["outcomes"] == [[name, True, 10, False] for name in sorted(names)]
    assert second["pooled"]
    assert second["outcomes"] == [[name, True, 0, True] for name in sorted(names)]
