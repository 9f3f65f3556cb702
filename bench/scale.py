"""Scale-out benchmark on PostgreSQL: N feeds polled and M messages drained by 1, 2 and 4 workers.

For each worker count: a fresh PostgreSQL database; the feeds are served from loopback server
processes (bench/feedserver.py); a share of them (``--unchanged``, default 90%) already has the
feed's ETag in its health row, so it answers 304 as an unchanged feed would, the rest is parsed,
classified and stored. Then M messages are queued and drained to an in-process aiosmtpd sink.
Workers are real `watcher worker` processes. Sources and messages are held back (due tomorrow)
until every worker has started; the clock runs from releasing them until every source has been
polled once (resp. every message is sent), so start-up is not measured. Last line: JSON with
throughput per worker count.

    .venv/bin/python bench/scale.py                       # 10,000 feeds, 50,000 messages, 1/2/4 workers
    .venv/bin/python bench/scale.py --feeds 2000 --messages 10000 --workers 1,2
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path[:0] = [str(BENCH_DIR), str(ROOT)]
from feedgen import feed_xml  # noqa: E402
from poll import free_port, start_servers, write_sources  # noqa: E402

WORKER = [sys.executable, "-c", "from watcher.cli import main; main()", "worker", "--processes", "1"]


class Sink:
    """An aiosmtpd server that accepts and counts messages (the bench measures us, not a mail store)."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.count = 0
        self.lock = threading.Lock()
        sink = self

        class Handler:
            async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
                with sink.lock:
                    sink.count += 1
                return "250 OK"

        self.port = free_port("127.0.0.1")
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def start(self) -> str:
        self.controller.start()
        return f"smtp://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.controller.stop()


def fresh_database(admin_url: str) -> str:
    name = f"cw_bench_{secrets.token_hex(4)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def drop_database(admin_url: str, url: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


def seed_sources(engine: Engine, *, urls: list[str], items: int, share: float) -> int:
    """A health row per source, held back until the clock starts; ``share`` of them already hold
    the ETag their feed will answer with, so those polls get a 304 as unchanged feeds do."""
    rows = []
    unchanged = 0
    for index, url in enumerate(urls):
        etag = None
        if index % 10 < share * 10:
            base = url.split("/feed/")[0]
            etag = '"' + hashlib.md5(feed_xml(index, items, base=base)).hexdigest() + '"'
            unchanged += 1
        rows.append({"id": f"bench-{index}", "etag": etag})
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO source_state (source_id, enabled, etag, consecutive_failures, items_seen, "
                "items_last_round, next_poll_at) VALUES (:id, true, :etag, 0, 0, 0, now() + interval '1 day')"
            ),
            rows,
        )
    return unchanged


def queue_messages(engine: Engine, count: int) -> None:
    from sqlmodel import Session

    from subscribers.outbox import enqueue

    for start in range(0, count, 1000):
        with Session(engine) as session:
            for n in range(start, min(start + 1000, count)):
                mail = EmailMessage()
                mail["To"] = f"user{n}@example.eu"
                mail["Subject"] = f"Bench {n}"
                mail.set_content(f"Bench message {n}\n" * 20)
                enqueue(session, subscriber_id=None, message_key=f"bench:{n}", kind="digest", message=mail)
            session.commit()
    with engine.begin() as conn:  # held back until the workers are up
        conn.execute(text("UPDATE outbox SET next_attempt_at = now() + interval '1 day'"))


def scalar(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


class Workers:
    """``count`` real `watcher worker` processes; phases are timed from release to completion,
    after every worker has started, so process start-up is not part of the figures."""

    def __init__(self, count: int, env: dict[str, str], *, timeout: float) -> None:
        self.count, self.env, self.timeout = count, env, timeout
        self.log_path = Path(env["WATCHER_DATA_DIR"]) / "workers.log"
        self.procs: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> Workers:
        with self.log_path.open("ab") as log:
            self.procs = [
                subprocess.Popen(WORKER, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=log)
                for _ in range(self.count)
            ]
        self.wait(lambda: self.log_path.read_text(errors="replace").count('"worker_started"') >= self.count)
        return self

    def wait(self, done: Callable[[], bool]) -> float:
        started = time.perf_counter()
        while not done():
            if time.perf_counter() - started > self.timeout:
                raise SystemExit(f"{self.count} worker(s) did not finish within {self.timeout}s")
            if any(proc.poll() is not None for proc in self.procs):
                tail = self.log_path.read_text(errors="replace")[-3000:]
                raise SystemExit(f"a worker exited early:\n{tail}")
            time.sleep(0.1)
        return time.perf_counter() - started

    def timed(self, release: Callable[[], None], done: Callable[[], bool]) -> float:
        started = time.perf_counter()
        release()
        self.wait(done)
        return time.perf_counter() - started

    def __exit__(self, *_exc: object) -> None:
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def execute(engine: Engine, sql: str) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql))


def one_count(workers: int, args: argparse.Namespace, urls: list[str], work: Path) -> dict[str, object]:
    from watcher import migrate

    url = fresh_database(args.pg_url)
    try:
        migrate.upgrade(url)
        engine = create_engine(url)
        seeded = seed_sources(engine, urls=urls, items=args.items, share=args.unchanged)
        queue_messages(engine, args.messages)
        sink = Sink()
        smtp_url = sink.start()
        env = {
            **os.environ,
            "WATCHER_DATABASE_URL": url,
            "WATCHER_SOURCES": str(work / "sources.yaml"),
            "WATCHER_DATA_DIR": str(work / "data"),
            "WATCHER_ALLOW_PRIVATE_NETWORKS": "true",
            "WATCHER_SMTP_URL": smtp_url,
            "WATCHER_WORKER_CONCURRENCY": str(args.concurrency),
            "WATCHER_FETCH_PER_HOST_CONCURRENCY": "16",
            "WATCHER_MAIL_RATE_PER_SECOND": "100000",
            "WATCHER_MAIL_RATE_PER_HOUR": "100000000",
            "WATCHER_MAIL_POLL_INTERVAL_S": "0.2",
            "WATCHER_WORKER_IDLE_S": "0.5",
            "WATCHER_POLL_JITTER_S": "0",
            "WATCHER_LOG_FORMAT": "json",
            "WATCHER_LOG_LEVEL": "INFO",
        }
        polled = "SELECT COUNT(*) FROM source_state WHERE last_attempt_at IS NOT NULL"
        left = "SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'retry', 'sending')"
        with Workers(workers, env, timeout=args.timeout) as cluster:
            poll_s = cluster.timed(
                lambda: execute(engine, "UPDATE source_state SET next_poll_at = NULL"),
                lambda: scalar(engine, polled) >= len(urls),
            )
            drain_s = cluster.timed(
                lambda: execute(engine, "UPDATE outbox SET next_attempt_at = now()"),
                lambda: scalar(engine, left) == 0,
            )
        failed = scalar(engine, "SELECT COUNT(*) FROM source_state WHERE consecutive_failures > 0")
        with engine.connect() as conn:
            errors = [
                f"{count}× {error}"[:200]
                for error, count in conn.execute(
                    text(
                        "SELECT last_error, COUNT(*) FROM source_state WHERE consecutive_failures > 0 "
                        "GROUP BY last_error ORDER BY 2 DESC LIMIT 3"
                    )
                )
            ]
        items = scalar(engine, "SELECT COUNT(*) FROM item")
        sent = scalar(engine, "SELECT COUNT(*) FROM outbox WHERE state = 'sent'")
        sink.stop()
        engine.dispose()
        return {
            "workers": workers,
            "feeds": len(urls),
            "feeds_unchanged": seeded,
            "feeds_failed": failed,
            "feed_errors": errors,
            "items_stored": items,
            "poll_s": round(poll_s, 2),
            "feeds_per_s": round(len(urls) / poll_s, 1),
            "messages": args.messages,
            "messages_sent": sent,
            "smtp_received": sink.count,
            "drain_s": round(drain_s, 2),
            "messages_per_s": round(args.messages / drain_s, 1),
        }
    finally:
        drop_database(args.pg_url, url)


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--feeds", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=5, help="Entries per changed feed.")
    parser.add_argument("--unchanged", type=float, default=0.9, help="Share of feeds answering 304.")
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--workers", default="1,2,4", help="Comma-separated worker counts.")
    parser.add_argument("--concurrency", type=int, default=32, help="Sources each worker polls at once.")
    parser.add_argument("--hosts", type=int, default=4, help="Loopback feed server processes.")
    parser.add_argument("--timeout", type=float, default=3600.0, help="Seconds allowed per phase.")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("WATCHER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
        help="A PostgreSQL URL whose server lets us create and drop databases.",
    )
    args = parser.parse_args()
    counts = [int(value) for value in args.workers.split(",")]
    results = []
    for workers in counts:
        # Fresh feed servers per count: connections left by the previous count's workers must not
        # count against this one (reused servers made later counts fail fetches).
        servers, bases = start_servers(args.hosts, args.items)
        try:
            urls = [f"{bases[index % len(bases)]}/feed/{index}.xml" for index in range(args.feeds)]
            with tempfile.TemporaryDirectory(prefix="cw-scale-") as tmp:
                work = Path(tmp)
                (work / "data").mkdir()
                write_sources(work / "sources.yaml", urls)
                print(f"{workers} worker(s): {args.feeds} feeds, {args.messages} mails ...", file=sys.stderr)
                results.append(one_count(workers, args, urls, work))
                print(json.dumps(results[-1]), file=sys.stderr)
        finally:
            for server in servers:
                server.terminate()
    print(json.dumps({"benchmark": "scale", "cpus": os.cpu_count(), "results": results}))


if __name__ == "__main__":
    main()
