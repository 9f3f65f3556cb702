"""A sender SIGKILLed mid-run and restarted: no message twice, every message sent or `unknown`.

The SMTP server runs in this process and records every Message-ID; the sender is a subprocess,
killed once the server has accepted a seeded-random number of messages (so always mid-send), then
run again to completion, then a third time to show that a repeated job sends nothing. Two senders:

- the real job, ``watcher digest send --now``, for 1,000 subscribers (builds, renders, queues and
  drains real digests);
- ``tests.support.crash_sender``: 1,000 plain messages through ``enqueue`` and ``drain_sync``
  (isolates the outbox from the digest code).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from subscribers.outbox import OutboxMessage
from tests.support.crash_sender import seed_digest_audience
from tests.support.smtp_server import FaultySmtpServer
from watcher.settings import PROJECT_ROOT

COUNT = 1000
SEED = 20261122
CONCURRENCY = 4
WATCHER = [str(Path(sys.executable).with_name("watcher")), "digest", "send", "--now"]
PLAIN = [sys.executable, "-m", "tests.support.crash_sender", "--count", str(COUNT)]


def _env(db_url: str, smtp_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "WATCHER_DATABASE_URL": db_url,
        "WATCHER_SMTP_URL": smtp_url,
        "WATCHER_MAIL_RATE_PER_SECOND": "5000",
        "WATCHER_MAIL_CONCURRENCY": str(CONCURRENCY),
        "WATCHER_MAIL_CLAIM_BATCH": "32",
    }


def _start(command: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _finish(command: list[str], env: dict[str, str]) -> str:
    proc = _start(command, env)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, (out + err)[-3000:]
    return out


def _kill_mid_send(command: list[str], env: dict[str, str], server: FaultySmtpServer, *, seed: str) -> None:
    kill_after = random.Random(f"{SEED}:{seed}").randint(150, 800)
    proc = _start(command, env)
    started = time.monotonic()
    while len(server.received) < kill_after:
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert time.monotonic() - started < 90, "sender too slow to reach the kill point"
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert time.monotonic() - started > 0.3
    assert len(server.received) < COUNT


def _assert_nothing_twice_nothing_lost(engine: Engine, server: FaultySmtpServer) -> list[OutboxMessage]:
    with Session(engine) as session:
        rows = list(session.exec(select(OutboxMessage)).all())
    states = [row.state for row in rows]
    seen = server.message_ids()
    assert len(rows) == COUNT
    assert server.duplicates() == []
    assert set(states) <= {"sent", "unknown"}
    assert states.count("sent") + states.count("unknown") == COUNT
    assert all(row.message_id in seen for row in rows if row.state == "sent")
    # Only transactions under way can be unknown: the senders in flight plus outcomes not yet committed.
    assert states.count("unknown") <= 2 * CONCURRENCY
    return rows


@pytest.mark.slow
def test_sigkill_during_real_digest_send(db_url: str, engine: Engine, smtp_server: FaultySmtpServer) -> None:
    seed_digest_audience(db_url, subscribers=COUNT, items=6)
    env = _env(db_url, smtp_server.url)
    _kill_mid_send(WATCHER, env, smtp_server, seed=f"digest:{db_url.split(':')[0]}")
    _finish(WATCHER, env)
    rows = _assert_nothing_twice_nothing_lost(engine, smtp_server)
    assert {row.kind for row in rows} == {"digest"}
    received = len(smtp_server.received)
    _finish(WATCHER, env)  # the same job again: every period is already sent
    assert len(smtp_server.received) == received


@pytest.mark.slow
def test_sigkill_mid_send_of_plain_messages(sqlite_engine: Engine, smtp_server: FaultySmtpServer) -> None:
    """SQLite only: the digest test above covers both databases; this one isolates the outbox."""
    engine = sqlite_engine
    env = _env(engine.url.render_as_string(hide_password=False), smtp_server.url)
    _kill_mid_send(PLAIN, env, smtp_server, seed="plain")
    second = json.loads(_finish(PLAIN, env).strip().splitlines()[-1])
    assert second["queued"] == 0  # every message was queued exactly once, before the kill
    rows = _assert_nothing_twice_nothing_lost(engine, smtp_server)
    assert sum(row.state == "unknown" for row in rows) == second["recovered_unknown"]
    third = json.loads(_finish(PLAIN, env).strip().splitlines()[-1])
    assert (third["queued"], third["claimed"]) == (0, 0)
    assert sum(smtp_server.message_ids().values()) == len(smtp_server.received)
