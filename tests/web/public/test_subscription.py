"""Subscribe → confirmation email → confirm → preferences → unsubscribe, and every way to get it wrong."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar
from sqlmodel import Session, select

from subscribers.models import ConsentLog, Subscriber, Topic
from subscribers.tokens import make_token
from tests.web.public.conftest import add_item, csrf_from, days_from_today, drain_outbox, link_in, subscribe
from watcher.settings import get_settings
from watcher.web.app import create_app


def confirmed_subscriber(client: TestClient, email: str = "anna@example.org", **fields: object) -> str:
    """Subscribe and confirm; returns the preference centre path."""
    assert subscribe(client, email, **fields).status_code == 303
    (message,) = [m for m in drain_outbox() if m["To"] == email]
    confirmed = client.get(link_in(message, "/confirm/"))
    assert confirmed.status_code == 200 and "Subscription confirmed" in confirmed.text
    return "/preferences/" + confirmed.text.split('href="/preferences/', 1)[1].split('"', 1)[0]


def test_full_journey(sqlite_client: TestClient, sqlite_session: Session) -> None:
    response = subscribe(sqlite_client, "Anna@Example.org", ecosystems=["digital", "health"], kinds="call",
                         language="it", frequency="weekly", include_keywords="idrogeno, tessile")
    assert response.status_code == 303 and response.headers["location"] == "/subscribe/check"
    assert "Check your inbox" in sqlite_client.get("/subscribe/check").text
    (message,) = drain_outbox()
    assert message["To"] == "anna@example.org"
    confirmed = sqlite_client.get(link_in(message, "/confirm/"))
    assert confirmed.status_code == 200
    subscriber = sqlite_session.exec(select(Subscriber)).one()
    assert subscriber.status == "active" and subscriber.ecosystems == ["digital", "health"]
    assert subscriber.include_keywords == ["idrogeno", "tessile"] and subscriber.language == "it"

    prefs_path = "/preferences/" + confirmed.text.split('href="/preferences/', 1)[1].split('"', 1)[0]
    page = sqlite_client.get(prefs_path)
    assert page.status_code == 200 and "anna@example.org" in page.text
    assert page.headers["cache-control"] == "private, no-store"  # the URL is a capability
    saved = sqlite_client.post(prefs_path, data={
        "csrf_token": csrf_from(page.text), "ecosystems": ["tourism"], "kinds": ["event"],
        "frequency": "daily", "language": "en", "include_keywords": "", "exclude_keywords": "webinar",
    })
    assert saved.status_code == 200 and "Your preferences have been saved." in saved.text
    sqlite_session.expire_all()
    subscriber = sqlite_session.exec(select(Subscriber)).one()
    assert subscriber.ecosystems == ["tourism"] and subscriber.kinds == ["event"]
    assert subscriber.frequency == "daily"
    assert subscriber.exclude_keywords == ["webinar"] and subscriber.reminder_lead_days == [14, 3]

    token = csrf_from(saved.text)
    assert "Emails are paused" in sqlite_client.post(f"{prefs_path}/pause", data={"csrf_token": token}).text
    assert "Emails are active again" in sqlite_client.post(
        f"{prefs_path}/resume", data={"csrf_token": token}).text

    export = sqlite_client.get(f"{prefs_path}/export")
    assert export.headers["content-disposition"].startswith("attachment")
    data = json.loads(export.content)
    assert data["email"] == "anna@example.org" and "token_nonce" not in data
    assert [entry["action"] for entry in data["consent_log"]][:2] == ["subscribe", "confirm"]

    unsubscribe_path = "/u/" + saved.text.split('href="/u/', 1)[1].split('"', 1)[0]
    button = sqlite_client.get(unsubscribe_path)
    assert button.status_code == 200 and f'action="{unsubscribe_path}"' in button.text
    sqlite_session.expire_all()
    assert sqlite_session.exec(select(Subscriber)).one().status == "active"  # GET changes nothing
    done = sqlite_client.post(unsubscribe_path)
    assert done.status_code == 200 and "You have been unsubscribed" in done.text
    sqlite_session.expire_all()
    assert sqlite_session.exec(select(Subscriber)).one().status == "unsubscribed"


def test_one_click_unsubscribe_needs_no_cookie_or_csrf(sqlite_client: TestClient,
                                                       sqlite_session: Session) -> None:
    subscribe(sqlite_client, "bob@example.org")
    (message,) = drain_outbox()
    sqlite_client.get(link_in(message, "/confirm/"))
    subscriber = sqlite_session.exec(select(Subscriber)).one()
    token = make_token(subscriber.id or 0, "unsubscribe", nonce=subscriber.token_nonce)
    with TestClient(create_app(get_settings())) as mail_provider:  # a fresh client: no cookies at all
        response = mail_provider.post(
            f"/u/{token}", content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert response.status_code == 200
    sqlite_session.expire_all()
    assert sqlite_session.exec(select(Subscriber)).one().status == "unsubscribed"
    actions = [c.action for c in sqlite_session.exec(select(ConsentLog))]
    assert actions[-1] == "unsubscribed"


def test_known_and_unknown_addresses_get_the_same_answer(sqlite_client: TestClient) -> None:
    first = subscribe(sqlite_client, "carla@example.org")
    drain_outbox()
    again = subscribe(sqlite_client, "carla@example.org")
    fresh = subscribe(sqlite_client, "dario@example.org")
    assert first.status_code == again.status_code == fresh.status_code == 303
    assert first.headers["location"] == again.headers["location"] == fresh.headers["location"]


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"email": "not-an-address"}, 400, "Please enter a valid email address."),
        ({"email": ""}, 400, "Please enter a valid email address."),
        ({"consent": ""}, 400, "Please tick the consent box"),
        ({"name": "x" * 5000}, 413, "Some fields are too long."),
        ({"include_keywords": "k" * 5000}, 413, "Some fields are too long."),
        ({"ecosystems": "moon-base"}, 400, "unknown ecosystem"),
        ({"frequency": "hourly"}, 400, "frequency"),
        ({"topics": "999"}, 400, "Some of the values sent are not valid"),
    ],
)
def test_bad_subscribe_input_is_explained(sqlite_client: TestClient, fields: dict[str, str], status: int,
                                          message: str) -> None:
    email = fields.pop("email", "eva@example.org")
    response = subscribe(sqlite_client, email, **fields)
    assert response.status_code == status
    assert message in response.text
    assert 'name="email"' in response.text  # the form comes back, filled in
    assert drain_outbox() == []


def test_oversized_body_is_413_not_500(sqlite_client: TestClient) -> None:
    token = csrf_from(sqlite_client.get("/subscribe").text)
    response = sqlite_client.post("/subscribe", data={"csrf_token": token, "email": "a@b.eu",
                                                      "name": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 413


def test_subscribe_without_csrf_is_refused(sqlite_client: TestClient) -> None:
    response = sqlite_client.post("/subscribe", data={"email": "f@example.org", "consent": "yes"})
    assert response.status_code == 403
    assert drain_outbox() == []


def test_topics_can_be_followed(sqlite_client: TestClient, sqlite_session: Session) -> None:
    topic = Topic(name="Eurocluster calls", filters={"kinds": ["call"]})
    sqlite_session.add(topic)
    sqlite_session.commit()
    assert "Eurocluster calls" in sqlite_client.get("/subscribe").text
    assert subscribe(sqlite_client, "gina@example.org", topics=str(topic.id)).status_code == 303


def test_tampered_and_expired_tokens(sqlite_client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    subscribe(sqlite_client, "hugo@example.org")
    (message,) = drain_outbox()
    link = link_in(message, "/confirm/")
    tampered = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    for path in (tampered, "/confirm/garbage", "/preferences/garbage", "/u/garbage",
                 "/calendar/s/garbage.ics", "/preferences/garbage/export"):
        response = sqlite_client.get(path)
        assert response.status_code in (400, 404), path
        assert response.status_code != 500
    assert "This link is not valid" in sqlite_client.get(tampered).text
    assert sqlite_client.post("/u/garbage").status_code == 400
    monkeypatch.setenv("WATCHER_CONFIRM_TOKEN_MAX_AGE_S", "-1")
    get_settings.cache_clear()
    expired = sqlite_client.get(link)
    assert expired.status_code == 410 and "This link has expired" in expired.text


def test_a_confirm_token_cannot_open_the_preference_centre(sqlite_client: TestClient) -> None:
    subscribe(sqlite_client, "ines@example.org")
    (message,) = drain_outbox()
    token = link_in(message, "/confirm/").removeprefix("/confirm/")
    assert sqlite_client.get(f"/preferences/{token}").status_code == 400


def test_erase_removes_everything(sqlite_client: TestClient, sqlite_session: Session) -> None:
    prefs_path = confirmed_subscriber(sqlite_client, "luca@example.org")
    page = sqlite_client.get(prefs_path)
    gone = sqlite_client.post(f"{prefs_path}/delete", data={"csrf_token": csrf_from(page.text)})
    assert gone.status_code == 200 and "Your data has been deleted" in gone.text
    sqlite_session.expire_all()
    assert sqlite_session.exec(select(Subscriber)).all() == []
    assert sqlite_client.get(prefs_path).status_code == 400


def test_private_calendar_follows_preferences(sqlite_client: TestClient, sqlite_session: Session) -> None:
    add_item(sqlite_session, title="Health call", kind="call", ecosystems=["health"],
             deadline=days_from_today(12))
    add_item(sqlite_session, title="Tourism call", kind="call", ecosystems=["tourism"],
             deadline=days_from_today(12))
    prefs_path = confirmed_subscriber(sqlite_client, "marta@example.org", ecosystems="health")
    page = sqlite_client.get(prefs_path).text
    calendar_path = "/calendar/s/" + page.split('href="/calendar/s/', 1)[1].split('"', 1)[0]
    response = sqlite_client.get(calendar_path)
    assert response.status_code == 200 and response.headers["cache-control"] == "private, no-store"
    summaries = [str(e["SUMMARY"]) for e in Calendar.from_ical(response.content).walk("VEVENT")]
    assert summaries == ["Deadline: Health call"]
