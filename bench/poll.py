"""Polling benchmark: our first and unchanged rounds against rss2email on the same feeds.

Serves N generated feeds (default 1,000 × 20 items, ~25 KB each) from server processes on
loopback addresses 127.0.0.1..K, then runs, each as its own process so memory is measured
separately: `watcher poll` (fetch, parse, normalise, classify, store in SQLite), the same again
(every feed answers 304), and `r2e run --no-send` over the same feed list. Prints one JSON object
as the last line: ours_first_s, ours_second_s, rss2email_s, ratio_first, peak_rss_mib, ...
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
COUNT_ITEMS = (
    "from sqlmodel import Session, select, func; from watcher.db import get_engine; "
    "from watcher.models import Item; "
    "print(Session(get_engine()).exec(select(func.count()).select_from(Item)).one())"
)


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def start_servers(hosts: int, items: int, feeds: int = 0) -> tuple[list[subprocess.Popen[bytes]], list[str]]:
    """Feed servers; feed i lives on host i % hosts and is generated before the server says ready."""
    processes, bases = [], []
    for number in range(1, hosts + 1):
        host = f"127.0.0.{number}"
        port = free_port(host)
        warm = [str(number - 1), str(feeds), str(hosts)]
        process = subprocess.Popen(
            [sys.executable, str(BENCH_DIR / "feedserver.py"), host, str(port), str(items), *warm],
            stdout=subprocess.PIPE,
        )
        assert process.stdout is not None
        process.stdout.readline()  # "ready"
        processes.append(process)
        bases.append(f"http://{host}:{port}")
    return processes, bases


def timed_child(command: list[str], *, env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Run ``command``; return (wall seconds, peak RSS MiB of that child alone).

    Its stderr goes to a file, not a pipe: a chatty child (rss2email logs every entry) would fill
    a pipe nobody reads until it exits, and block forever.
    """
    log = cwd / f"{Path(command[0]).name}.stderr"
    started = time.perf_counter()
    with log.open("wb") as stderr:
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        tail = log.read_text(errors="replace")[-2000:]
        raise SystemExit(f"{command[0]} failed:\n{tail}")
    return elapsed, usage.ru_maxrss / 1024


def write_sources(path: Path, urls: list[str]) -> None:
    lines = ["sources:"]
    for index, url in enumerate(urls):
        lines += [
            f"  - id: bench-{index}",
            f"    name: Bench {index}",
            f"    url: {url}",
            "    type: rss",
            "    interval: 1h",
            "    language: en",
        ]
    path.write_text("\n".join(lines) + "\n")


def write_rss2email(work: Path, urls: list[str]) -> tuple[Path, Path]:
    config, data = work / "r2e.cfg", work / "r2e.json"
    sections = [
        "[DEFAULT]",
        "to = bench@example.invalid",
        "from = bench@example.invalid",
        "feed-timeout = 60",
        "same-server-fetch-interval = 0",
        "",
    ]
    feeds = []
    for index, url in enumerate(urls):
        sections += [f"[feed.f{index}]", f"url = {url}", ""]
        feeds.append({"name": f"f{index}", "etag": None, "modified": None, "seen": {}})
    config.write_text("\n".join(sections))
    data.write_text(json.dumps({"version": 2, "feeds": feeds}))
    return config, data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--hosts", type=int, default=4, help="Loopback addresses serving the feeds.")
    parser.add_argument("--skip-rss2email", action="store_true")
    args = parser.parse_args()

    servers, bases = start_servers(args.hosts, args.items, args.feeds)
    try:
        urls = [f"{bases[index % len(bases)]}/feed/{index}.xml" for index in range(args.feeds)]
        with tempfile.TemporaryDirectory(prefix="cw-bench-") as tmp:
            work = Path(tmp)
            write_sources(work / "sources.yaml", urls)
            env = {
                **os.environ,
                "WATCHER_DATA_DIR": str(work / "data"),
                "WATCHER_DATABASE_URL": f"sqlite:///{work / 'data' / 'watcher.db'}",
                "WATCHER_SOURCES": str(work / "sources.yaml"),
                "WATCHER_ALLOW_PRIVATE_NETWORKS": "true",
                "WATCHER_FETCH_PER_HOST_CONCURRENCY": os.environ.get(
                    "WATCHER_FETCH_PER_HOST_CONCURRENCY", "8"
                ),
            }
            poll = [str(BIN / "watcher"), "poll", "--quiet"]
            subprocess.run([str(BIN / "watcher"), "db", "upgrade"], env=env, check=True, capture_output=True)
            print(f"polling {args.feeds} feeds x {args.items} items ...", file=sys.stderr)
            first_s, first_rss = timed_child(poll, env=env, cwd=work)
            second_s, second_rss = timed_child(poll, env=env, cwd=work)
            stored = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    COUNT_ITEMS,
                ],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            rss2email_s = rss2email_rss = None
            if not args.skip_rss2email:
                config, data = write_rss2email(work, urls)
                print("rss2email run --no-send ...", file=sys.stderr)
                rss2email_s, rss2email_rss = timed_child(
                    [str(BIN / "r2e"), "-c", str(config), "-d", str(data), "run", "--no-send"],
                    env=env,
                    cwd=work,
                )
    finally:
        for server in servers:
            server.terminate()
    result = {
        "feeds": args.feeds,
        "items_per_feed": args.items,
        "items_stored": int(stored),
        "ours_first_s": round(first_s, 2),
        "ours_second_s": round(second_s, 2),
        "rss2email_s": round(rss2email_s, 2) if rss2email_s else None,
        "ratio_first": round(rss2email_s / first_s, 2) if rss2email_s else None,
        "second_over_first": round(second_s / first_s, 3),
        "peak_rss_mib": round(max(first_rss, second_rss), 1),
        "rss2email_peak_rss_mib": round(rss2email_rss, 1) if rss2email_rss else None,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
