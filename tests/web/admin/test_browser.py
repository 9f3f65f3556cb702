"""Browser journey in Debian Chromium: admin login → reclassify an item → archive and digest preview.

The app runs under uvicorn in a thread on a free loopback port against a migrated SQLite database.
Screenshots of the dashboard and the digest preview go to ``artifacts/screenshots/``.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from subscribers import service
from subscribers.preferences import PreferencesInput
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, browser_test
from tests.web.admin.conftest import PASSWORD, add_item
from watcher.web.admin.auth import create_admin

pytestmark = browser_test


@pytest.fixture
def seeded(sqlite_engine: Engine) -> dict[str, int]:
    with Session(sqlite_engine, expire_on_commit=False) as session:
        create_admin(session, username="editor", password=PASSWORD, email="editor@example.org")
        subscriber = service.subscribe(
            session,
            email="giulia@turismo.example.it",
            name="Giulia",
            language="it",
            preferences=PreferencesInput(ecosystems=["tourism"]),
            origin="test",
            confirmed=True,
        )
        session.commit()
        now = datetime.now(UTC)
        for weeks, (eco, source) in enumerate(
            [
                (["digital"], "ec-newsroom"),
                (["health", "digital"], "ecccp-news"),
                (["agri-food"], "regione-piemonte"),
                (["mobility"], "ecccp-news"),
                (["renewables"], "ec-newsroom"),
                (["digital"], "eismea"),
            ]
            * 3
        ):
            add_item(
                session,
                title=f"Background item {weeks}",
                ecosystems=eco,
                source_id=source,
                kind="news",
                guid=f"bg-{weeks}",
                published_at=now - timedelta(days=weeks * 4),
            )
        item = add_item(
            session,
            title="Bando per la valorizzazione dei borghi storici",
            ecosystems=["digital"],
            kind="news",
            source_id="regione-piemonte",
            guid="borghi",
            text="Contributi ai comuni per i borghi e il turismo.",
            content_html="<p>Contributi ai comuni.</p><script>alert(1)</script>",
            language="it",
        )
        assert item.id is not None and subscriber.id is not None
        return {"item": item.id, "subscriber": subscriber.id}


def test_admin_reclassifies_and_sees_it_in_archive_and_digest(
    live_server: str, seeded: dict[str, int]
) -> None:
    from playwright.sync_api import expect, sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    item_id, subscriber_id = seeded["item"], seeded["subscriber"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        try:
            page.goto(f"{live_server}/admin/items/{item_id}")
            expect(page.locator("h1")).to_have_text("Admin sign in")
            page.fill("#username", "editor")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            expect(page.locator("h1")).to_have_text("Bando per la valorizzazione dei borghi storici")

            page.uncheck("input[name=ecosystems][value=digital]")
            page.check("input[name=ecosystems][value=tourism]")
            page.select_option("#kind", "call")
            page.fill("#deadline", "2027-03-31")
            page.click("#reclassify button[type=submit]")
            expect(page.locator(".flash")).to_contain_text("Classification saved")
            expect(page.locator("input[name=ecosystems][value=tourism]")).to_be_checked()

            page.goto(f"{live_server}/?ecosystem=tourism")
            expect(page.locator("main")).to_contain_text("Bando per la valorizzazione dei borghi storici")
            page.goto(f"{live_server}/?ecosystem=digital&q=borghi")
            expect(page.locator("main")).not_to_contain_text("Bando per la valorizzazione dei borghi storici")

            page.goto(f"{live_server}/admin/subscribers/{subscriber_id}/preview")
            frame = page.frame_locator("iframe.preview")
            expect(frame.locator("body")).to_contain_text("Bando per la valorizzazione dei borghi storici")
            expect(page.locator("pre.mail")).to_contain_text("borghi storici")
            page.screenshot(path=str(SCREENSHOTS / "digest_preview.png"), full_page=True)

            page.click("text=Send me a test")
            expect(page.locator(".flash")).to_contain_text("Test digest to editor@example.org")

            page.goto(f"{live_server}/admin")
            expect(page.locator("svg.chart")).to_have_count(3)
            page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)
        finally:
            browser.close()
    csp_errors = [e for e in errors if "Content Security Policy" in e]
    assert not csp_errors, csp_errors


def test_chromium_is_the_debian_build() -> None:
    assert shutil.which("chromium") == str(CHROMIUM) or CHROMIUM.exists()
