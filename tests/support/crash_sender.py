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


def seed_digest_audience(url: str, *, subscribers: int, items: int) -> None:
    """Active, confirmed weekly subscribers who want everything, and a few fresh items for them.

    For the crash test that runs the real ``watcher digest send --now``: every subscriber gets one
    non-empty digest, so the outbox must end with exactly ``subscribers`` rows.
    """
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import create_engine, insert

    from subscribers.models import Subscriber
    from watcher.models import Item

    now = datetime.now(UTC)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            insert(Item.__table__),
            [  # type: ignore[attr-defined]
                {
                    "source_id": "crash",
                    "guid": f"crash-{n}",
                    "url": f"https://example.eu/calls/{n}",
                    "title": f"Call for proposals number {n} on digital innovation for SMEs",
                    "text": "Open call.",
                    "content_html": "",
                    "language": "en",
                    "published_at": now - timedelta(hours=n + 1),
                    "first_seen_at": now - timedelta(hours=n + 1),
                    "updated_at": now,
                    "fingerprint": f"{n:064x}",
                    "kind": "call",
                    "ecosystems": ["digital"],
                    "scores": {},
                    "why": {},
                    "deadline": (now + timedelta(days=30 + n)).date(),
                    "deadlines": [],
                    "programmes": [],
                    "tags": [],
                    "extra": {},
                    "hidden": False,
                    "pinned": False,
                    "corrected": False,
                }
                for n in range(items)
            ],
        )
        conn.execute(
            insert(Subscriber.__table__),
            [  # type: ignore[attr-defined]
                {
                    "email": f"reader{n}@example.eu",
                    "language": "it" if n % 2 else "en",
                    "status": "active",
                    "timezone": "Europe/Rome",
                    "created_at": now - timedelta(days=30),
                    "confirmed_at": now - timedelta(days=30),
                    "updated_at": now,
                    "hard_bounces": 0,
                    "token_nonce": f"{n:032x}",
                    "confirmations_sent": 1,
                    "ecosystems": [],
                    "kinds": [],
                    "programmes": [],
                    "regions": [],
                    "countries": [],
                    "content_languages": [],
                    "include_keywords": [],
                    "exclude_keywords": [],
                    "own_filters": True,
                    "frequency": "weekly",
                    "digest_weekday": 0,
                    "digest_hour": 8,
                    "reminder_lead_days": [14, 3],
                }
                for n in range(subscribers)
            ],
        )
    engine.dispose()
