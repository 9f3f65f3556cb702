"""Public web fixtures: the whole app over a migrated database, items to browse, form helpers."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from watcher.models import Item
from watcher.settings import get_settings
from watcher.web.app import create_app
from watcher.web.public.common import today

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
_guids = itertools.count(1)


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF field"
    return match.group(1)


def add_item(session: Session, **fields: Any) -> Item:
    """Store one visible item; sensible defaults, any field overridable."""
    n = next(_guids)
    values: dict[str, Any] = {
        "source_id": "ecccp-news",
        "guid": f"guid-{n}",
        "url": f"https://example.eu/item/{n}",
        "title": f"Item {n}",
        "text": "Body text.",
        "fingerprint": f"{n:064d}",
        "kind": "news",
        "ecosystems": [],
        "published_at": datetime(2026, 11, 1, tzinfo=UTC) - timedelta(hours=n),
    }
    values.update(fields)
    item = Item(**values)
    session.add(item)
    session.commit()
    session.refresh(item)
    return item


def days_from_today(days: int) -> date:
    return today(get_settings()) + timedelta(days=days)


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    """The full app on the parametrised database (SQLite, then PostgreSQL)."""
    with TestClient(create_app(get_settings())) as test_client:
        yield test_client


@pytest.fixture
def sqlite_client(sqlite_engine: Engine) -> Iterator[TestClient]:
    """The full app on SQLite only, for flows where the backend does not matter."""
    with TestClient(create_app(get_settings())) as test_client:
        yield test_client


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as db:
        yield db


@pytest.fixture
def sqlite_session(sqlite_engine: Engine) -> Iterator[Session]:
    with Session(sqlite_engine, expire_on_commit=False) as db:
        yield db


def drain_outbox() -> list[EmailMessage]:
    """Send queued mail with the file backend and read every .eml written so far."""
    from concurrent.futures import ThreadPoolExecutor

    from subscribers.drain import drain_sync

    # drain_sync runs its own event loop: keep it off a thread that may have one (Playwright's).
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(drain_sync, get_settings()).result()
    outbox: Path = get_settings().outbox_dir
    files = sorted(outbox.glob("*.eml")) if outbox.exists() else []
    messages = []
    for path in files:
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        messages.append(message)
    return messages


def link_in(message: EmailMessage, path_prefix: str) -> str:
    """The site-relative path of the first link starting with ``path_prefix`` in a message's text."""
    part = message.get_body(("plain",))
    assert part is not None
    text = part.get_content()
    match = re.search(r"https?://[^/\s]+(" + re.escape(path_prefix) + r"[^\s<>\"]+)", text)
    assert match, f"no {path_prefix} link in:\n{text}"
    return match.group(1)


def subscribe(client: TestClient, email: str, **fields: Any) -> Any:
    token = csrf_from(client.get("/subscribe").text)
    data = {"csrf_token": token, "email": email, "consent": "yes", **fields}
    return client.post("/subscribe", data=data, follow_redirects=False)
