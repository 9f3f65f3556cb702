"""Admin console fixtures: a migrated database, the whole app, a signed-in test client."""

from __future__ import annotations

import re
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from watcher import migrate
from watcher.db import get_engine
from watcher.models import Item
from watcher.settings import get_settings
from watcher.web.admin import auth
from watcher.web.admin.auth import create_admin
from watcher.web.app import create_app

PASSWORD = "correct horse battery"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF field"
    return match.group(1)


def login(client: TestClient, username: str = "editor", password: str = PASSWORD) -> None:
    token = csrf_from(client.get("/admin/login").text)
    response = client.post(
        "/admin/login",
        data={"csrf_token": token, "username": username, "password": password},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def post_form(client: TestClient, page: str, action: str, data: dict[str, object]) -> object:
    """Load ``page`` for its CSRF token, then POST ``data`` to ``action`` (no redirect following)."""
    token = csrf_from(client.get(page).text)
    return client.post(action, data={"csrf_token": token, **data}, follow_redirects=False)


def add_item(session: Session, **fields: object) -> Item:
    values: dict[str, object] = {
        "source_id": "ecccp-news",
        "guid": f"g-{datetime.now(UTC).timestamp()}-{fields.get('title', '')}",
        "url": "https://example.eu/item",
        "title": "An item",
        "text": "Body text.",
        "fingerprint": "f" * 64,
        "kind": "news",
        "ecosystems": [],
        "published_at": datetime.now(UTC),
    }
    values.update(fields)
    item = Item(**values)  # type: ignore[arg-type]
    session.add(item)
    session.commit()
    session.refresh(item)
    return item


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file per test session; each test gets a copy (migrating costs ~1 s)."""
    path = tmp_path_factory.mktemp("admin-template") / "template.sqlite"
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    get_engine(url).dispose()
    with sqlite3.connect(path) as conn:  # fold the WAL into the file before it is copied
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id with minimal cost parameters: the suite checks behaviour, not hash strength."""
    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def sqlite_engine(migrated_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """Overrides the suite's fixture of the same name: a copy of the migrated template database."""
    path = tmp_path / "admin.sqlite"
    shutil.copyfile(migrated_template, path)
    url = f"sqlite:///{path}"
    monkeypatch.setenv("WATCHER_DATABASE_URL", url)
    get_settings.cache_clear()
    return get_engine(url)


@pytest.fixture
def db(sqlite_engine: Engine) -> Iterator[Session]:
    with Session(sqlite_engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def app_client(sqlite_engine: Engine) -> Iterator[TestClient]:
    """The full app (public + admin + security) over a migrated SQLite database, not signed in."""
    with Session(sqlite_engine) as session:
        create_admin(session, username="editor", password=PASSWORD, email="editor@example.org")
    with TestClient(create_app(get_settings())) as client:
        yield client


@pytest.fixture
def admin_client(app_client: TestClient) -> TestClient:
    login(app_client)
    return app_client


__all__ = ["PASSWORD", "add_item", "csrf_from", "date", "login", "post_form"]
