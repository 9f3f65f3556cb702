"""Archive and item pages on SQLite and PostgreSQL: filters, paging, countdown, mirrors, sanitising."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.web.public.conftest import add_item, days_from_today
from watcher.settings import get_settings
from watcher.web.app import create_app

TITLE_RE = re.compile(r'<h2><a href="/items/(\d+)">([^<]*)</a></h2>')


def titles(html: str) -> list[str]:
    return [title for _, title in TITLE_RE.findall(html)]


def test_archive_lists_newest_first_and_hides_hidden_items_and_mirrors(
    client: TestClient, session: Session
) -> None:
    primary = add_item(session, title="Primary story")
    add_item(session, title="Mirror copy", story_id=primary.id, story_key="k")
    add_item(session, title="Hidden item", hidden=True)
    add_item(session, title="Older item")
    response = client.get("/")
    assert response.status_code == 200
    assert titles(response.text) == ["Primary story", "Older item"]
    assert "2 items" in response.text


def test_each_filter_narrows_the_list(client: TestClient, session: Session) -> None:
    add_item(session, title="Digital call", kind="call", ecosystems=["digital", "health"],
             programmes=["Horizon Europe"], language="en", deadline=days_from_today(30))
    add_item(session, title="Tourism event", kind="event", ecosystems=["tourism"], language="it",
             source_id="een-events", event_date=days_from_today(5))
    add_item(session, title="Closed digital call", kind="call", ecosystems=["digital"],
             deadline=days_from_today(-3))
    add_item(session, title="Closing hydrogen call", kind="call", ecosystems=["renewables"],
             deadline=days_from_today(2), identifier="HORIZON-CL5-2026-H2")
    cases = {
        "ecosystem=digital": ["Digital call", "Closed digital call"],
        "ecosystem=health": ["Digital call"],
        "kind=event": ["Tourism event"],
        "programme=Horizon+Europe": ["Digital call"],
        "language=it": ["Tourism event"],
        "source=een-events": ["Tourism event"],
        "status=closed": ["Closed digital call"],
        "status=closing": ["Tourism event", "Closing hydrogen call"],
        "status=open": ["Digital call", "Tourism event", "Closing hydrogen call"],
        "q=HYDROGEN": ["Closing hydrogen call"],
        "q=cl5-2026": ["Closing hydrogen call"],
        "ecosystem=digital&kind=call&status=open": ["Digital call"],
        "q=100%25": [],
    }
    for query, expected in cases.items():
        response = client.get(f"/?{query}")
        assert response.status_code == 200, query
        assert titles(response.text) == expected, query


def test_paging_and_counts(client: TestClient, session: Session) -> None:
    for n in range(25):
        add_item(session, title=f"News {n:02d}")
    first = client.get("/")
    assert len(titles(first.text)) == 20
    assert 'href="/?page=2"' in first.text
    second = client.get("/?page=2")
    assert titles(second.text) == [f"News {n:02d}" for n in range(20, 25)]
    assert 'rel="next"' not in second.text
    assert "25 items" in first.text and "25 items" in second.text  # counted, then known on the last page
    beyond = client.get("/?page=3")
    assert beyond.status_code == 200 and "25 items" in beyond.text  # past the end: empty, not an error


def test_item_page_shows_countdown_source_link_mirrors_and_sanitised_content(
    client: TestClient, session: Session
) -> None:
    primary = add_item(
        session,
        title="EIC Accelerator <b>2026</b>",
        kind="call",
        deadline=days_from_today(10),
        ecosystems=["digital"],
        url="https://ec.europa.eu/info/funding/topic/1",
        content_html='<p>Apply <a href="https://ec.europa.eu">here</a></p><script>alert("x")</script>'
        '<img src=x onerror="alert(1)">',
    )
    add_item(session, title="Same call on another site", story_id=primary.id, story_key="eic",
             source_id="ansa-europa")
    response = client.get(f"/items/{primary.id}")
    assert response.status_code == 200
    html = response.text
    assert "10 days left" in html
    assert "EIC Accelerator &lt;b&gt;2026&lt;/b&gt;" in html
    assert 'href="https://ec.europa.eu/info/funding/topic/1"' in html
    assert "<script>alert" not in html and "onerror" not in html
    assert "<p>Apply" in html
    assert "Same call on another site" in html and "ansa-europa" in html
    assert f'href="/calendar/item/{primary.id}.ics"' in html


def test_item_page_in_italian_and_closed_countdown(client: TestClient, session: Session) -> None:
    item = add_item(session, title="Bando chiuso", kind="call", deadline=days_from_today(-4),
                    ecosystems=["agri-food"])
    html = client.get(f"/items/{item.id}?lang=it").text
    assert "Chiuso da 4 giorni" in html and "Agroalimentare" in html and '<html lang="it">' in html


def test_javascript_urls_are_never_linked(client: TestClient, session: Session) -> None:
    item = add_item(session, title="Odd URL", url="javascript:alert(1)")
    assert "javascript:" not in client.get(f"/items/{item.id}").text


def test_hidden_or_missing_items_are_404_pages(client: TestClient, session: Session) -> None:
    hidden = add_item(session, title="Secret", hidden=True)
    for path in (f"/items/{hidden.id}", "/items/999999"):
        response = client.get(path)
        assert response.status_code == 404
        assert "Page not found" in response.text


def test_counts_stop_at_the_cap(sqlite_session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHER_WEB_COUNT_CAP", "5")
    monkeypatch.setenv("WATCHER_WEB_PAGE_SIZE", "3")
    get_settings.cache_clear()
    for n in range(9):
        add_item(sqlite_session, title=f"Capped {n}")
    with TestClient(create_app(get_settings())) as capped:
        assert "More than 5 items" in capped.get("/").text
        assert "More than 5 items" in capped.get("/?page=3").text  # last page: 9 known, still capped


def test_text_search_with_more_pages_is_not_counted(
    sqlite_client: TestClient, sqlite_session: Session
) -> None:
    for n in range(23):
        add_item(sqlite_session, title=f"Hydrogen valley {n}")
    first = sqlite_client.get("/?q=hydrogen")
    assert "More than 20 items" in first.text
    assert "23 items" in sqlite_client.get("/?q=hydrogen&page=2").text
