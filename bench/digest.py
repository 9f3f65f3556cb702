"""Digest delivery throughput: build, render and send every digest to an SMTP sink on loopback.

Seeds a scratch SQLite database with N subscribers (default 10,000; varied ecosystems, kinds,
languages, frequencies, keywords, weekdays) and M items (default 2,000, first seen over the last two
weeks), then runs what ``watcher digest send --now`` and the scheduler's digest job run:
``subscribers.drain_alongside.drain_alongside`` around ``subscribers.digest.send_due_digests``.
The job matches, builds, renders and queues every digest (in worker processes), while the outbox
drain (SmtpBackend, pooled connections, rate limits lifted) sends what is queued to an aiosmtpd
sink in its own process that only counts; timing ends when the last message is sent.
``--phases`` instead runs the job, then the drain, and also reports each phase's own rate.

In the same run it measures the sink's ceiling with a minimal sender (raw aiosmtplib, same
concurrency, the same message bytes pre-built in memory; best of ``--ceiling-rounds``).

    .venv/bin/python bench/digest.py [--subscribers 10000] [--items 2000] [--phases]

Progress goes to stderr; the last stdout line is one JSON object. ``msgs_per_s`` is END TO END
(digests delivered / (job start to last send)), as ``msgs_per_s_is`` says; ``build_msgs_per_s`` is
the job alone (until it returned) and, with ``--phases``, ``send_msgs_per_s`` the drain alone.
``ratio`` is msgs_per_s / sink_ceiling_msgs_per_s. ``cpu_ms_per_msg`` counts this process and the
job's workers. peak_rss_mib is this process's peak and worker_peak_rss_mib the largest digest
worker's (the sink runs apart; it is started before the job, so it is not counted as a worker).
Aims: msgs_per_s >= 200, ratio >= 0.5, peak_rss_mib < 400.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import resource
import socket
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SLUGS = [
    "aerospace-defence",
    "agri-food",
    "construction",
    "cultural-creative",
    "digital",
    "electronics",
    "energy-intensive",
    "renewables",
    "health",
    "mobility",
    "proximity-social",
    "retail",
    "textile",
    "tourism",
]
WORDS = [
    "digital",
    "innovation",
    "hubs",
    "hydrogen",
    "valleys",
    "textile",
    "recycling",
    "tourism",
    "smart",
    "farming",
    "health",
    "data",
    "cluster",
    "internationalisation",
    "SME",
    "resilience",
    "batteries",
    "circular",
    "economy",
    "mobility",
    "skills",
    "creative",
    "industries",
    "aerospace",
    "microelectronics",
    "construction",
    "renovation",
    "retail",
    "social",
    "economy",
    "bando",
    "contributi",
    "imprese",
    "innovazione",
    "digitale",
    "filiera",
    "agroalimentare",
    "turismo",
    "sostenibile",
]
KINDS = ["call", "event", "news"]


def _own_cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def _cpu_with_workers() -> float:
    """CPU seconds of this process and its reaped children (the digest job's worker processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the sink: aiosmtpd that only counts, in its own process -------------------------------------


def _sink_main(port: int, counter: Any, ready: Any) -> None:
    from aiosmtpd.controller import Controller

    class Counting:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            with counter.get_lock():
                counter.value += 1
            return "250 OK"

    controller = Controller(Counting(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


# --- seeding ----------------------------------------------------------------------------------------


def seed(url: str, *, subscribers: int, items: int, now: datetime, rng: random.Random) -> None:
    from sqlalchemy import create_engine, insert

    from subscribers.models import Subscriber
    from watcher import migrate
    from watcher.models import Item

    migrate.upgrade(url)
    engine = create_engine(url)
    item_rows = []
    for n in range(items):
        kind = rng.choices(KINDS, weights=[4, 2, 4])[0]
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 12))).capitalize()
        seen = now - timedelta(seconds=rng.randint(0, 14 * 86400))
        item_rows.append(
            {
                "source_id": rng.choice(["sedia", "ecccp-news", "ec-newsroom", "eismea", "interreg", "ansa"]),
                "guid": f"bench-{n}",
                "url": f"https://example.eu/items/{n}",
                "title": title,
                "text": " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 120))),
                "content_html": "",
                "language": rng.choice(["en", "it"]),
                "published_at": seen,
                "first_seen_at": seen,
                "updated_at": seen,
                "fingerprint": f"{n:064x}",
                "kind": kind,
                "ecosystems": rng.sample(SLUGS, rng.randint(1, 3)),
                "scores": {},
                "why": {},
                "deadline": (now + timedelta(days=rng.randint(1, 90))).date() if kind == "call" else None,
                "deadlines": [],
                "event_date": (now + timedelta(days=rng.randint(1, 60))).date() if kind == "event" else None,
                "programmes": [],
                "tags": [],
                "extra": {},
                "hidden": False,
                "pinned": False,
                "corrected": False,
            }
        )
    sub_rows = []
    for n in range(subscribers):
        sub_rows.append(
            {
                "email": f"subscriber{n}@example.eu",
                "name": f"Subscriber {n}",
                "language": rng.choice(["it", "en"]),
                "status": "active",
                "timezone": "Europe/Rome",
                "created_at": now - timedelta(days=30),
                "confirmed_at": now - timedelta(days=30),
                "updated_at": now,
                "hard_bounces": 0,
                "token_nonce": f"{n:032x}",
                "confirmations_sent": 1,
                "ecosystems": rng.sample(SLUGS, rng.choice([0, 1, 1, 2, 3])),
                "kinds": rng.choice([[], [], ["call"], ["call", "event"], ["news"]]),
                "programmes": [],
                "regions": [],
                "countries": [],
                "content_languages": [],
                "include_keywords": rng.choice([[], [], [], ["hydrogen"], ["turismo", "tourism"]]),
                "exclude_keywords": rng.choice([[], [], ["defence"]]),
                "own_filters": True,
                "frequency": rng.choices(["weekly", "daily"], weights=[7, 3])[0],
                "digest_weekday": rng.randint(0, 6),
                "digest_hour": rng.randint(6, 10),
                "reminder_lead_days": [14, 3],
            }
        )
    with engine.begin() as conn:
        conn.execute(insert(Item.__table__), item_rows)  # type: ignore[attr-defined]
        for start in range(0, len(sub_rows), 2000):
            conn.execute(insert(Subscriber.__table__), sub_rows[start : start + 2000])  # type: ignore[attr-defined]
    engine.dispose()


# --- our side: the digest job and the drain -----------------------------------------------------------


async def _minimal_sender(port: int, messages: list[bytes], concurrency: int) -> float:
    """The ceiling: plain aiosmtplib, ``concurrency`` reused connections, no database, no rendering."""
    import aiosmtplib

    queue = list(enumerate(messages))

    async def worker() -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
        await client.connect()
        while queue:
            n, raw = queue.pop()
            await client.sendmail("noreply@clusterwatch.local", [f"ceiling{n}@example.eu"], raw)
        await client.quit()

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(messages) / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--ceiling-messages", type=int, default=2_500)
    parser.add_argument("--ceiling-rounds", type=int, default=2, help="Best of N minimal-sender rounds.")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--phases", action="store_true",
        help="Queue every digest first, then drain (and report each phase's rate).",
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="cw-bench-digest-"))
    url = f"sqlite:///{work / 'bench.db'}"
    port = _free_port()
    os.environ.update(
        {
            "WATCHER_DATA_DIR": str(work),
            "WATCHER_DATABASE_URL": url,
            "WATCHER_SMTP_URL": f"smtp://127.0.0.1:{port}",
            "WATCHER_MAIL_CONCURRENCY": str(args.concurrency),
            "WATCHER_MAIL_RATE_PER_SECOND": "1000000",
            "WATCHER_MAIL_RATE_PER_HOUR": "1000000000",
            "WATCHER_BASE_URL": "https://clusterwatch.example.eu",
        }
    )
    now = datetime.now(UTC)
    log(f"seeding {args.subscribers} subscribers and {args.items} items into {url}")
    t0 = time.monotonic()
    seed(url, subscribers=args.subscribers, items=args.items, now=now, rng=random.Random(args.seed))
    log(f"seeded in {time.monotonic() - t0:.1f}s")

    ctx = mp.get_context("spawn")
    counter, ready = ctx.Value("l", 0), ctx.Event()
    sink = ctx.Process(target=_sink_main, args=(port, counter, ready), daemon=True)
    sink.start()
    ready.wait(30)

    from subscribers.digest import send_due_digests
    from subscribers.drain import drain_sync
    from subscribers.drain_alongside import drain_alongside
    from watcher.db import get_engine
    from watcher.settings import get_settings

    get_settings.cache_clear()
    built_at: list[float] = []

    def job() -> Any:
        report = send_due_digests(get_engine(url), now=now, force_all=True)
        built_at.append(time.monotonic())
        return report

    log("digest job: matching, building, rendering and queueing every digest"
        + (", then the drain" if args.phases else ", the drain sending meanwhile"))
    started, cpu_started, own_cpu_started = time.monotonic(), _cpu_with_workers(), _own_cpu()
    phase_cpu: dict[str, float] = {}
    if args.phases:
        report = job()
        phase_cpu["build"] = _cpu_with_workers() - cpu_started
        log(f"built and queued in {built_at[0] - started:.1f}s; outbox drain to the sink")
        drained = drain_sync(get_settings())
        phase_cpu["send"] = _cpu_with_workers() - cpu_started - phase_cpu["build"]
    else:
        report, drained = drain_alongside(job, get_settings())
    finished = time.monotonic()
    built = {"queued": report.queued, "empty": report.empty, "failed": report.errors}
    cpu_s, own_cpu_s = _cpu_with_workers() - cpu_started, _own_cpu() - own_cpu_started
    built_s, total_s, send_s = built_at[0] - started, finished - started, finished - built_at[0]
    sink_seen = counter.value
    # build + send, before the ceiling; the job's worker processes (reaped by now) are children
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest one
    log(f"queued {built}; sent {drained.sent} (sink saw {sink_seen}); whole run {total_s:.1f}s")

    from sqlalchemy import text

    with get_engine(url).connect() as conn:
        sample = [
            row[0]
            for row in conn.execute(
                text("SELECT raw FROM outbox_body ORDER BY outbox_id LIMIT :n"),
                {"n": min(args.ceiling_messages, 200)},
            )
        ]
        sizes = sorted(row[0] for row in conn.execute(text("SELECT LENGTH(raw) FROM outbox_body")))
    if not sample:
        raise SystemExit("no digest was queued; nothing to measure")
    messages = [sample[n % len(sample)] for n in range(args.ceiling_messages)]
    log(f"ceiling: minimal aiosmtplib sender, {len(messages)} messages, concurrency {args.concurrency}")
    before = counter.value
    ceilings = [
        asyncio.run(_minimal_sender(port, messages, args.concurrency)) for _ in range(args.ceiling_rounds)
    ]
    ceiling = max(ceilings)
    log(f"ceiling rounds: {', '.join(f'{c:.0f}' for c in ceilings)} msgs/s; best counts")
    assert counter.value - before == len(messages) * args.ceiling_rounds
    sink.terminate()

    # without --phases most sending happens while the job runs: what is left after it is not a rate
    send_rate = drained.sent / send_s if send_s and args.phases else 0.0
    end_to_end = drained.sent / total_s if total_s else 0.0
    summary = {
        "msgs_per_s": round(end_to_end, 1),
        "msgs_per_s_is": "end_to_end: digests delivered / (job start to last send)",
        "phases": args.phases,
        "sink_ceiling_msgs_per_s": round(ceiling, 1),
        "ratio": round(end_to_end / ceiling, 3) if ceiling else None,
        "peak_rss_mib": round(peak_rss, 1),
        "worker_peak_rss_mib": round(workers_rss, 1),
        "build_msgs_per_s": round(built["queued"] / built_s, 1) if built_s else 0.0,
        "send_msgs_per_s": round(send_rate, 1),
        "send_ratio": round(send_rate / ceiling, 3) if ceiling and args.phases else None,
        "cpu_ms_per_msg": round(cpu_s / max(1, drained.sent) * 1000, 2),
        "parent_cpu_ms_per_msg": round(own_cpu_s / max(1, drained.sent) * 1000, 2),  # the drain, mostly
        **{
            f"{phase}_cpu_ms_per_msg": round(cpu / max(1, drained.sent) * 1000, 2)
            for phase, cpu in phase_cpu.items()
        },
        "subscribers": args.subscribers,
        "items": args.items,
        "digests_queued": built["queued"],
        "digests_empty": built["empty"],
        "digests_failed": built["failed"],
        "sent": drained.sent,
        "not_sent": built["queued"] - drained.sent,
        "sink_saw": sink_seen,
        "build_s": round(built_s, 2),
        "send_after_build_s": round(send_s, 2),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "total_s": round(total_s, 2),
        "concurrency": args.concurrency,
        "avg_message_kib": round(sum(sizes) / len(sizes) / 1024, 1),
        "p95_message_kib": round(sizes[int(len(sizes) * 0.95)] / 1024, 1),
        "max_message_kib": round(sizes[-1] / 1024, 1),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
