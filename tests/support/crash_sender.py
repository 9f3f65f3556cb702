"""Crash-test worker: queue ``--count`` messages (idempotently) and drain them to the configured SMTP.

Run as ``python -m tests.support.crash_sender --count 1000`` with WATCHER_DATABASE_URL and
WATCHER_SMTP_URL set; the crash test SIGKILLs it at a random point and runs it again. Queueing is
part of the killed process on purpose: the restart queues the same keys again and must add nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from email import policy
from email.message import EmailMessage

from sqlmodel import Session

from subscribers.drain import drain_sync
from subscribers.outbox import enqueue
from watcher.db import get_engine
from watcher.settings import get_settings


def _message(n: int) -> EmailMessage:
    """A plain digest-sized message; compat32 headers because the stdlib's parsed headers cost ~5 ms each."""
    mail = EmailMessage(policy=policy.compat32)
    mail["To"] = f"user{n}@example.eu"
    mail["Subject"] = f"Digest {n}"
    mail["MIME-Version"] = "1.0"
    mail["Content-Type"] = 'text/plain; charset="utf-8"'
    mail.set_payload(f"Digest body {n}: new calls, events and news for you.\n" * 40)
    return mail


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1000)
    args = parser.parse_args()
    settings = get_settings()
    engine = get_engine(settings.resolved_database_url())
    queued = 0
    for start in range(0, args.count, 100):
        with Session(engine) as session:
            for n in range(start, min(start + 100, args.count)):
                queued += enqueue(
                    session, subscriber_id=None, message_key=f"crash:{n}", kind="digest", message=_message(n)
                )
            session.commit()
    report = drain_sync(settings)
    print(json.dumps({"queued": queued, **report.as_dict()}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
