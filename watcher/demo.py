"""`watcher demo`: the whole pipeline offline, on recorded real payloads served on loopback.

A newcomer sees items flow end to end at once: the recorded EU Funding & Tenders, grantsTenders
and Regione Piemonte payloads (tests/data/fixtures, see PROVENANCE.md) are served by a local HTTP
server, polled, classified and stored in ``data/demo/``; a demo subscriber then gets a digest in
``data/demo/outbox/``; `--serve` opens the web app on the same data.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from rich.table import Table

from watcher import migrate
from watcher.cli.common import console as make_console
from watcher.settings import PROJECT_ROOT, Settings, get_settings

FIXTURES = PROJECT_ROOT / "tests" / "data" / "fixtures"
console = make_console()

# path on the demo server → (file under FIXTURES, content type)
PAYLOADS = {
    "/piemonte/rss.xml": ("rss_bandi_regione_piemonte.xml", "application/rss+xml"),
    "/sedia/search": ("sedia_search_full_page10_paul_mazaingue.json", "application/json"),
    "/sedia/search-ai": ("sedia_search_AI_multilang_duplicates_nunommonteiro.json", "application/json"),
    "/sedia/search-edf": ("sedia_search_trimmed_georget-j.json", "application/json"),
    "/reference/grantsTenders.json": ("grantsTenders_sample_viabolat.json", "application/json"),
}


class _DemoServer(ThreadingHTTPServer):
    # socketserver's listen() backlog of 5 dropped SYNs when the round connected to every source
    # at once, and each dropped one cost the demo a second (the client's retransmit).
    request_queue_size = 128


class _DemoHandler(BaseHTTPRequestHandler):
    """Serves each payload; search API pages after the first are empty, as the real API's end."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        parts = urlsplit(self.path)
        payload = PAYLOADS.get(parts.path)
        if payload is None:
            self._reply(404, b"not found", "text/plain")
            return
        page = int(parse_qs(parts.query).get("pageNumber", ["1"])[0])
        if self.command == "POST" and page > 1:
            self._reply(200, json.dumps({"results": [], "totalResults": 0}).encode(), payload[1])
            return
        self._reply(200, (FIXTURES / payload[0]).read_bytes(), payload[1])

    do_GET = do_POST = _serve


def _sources_yaml(base: str) -> str:
    return f"""sources:
  - id: demo-ft-search
    name: EU Funding & Tenders portal (recorded search page)
    url: {base}/sedia/search?apiKey=SEDIA&text=***
    type: ftportal
    interval: 6h
    language: en
    options: {{max_pages: 1, include_closed: true}}
  - id: demo-ft-search-ai
    name: EU Funding & Tenders portal (recorded multilingual duplicates)
    url: {base}/sedia/search-ai?apiKey=SEDIA&text=AI
    type: ftportal
    interval: 6h
    options: {{max_pages: 1, include_closed: true}}
  - id: demo-ft-search-edf
    name: EU Funding & Tenders portal (recorded two-stage topic)
    url: {base}/sedia/search-edf?apiKey=SEDIA&text=***
    type: ftportal
    interval: 6h
    options: {{max_pages: 1, include_closed: true}}
  - id: demo-grants-tenders
    name: EU Funding & Tenders reference file (recorded sample)
    url: {base}/reference/grantsTenders.json
    type: grantstenders
    interval: 1d
    options: {{include_closed: true}}
  - id: demo-piemonte
    name: Regione Piemonte – bandi (recorded RSS)
    url: {base}/piemonte/rss.xml
    type: rss
    interval: 6h
    language: it
    region: Piemonte
    country: IT
"""


def demo_settings(data_dir: Path, sources: Path) -> Settings:
    """Point the process at the demo's own database, outbox and sources (env, so every module agrees)."""
    os.environ.update(
        {
            "WATCHER_DATA_DIR": str(data_dir),
            "WATCHER_DATABASE_URL": f"sqlite:///{(data_dir / 'watcher.db').resolve()}",
            "WATCHER_SOURCES": str(sources),
            "WATCHER_ALLOW_PRIVATE_NETWORKS": "true",
            "WATCHER_SMTP_URL": "",
        }
    )
    get_settings.cache_clear()
    return get_settings()


def _print_items(limit: int = 25) -> None:
    from datetime import UTC, datetime

    from watcher.items_query import ItemFilters, list_items

    items = list_items(ItemFilters(), limit=limit, today=datetime.now(UTC).date())
    table = Table(title=f"Newest {len(items)} stored items")
    for column in ("kind", "deadline", "ecosystems", "lang", "source", "title"):
        table.add_column(column, overflow="fold")
    for item in items:
        table.add_row(
            item["kind"],
            str(item["deadline"] or ""),
            ", ".join(item["ecosystems"]) or "—",
            item["language"] or "",
            item["source_id"],
            item["title"][:80],
        )
    console.print(table)


def _deliver_demo_digest(settings: Settings) -> None:
    """Subscribe a demo reader to everything and send one digest into the file outbox."""
    try:
        from subscribers import digest, outbox, service
        from watcher.db import session_scope
    except ImportError as error:  # delivery side not installed in this build
        console.print(f"[yellow]delivery step skipped: {error}[/]")
        return
    from datetime import UTC, datetime

    with session_scope() as session:
        service.subscribe(
            session,
            email="lettrice@example.org",
            name="Demo",
            language="it",
            origin="watcher demo",
            confirmed=True,
        )
    digest.send_due_digests(None, now=datetime.now(UTC), force_all=True)
    outbox.drain_sync(settings)
    files = sorted(settings.outbox_dir.glob("*.eml"))
    console.print(f"[bold]{len(files)} message(s) in {settings.outbox_dir}[/]")
    for path in files[-3:]:
        console.print(f"  {path}")


def run_demo(*, serve: bool = False) -> None:
    from watcher.cli.ingest import _summary_table
    from watcher.pipeline import poll_sources_sync

    data_dir = Path("data") / "demo"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    server = _DemoServer(("127.0.0.1", 0), _DemoHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    sources = data_dir / "sources.yaml"
    sources.write_text(_sources_yaml(base))
    settings = demo_settings(data_dir, sources)
    console.print(f"[bold]Cluster Watch demo[/]: recorded payloads served at {base}, data in {data_dir}/")
    migrate.upgrade()
    report = poll_sources_sync(settings)
    console.print(_summary_table(report))
    _print_items()
    _deliver_demo_digest(settings)
    server.shutdown()
    if serve:
        import uvicorn

        from watcher.web.app import create_app

        console.print(f"serving the demo data at http://{settings.host}:{settings.port}/")
        uvicorn.run(create_app(settings), host=settings.host, port=settings.port)
    else:
        console.print(
            "Browse it: [bold]watcher demo --serve[/]"
            " (or set WATCHER_DATA_DIR=data/demo and `watcher serve`)."
        )
