"""A sender SIGKILLed mid-run and restarted: no message twice, every message sent or `unknown`.

The SMTP server runs in this process and records every Message-ID; the sender is a subprocess
(``tests.support.crash_sender``) that queues 1,000 messages and drains them. It is killed once the
server has accepted a seeded-random number of them, then run again to completion, then a third
time to show a repeated job sends nothing.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from subscribers.outbox import OutboxMessage
from tests.support.smtp_server import FaultySmtpServer
from watcher.settings import PROJECT_ROOT

COUNT = 1000
SEED = 20261122


def _sender(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.crash_sender", "--count", str(COUNT)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen[str]) -> dict[str, object]:
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-3000:]
    return dict(json.loads(out.strip().splitlines()[-1]))


@pytest.mark.slow
def test_sigkill_mid_send_loses_nothing_and_sends_nothing_twice(
    db_url: str, engine: Engine, smtp_server: FaultySmtpServer
) -> None:
    rng = random.Random(f"{SEED}:{db_url.split(':')[0]}")
    kill_after = rng.randint(150, 800)
    env = {
        **os.environ,
        "WATCHER_DATABASE_URL": db_url,
        "WATCHER_SMTP_URL": smtp_server.url,
        "WATCHER_MAIL_RATE_PER_SECOND": "5000",
        "WATCHER_MAIL_CONCURRENCY": "4",
        "WATCHER_MAIL_CLAIM_BATCH": "32",
    }
    proc = _sender(env)
    started = time.monotonic()
    while len(smtp_server.received) < kill_after:
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert time.monotonic() - started < 40, "sender too slow to reach the kill point"
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert time.monotonic() - started > 0.3
    seen_at_kill = len(smtp_server.received)
    assert seen_at_kill < COUNT

    second = _finish(_sender(env))
    assert second["queued"] == 0  # every message was queued exactly once, before the kill
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage)).all()
    states = [row.state for row in rows]
    seen = smtp_server.message_ids()
    assert len(rows) == COUNT
    assert smtp_server.duplicates() == []
    assert set(states) <= {"sent", "unknown"}
    assert states.count("sent") + states.count("unknown") == COUNT
    assert all(row.message_id in seen for row in rows if row.state == "sent")
    assert states.count("unknown") == second["recovered_unknown"]
    # Only transactions under way can be unknown: the senders in flight plus outcomes not yet committed.
    assert states.count("unknown") <= 2 * 4

    third = _finish(_sender(env))
    assert (third["queued"], third["claimed"]) == (0, 0)
    assert sum(smtp_server.message_ids().values()) == len(seen)
