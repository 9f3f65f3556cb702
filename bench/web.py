"""Web latency with a large archive: p50/p95 of the pages people and calendar apps hit most.

Stores N synthetic items (default 100,000) in SQLite and in PostgreSQL (a scratch database, dropped
afterwards), serves the real app with uvicorn on 127.0.0.1 and times requests from a loopback
client: the archive (unfiltered, filtered, free-text), an item page, the JSON API and a calendar
feed of 10,000 events. Aims: archive p95 < 100 ms, calendar feed < 1 s.

    .venv/bin/python bench/web.py [--items 100000] [--backends sqlite,postgres] [--rounds 100]

Prints one line per measurement and the JSON summary as the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import uvicorn
from sqlalchemy import create_engine, insert, text

from watcher.web.i18n import ECOSYSTEM_SLUGS

PG_ADMIN_URL = os.environ.get("WATCHER_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
CALENDAR_EVENTS = 10_000
WORDS = [
    "digital", "innovation", "hubs", "hydrogen", "valleys", "textile", "recycling", "tourism", "smart",
    "farming", "health", "data", "cluster", "internationalisation", "SME", "resilience", "batteries",
    "circular", "economy", "mobility", "skills", "creative", "industries", "aerospace",
    "microelectronics", "construction", "renovation", "retail", "social", "economy",
]
SLUGS = list(ECOSYSTEM_SLUGS)
SOURCES = ["sedia", "ecccp-news", "ecccp-events", "ec-newsroom", "eismea", "een-events", "interreg", "ansa"]
PROGRAMMES = ["Horizon Europe", "Digital Europe", "COSME", "LIFE", "Interreg", "SMP", "EU4Health"]


def make_rows(count: int, *, today: date, seed: int = 7) -> Iterator[dict[str, Any]]:
    """Synthetic items shaped like the real ones; ~CALENDAR_EVENTS+ of them dated near today."""
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for n in range(count):
        kind = rng.choices(["call", "event", "news"], weights=[4, 2, 4])[0]
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 10))).capitalize()
        deadline = today + timedelta(days=rng.randint(-400, 300)) if kind == "call" else None
        event_date = today + timedelta(days=rng.randint(-300, 200)) if kind == "event" else None
        body = " ".join(rng.choice(WORDS) for _ in range(60))
        yield {
            "source_id": rng.choice(SOURCES),
            "guid": f"bench-{n}",
            "identifier": f"HORIZON-CL{rng.randint(1, 6)}-2026-{n:06d}" if kind == "call" else None,
            "url": f"https://example.eu/items/{n}",
            "title": f"{title} {n}",
            "text": body,
            "content_html": f"<p>{body}</p>",
            "language": rng.choice(["en", "en", "it", "fr", "de"]),
            "published_at": start + timedelta(minutes=15 * n),
            "first_seen_at": start + timedelta(minutes=15 * n),
            "updated_at": start + timedelta(minutes=15 * n),
            "fingerprint": f"{n:064x}",
            "kind": kind,
            "ecosystems": rng.sample(SLUGS, rng.randint(1, 3)),
            "scores": {},
            "why": {},
            "deadline": deadline,
            "deadlines": [deadline.isoformat()] if deadline else [],
            "event_date": event_date,
            "programmes": rng.sample(PROGRAMMES, rng.randint(0, 2)),
            "tags": [],
            "extra": {},
            "hidden": False,
            "pinned": False,
            "corrected": False,
        }


def load_items(url: str, count: int) -> float:
    """Insert ``count`` items in batches; returns the seconds it took."""
    from watcher.db import get_engine
    from watcher.models import Item

    engine = get_engine(url)
    began = time.perf_counter()
    batch: list[dict[str, Any]] = []
    with engine.begin() as conn:
        for row in make_rows(count, today=date.today()):
            batch.append(row)
            if len(batch) == 5000:
                conn.execute(insert(Item.__table__), batch)  # type: ignore[attr-defined]
                batch = []
        if batch:
            conn.execute(insert(Item.__table__), batch)  # type: ignore[attr-defined]
        if engine.dialect.name == "postgresql":
            # What autovacuum would do soon anyway. Not on SQLite: the app never runs ANALYZE
            # there, and stats taken while story_id is all NULL steer its planner wrong.
            conn.execute(text("ANALYZE"))
    return time.perf_counter() - began


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(url: str, data_dir: Path) -> Iterator[str]:
    """The real app on uvicorn in a thread; yields its base URL."""
    os.environ["WATCHER_DATABASE_URL"] = url
    os.environ["WATCHER_DATA_DIR"] = str(data_dir)
    os.environ["WATCHER_CALENDAR_CACHE_S"] = "0"  # time the build, not the cache hit
    from watcher.settings import get_settings
    from watcher.web.app import create_app

    get_settings.cache_clear()
    port = free_port()
    config = uvicorn.Config(create_app(get_settings()), host="127.0.0.1", port=port, log_level="warning",
                            access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def timed(client: httpx.Client, path: str, rounds: int) -> dict[str, Any]:
    """p50/p95/max in ms over ``rounds`` requests (after one warm-up), plus the response size."""
    warm = client.get(path)
    warm.raise_for_status()
    samples = []
    for _ in range(rounds):
        began = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - began) * 1000)
        response.raise_for_status()
    samples.sort()
    return {
        "p50_ms": round(statistics.median(samples), 1),
        "p95_ms": round(samples[min(len(samples) - 1, int(len(samples) * 0.95))], 1),
        "max_ms": round(samples[-1], 1),
        "rounds": rounds,
        "bytes": len(warm.content),
        **({"events": warm.text.count("BEGIN:VEVENT")} if path.endswith(".ics") else {}),
    }


def measure(base: str, *, rounds: int, item_id: int) -> dict[str, Any]:
    paths = {
        "archive": "/",
        "archive_page_50": "/?page=50",
        "archive_filtered": "/?ecosystem=digital&kind=call&status=open",
        "archive_rare_filter": "/?ecosystem=textile&kind=event&language=de&status=closing",
        "archive_text": "/?q=hydrogen+valleys",
        "item": f"/items/{item_id}",
        "api_items": "/api/items?ecosystem=health&kind=call",
        "calendar_all": "/calendar/all.ics",
        "atom": "/feeds/digital.atom?kind=call",
    }
    results = {}
    with httpx.Client(base_url=base, timeout=60) as client:
        for name, path in paths.items():
            count = max(5, rounds // 10) if name == "calendar_all" else rounds
            results[name] = timed(client, path, count)
            print(f"  {name:22s} {path:60s} {json.dumps(results[name])}", flush=True)
    return results


@contextmanager
def postgres_database() -> Iterator[str]:
    name = f"cw_bench_{secrets.token_hex(4)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        from watcher.db import dispose_engines

        dispose_engines()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run_backend(backend: str, *, items: int, rounds: int, workdir: Path) -> dict[str, Any]:
    from watcher import migrate

    with (postgres_database() if backend == "postgres" else _sqlite_url(workdir)) as url:
        migrate.upgrade(url)
        seconds = load_items(url, items)
        print(f"{backend}: stored {items} items in {seconds:.1f} s", flush=True)
        with serve(url, workdir / backend) as base:
            results = measure(base, rounds=rounds, item_id=items // 2)
        return {"load_s": round(seconds, 1), **results}


@contextmanager
def _sqlite_url(workdir: Path) -> Iterator[str]:
    yield f"sqlite:///{workdir / 'bench.sqlite'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    summary: dict[str, Any] = {"bench": "web", "items": args.items, "calendar_events_cap": CALENDAR_EVENTS}
    with tempfile.TemporaryDirectory(prefix="cw-bench-web-") as tmp:
        for backend in args.backends.split(","):
            try:
                summary[backend] = run_backend(
                    backend, items=args.items, rounds=args.rounds, workdir=Path(tmp)
                )
            except Exception as error:  # PostgreSQL down: say so, keep the other figures
                summary[backend] = {"error": f"{type(error).__name__}: {error}"[:300]}
                print(f"{backend}: skipped: {summary[backend]['error']}", flush=True)
    for backend in args.backends.split(","):
        figures = summary.get(backend, {})
        if "archive" in figures:
            figures["meets_aims"] = (
                max(figures[k]["p95_ms"] for k in figures if k.startswith("archive")) < 100
                and figures["calendar_all"]["p95_ms"] < 1000
            )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
