"""Sources page: health table from the configured sources and SourceState, toggle, poll now."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from tests.web.admin.conftest import post_form
from watcher.models import Item, SourceState
from watcher.settings import get_settings

SOURCES = """
sources:
  - id: local-feed
    name: Local test feed
    url: {url}
    type: rss
"""


@pytest.fixture
def sources_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, http_server) -> Path:  # type: ignore[no-untyped-def]
    rss = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        "<item><title>Bando per le PMI digitali</title><link>https://example.eu/a</link>"
        "<guid>a1</guid><description>Contributi per la digitalizzazione.</description></item>"
        "</channel></rss>"
    )
    http_server.route("/feed.xml", rss.encode(), headers={"Content-Type": "application/rss+xml"})
    path = tmp_path / "sources.yaml"
    path.write_text(SOURCES.format(url=http_server.url("/feed.xml")))
    monkeypatch.setenv("WATCHER_SOURCES", str(path))
    get_settings.cache_clear()
    return path


def test_health_table_toggle_and_poll(sources_file: Path, admin_client: TestClient, db: Session) -> None:
    db.add(
        SourceState(
            source_id="local-feed",
            consecutive_failures=2,
            last_error="<b>timeout</b>",
            last_success_at=datetime(2026, 1, 2, tzinfo=UTC),
        )
    )
    db.commit()
    page = admin_client.get("/admin/sources").text
    assert "Local test feed" in page and "&lt;b&gt;timeout&lt;/b&gt;" in page and "2026-01-02" in page
    post_form(admin_client, "/admin/sources", "/admin/sources/local-feed/toggle", {"enabled": "false"})
    db.expire_all()
    assert db.get(SourceState, "local-feed").enabled is False  # type: ignore[union-attr]
    unknown = post_form(admin_client, "/admin/sources", "/admin/sources/nope/poll", {})
    assert "Unknown source" in admin_client.get(unknown.headers["location"]).text  # type: ignore[attr-defined]
    bad_id = post_form(admin_client, "/admin/sources", "/admin/sources/..%2Fetc/poll", {})
    assert 400 <= bad_id.status_code < 500  # type: ignore[attr-defined]
    polled = post_form(admin_client, "/admin/sources", "/admin/sources/local-feed/poll", {})
    assert polled.status_code == 303  # type: ignore[attr-defined]
    assert "Polling local-feed now" in admin_client.get("/admin/sources").text
    db.expire_all()
    state = db.get(SourceState, "local-feed")
    assert (
        state is not None
        and state.last_success_at is not None
        and state.last_success_at > datetime(2026, 1, 2, tzinfo=UTC)
    )
    assert "Bando per le PMI digitali" in admin_client.get("/admin/items?view=newest").text


def test_broken_sources_file_is_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, admin_client: TestClient
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("sources: [ {id: X")
    monkeypatch.setenv("WATCHER_SOURCES", str(path))
    get_settings.cache_clear()
    admin_client.app.state.settings = get_settings()  # type: ignore[attr-defined]
    response = admin_client.get("/admin/sources")
    assert response.status_code == 200 and "Cannot read" in response.text


def test_reclassification_survives_a_repoll(
    sources_file: Path,
    admin_client: TestClient,
    db: Session,
    http_server,  # type: ignore[no-untyped-def]
) -> None:
    post_form(admin_client, "/admin/sources", "/admin/sources/local-feed/poll", {})
    item = db.exec(select(Item).where(Item.source_id == "local-feed")).one()
    page = f"/admin/items/{item.id}"
    post_form(admin_client, page, f"{page}/reclassify", {"ecosystems": ["tourism"], "kind": "event"})
    changed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        "<item><title>Bando per le PMI digitali (aggiornato)</title><link>https://example.eu/a</link>"
        "<guid>a1</guid><description>Contributi per la digitalizzazione e il software.</description></item>"
        "</channel></rss>"
    )
    http_server.route("/feed.xml", changed.encode(), headers={"Content-Type": "application/rss+xml"})
    post_form(admin_client, "/admin/sources", "/admin/sources/local-feed/poll", {})
    db.expire_all()
    stored = db.get(Item, item.id)
    assert stored is not None and stored.title.endswith("(aggiornato)")
    assert stored.ecosystems == ["tourism"] and stored.kind == "event" and stored.corrected
