"""Browser journey with Playwright driving Debian Chromium against the real app on loopback.

subscribe → read the confirmation from the file outbox (.eml) → confirm → change preferences →
one-click unsubscribe (a cookieless POST, as a mail provider sends it). Screenshots of the archive,
an item, the forms and a phone-sized archive go to ``artifacts/screenshots/`` for a human to look at.
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from subscribers.models import Subscriber
from tests.support.browser import SCREENSHOTS, browser_test, screenshot
from tests.web.public.conftest import add_item, days_from_today, drain_outbox, link_in

pytestmark = browser_test


def _seed(engine: Engine) -> int:
    with Session(engine, expire_on_commit=False) as session:
        call = add_item(
            session, title="EIC Accelerator 2026: funding for deep-tech start-ups and SMEs", kind="call",
            ecosystems=["digital", "electronics"], programmes=["Horizon Europe"], language="en",
            source_id="sedia", identifier="HORIZON-EIC-2026-ACCELERATOR-01", deadline=days_from_today(9),
            text="The EIC Accelerator supports companies to scale up high-impact innovations.",
            content_html="<p>The <strong>EIC Accelerator</strong> supports companies to scale up "
                         "high-impact innovations.</p><ul><li>Grant up to EUR 2.5 million</li>"
                         "<li>Equity investment</li></ul><script>alert('x')</script>",
        )
        add_item(session, title="Bando regionale per l'innovazione delle filiere agroalimentari", kind="call",
                 ecosystems=["agri-food"], language="it", source_id="regione-piemonte",
                 deadline=days_from_today(45), text="Contributi a fondo perduto per progetti di filiera.")
        add_item(session, title="Eurocluster matchmaking days: textile and fashion", kind="event",
                 ecosystems=["textile"], language="en", source_id="ecccp-events",
                 event_date=days_from_today(20), text="Two days of B2B meetings in Prato.")
        add_item(session, title="Renewable hydrogen valleys: results of the 2025 call", kind="news",
                 ecosystems=["renewables", "energy-intensive"], language="en", source_id="ec-newsroom",
                 text="The Commission announced the selected projects.")
        add_item(session, title="Tourism transition pathway: call for expressions of interest closed",
                 kind="call", ecosystems=["tourism"], language="en", source_id="eismea",
                 deadline=days_from_today(-5), text="The call closed last week.")
        assert call.id is not None
        return call.id


def test_subscription_journey_in_chromium(live_server: str, browser: Any, sqlite_engine: Engine) -> None:
    item_id = _seed(sqlite_engine)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()

    page.goto(f"{live_server}/")
    assert page.locator("h1").inner_text() == "Funding calls, events and news"
    screenshot(page, "archive-en")
    page.select_option("#f-kind", "call")
    page.click("text=Apply filters")
    assert "kind=call" in page.url and page.locator(".item-card").count() == 3
    page.goto(f"{live_server}/?lang=it&status=open")
    assert page.locator("h1").inner_text() == "Bandi, eventi e notizie"
    screenshot(page, "archive-it-open")
    page.goto(f"{live_server}/items/{item_id}?lang=en")
    assert "9 days left" in page.locator(".countdown").inner_text()
    screenshot(page, "item")

    page.goto(f"{live_server}/subscribe")
    page.fill("#s-email", "journey@example.org")
    page.check("input[name=ecosystems][value=digital]")
    page.check("input[name=kinds][value=call]")
    page.check("input[name=consent]")
    screenshot(page, "subscribe")
    page.click("button[type=submit]")
    assert page.locator("h1").inner_text() == "Check your inbox"

    (message,) = drain_outbox()
    assert message["To"] == "journey@example.org"
    page.goto(live_server + link_in(message, "/confirm/"))
    assert page.locator("h1").inner_text() == "Subscription confirmed"
    page.click("text=Manage my preferences")
    page.check("input[name=ecosystems][value=health]")
    page.check("input[name=frequency][value=daily]")
    page.click("text=Save preferences")
    assert "Your preferences have been saved." in page.locator(".flash").inner_text()
    screenshot(page, "preferences")
    unsubscribe_path = page.get_attribute("a[href^='/u/']", "href")
    assert unsubscribe_path

    with Session(sqlite_engine) as session:
        subscriber = session.exec(select(Subscriber)).one()
        assert subscriber.status == "active" and subscriber.ecosystems == ["digital", "health"]
        assert subscriber.frequency == "daily"

    # RFC 8058 one-click: the mail provider POSTs without any cookie or CSRF token.
    cookieless = browser.new_context()
    response = cookieless.request.post(
        live_server + unsubscribe_path,
        data="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status == 200
    with Session(sqlite_engine) as session:
        assert session.exec(select(Subscriber)).one().status == "unsubscribed"

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone_page = phone.new_page()
    phone_page.goto(f"{live_server}/")
    screenshot(phone_page, "archive-phone")
    for ctx in (context, cookieless, phone):
        ctx.close()
    assert os.path.getsize(SCREENSHOTS / "archive-en.png") > 10_000
