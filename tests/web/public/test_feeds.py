"""Calendars and Atom feeds: valid documents, stable UIDs, escaped and sanitised content."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient
from icalendar import Calendar
from lxml import etree
from sqlmodel import Session

from tests.web.public.conftest import add_item, days_from_today
from watcher.models import Item
from watcher.web.public import ical

ATOM = "{http://www.w3.org/2005/Atom}"


def events_of(body: bytes) -> list[dict[str, object]]:
    calendar = Calendar.from_ical(body)
    return [
        {"uid": str(e["UID"]), "summary": str(e["SUMMARY"]), "start": e["DTSTART"].dt}
        for e in calendar.walk("VEVENT")
    ]


def test_ecosystem_calendar_has_deadlines_and_events(client: TestClient, session: Session) -> None:
    call = add_item(session, title="Smart farming call", kind="call", ecosystems=["agri-food"],
                    deadline=days_from_today(20),
                    deadlines=[days_from_today(20).isoformat(), days_from_today(60).isoformat()])
    add_item(session, title="Agri info day", kind="event", ecosystems=["agri-food"],
             event_date=days_from_today(7))
    add_item(session, title="Health call", kind="call", ecosystems=["health"], deadline=days_from_today(9))
    add_item(session, title="Old call", kind="call", ecosystems=["agri-food"], deadline=days_from_today(-400))
    response = client.get("/calendar/agri-food.ics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    events = events_of(response.content)
    summaries = sorted(str(e["summary"]) for e in events)
    assert summaries == ["Agri info day", "Deadline: Smart farming call", "Deadline: Smart farming call"]
    uids = {str(e["uid"]) for e in events}
    assert f"cw-{call.id}-deadline-{days_from_today(60):%Y%m%d}@127.0.0.1" in uids
    again = events_of(client.get("/calendar/agri-food.ics").content)
    assert {str(e["uid"]) for e in again} == uids  # stable between fetches
    assert len(events_of(client.get("/calendar/all.ics").content)) == 4


def test_unknown_ecosystem_calendar_is_404(client: TestClient) -> None:
    assert client.get("/calendar/space-mining.ics").status_code == 404
    assert client.get("/feeds/space-mining.atom").status_code == 404


def test_item_calendar(client: TestClient, session: Session) -> None:
    item = add_item(session, title="Webinar", kind="event", event_date=days_from_today(3))
    response = client.get(f"/calendar/item/{item.id}.ics")
    assert response.status_code == 200
    (event,) = events_of(response.content)
    assert event["summary"] == "Webinar" and event["start"] == days_from_today(3)
    undated = add_item(session, title="News")
    assert client.get(f"/calendar/item/{undated.id}.ics").status_code == 404


def test_google_calendar_link_redirects_with_the_current_deadline(
    client: TestClient, session: Session
) -> None:
    call = add_item(session, title="Bando PMI", kind="call", deadline=days_from_today(10))
    call.deadline = days_from_today(40)  # extended after the digest with the link went out
    session.add(call)
    session.commit()
    response = client.get(f"/calendar/item/{call.id}/google?lang=it", follow_redirects=False)
    assert response.status_code == 302 and response.headers["cache-control"] == "no-store"
    target = urlsplit(response.headers["location"])
    assert (target.netloc, target.path) == ("calendar.google.com", "/calendar/render")
    query = parse_qs(target.query)
    day = days_from_today(40)
    assert query["dates"] == [f"{day:%Y%m%d}/{day + timedelta(days=1):%Y%m%d}"]
    assert query["text"] == ["Scadenza: Bando PMI"]
    undated = add_item(session, title="News")
    assert client.get(f"/calendar/item/{undated.id}/google", follow_redirects=False).status_code == 404
    assert client.get("/calendar/item/999999/google", follow_redirects=False).status_code == 404


def test_atom_feed_is_valid_and_escapes_html(client: TestClient, session: Session) -> None:
    add_item(session, title='Call <script>alert("t")</script> & more', kind="call", ecosystems=["digital"],
             content_html='<p>Text</p><script>alert("c")</script><a href="javascript:alert(1)">x</a>',
             text="Plain <b>text</b>")
    add_item(session, title="Digital news", kind="news", ecosystems=["digital"])
    add_item(session, title="Other ecosystem", kind="call", ecosystems=["tourism"])
    response = client.get("/feeds/digital.atom?kind=call")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    root = etree.fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):
        assert root.find(f"{ATOM}{required}") is not None
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 1
    entry = entries[0]
    assert entry.findtext(f"{ATOM}title") == 'Call <script>alert("t")</script> & more'  # text, escaped
    content = entry.findtext(f"{ATOM}content") or ""
    assert "<p>Text</p>" in content and "<script" not in content and "javascript:" not in content
    assert entry.find(f"{ATOM}link[@rel='alternate']") is not None
    assert len(etree.fromstring(client.get("/feeds/all.atom").content).findall(f"{ATOM}entry")) == 3


def test_calendar_writer_escapes_and_folds() -> None:
    item = Item(id=7, source_id="s", guid="g", url="https://e.eu/x", fingerprint="f",
                title="Bando; regione, è \\ ok\r\nnew line" + "è" * 80, text="x\x01y",
                deadline=days_from_today(1), updated_at=datetime.now(UTC))
    body = ical.build_calendar([item], name="n", base_url="https://cw.example", max_events=10)
    assert all(len(line) <= 75 for line in body.split(b"\r\n"))
    (event,) = events_of(body)
    assert str(event["summary"]).startswith("Deadline: Bando; regione, è \\ ok new line")


def test_calendar_stops_at_the_event_cap() -> None:
    items = [Item(id=n, source_id="s", guid=str(n), url="https://e.eu", fingerprint="f", title=f"T{n}",
                  deadline=days_from_today(n + 1)) for n in range(10)]
    body = ical.build_calendar(items, name="n", base_url="https://cw.example", max_events=4)
    assert len(events_of(body)) == 4


def test_body_cache_expires_and_stays_bounded() -> None:
    from watcher.web.public.cache import BodyCache

    now = [0.0]
    cache = BodyCache(max_entries=2, clock=lambda: now[0])
    builds: list[str] = []

    def build(name: str) -> bytes:
        builds.append(name)
        return name.encode()

    assert cache.get_or_build("a", lambda: build("a"), max_age_s=10) == b"a"
    assert cache.get_or_build("a", lambda: build("a"), max_age_s=10) == b"a"
    now[0] = 11
    cache.get_or_build("a", lambda: build("a"), max_age_s=10)
    cache.get_or_build("b", lambda: build("b"), max_age_s=10)
    cache.get_or_build("c", lambda: build("c"), max_age_s=10)  # evicts "a", the least recently used
    cache.get_or_build("a", lambda: build("a"), max_age_s=10)
    cache.get_or_build("z", lambda: build("z"), max_age_s=0)  # 0 disables caching
    assert builds == ["a", "a", "b", "c", "a", "z"]
