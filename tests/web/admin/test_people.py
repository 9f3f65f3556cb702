"""Subscribers, topics, CSV import/export, digest preview, test send and the outbox pages."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from subscribers import service
from subscribers.models import ConsentLog, Subscriber, Topic, TopicFollow
from subscribers.outbox import OutboxMessage
from tests.web.admin.conftest import add_item, csrf_from, post_form


def _subscriber(db: Session, email: str = "anna@camera.example.it", **kw: object) -> Subscriber:
    subscriber = service.subscribe(db, email=email, origin="test", confirmed=True, **kw)  # type: ignore[arg-type]
    db.commit()
    return subscriber


def _actions(db: Session, subscriber_id: int | None) -> list[str]:
    db.expire_all()
    rows = db.exec(select(ConsentLog).where(ConsentLog.subscriber_id == subscriber_id)).all()
    return [row.action for row in rows]


def test_search_and_edit_preferences_logs_consent(admin_client: TestClient, db: Session) -> None:
    s = _subscriber(db)
    _subscriber(db, email="bob@example.org")
    listing = admin_client.get("/admin/subscribers?q=camera").text
    assert "anna@camera.example.it" in listing and "bob@example.org" not in listing
    page = f"/admin/subscribers/{s.id}"
    response = post_form(
        admin_client,
        page,
        f"{page}/preferences",
        {
            "ecosystems": ["health", "digital"],
            "kinds": ["call"],
            "frequency": "daily",
            "language": "it",
            "include_keywords": "robotica, AI",
            "reminder_lead_days": "7, 1",
            "own_filters": "true",
            "digest_weekday": "2",
            "digest_hour": "9",
        },
    )
    assert response.status_code == 303  # type: ignore[attr-defined]
    db.expire_all()
    stored = db.get(Subscriber, s.id)
    assert stored is not None and sorted(stored.ecosystems) == ["digital", "health"]
    assert stored.frequency == "daily" and stored.include_keywords == ["robotica", "AI"]
    assert "preferences" in _actions(db, s.id)
    consent = admin_client.get(page).text
    assert "admin editor" in consent


def test_bad_preferences_are_400_with_reason(admin_client: TestClient, db: Session) -> None:
    s = _subscriber(db)
    page = f"/admin/subscribers/{s.id}"
    response = post_form(
        admin_client, page, f"{page}/preferences", {"frequency": "hourly", "digest_hour": "30"}
    )
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "Not saved" in response.text  # type: ignore[attr-defined]
    long = post_form(admin_client, page, f"{page}/preferences", {"include_keywords": "k" * 3000})
    assert long.status_code == 400  # type: ignore[attr-defined]


def test_suppress_and_unsuppress(admin_client: TestClient, db: Session) -> None:
    s = _subscriber(db)
    page = f"/admin/subscribers/{s.id}"
    assert post_form(admin_client, page, f"{page}/status", {"action": "suppress"}).status_code == 303  # type: ignore[attr-defined]
    db.expire_all()
    assert db.get(Subscriber, s.id).status == "suppressed"  # type: ignore[union-attr]
    post_form(admin_client, page, f"{page}/status", {"action": "unsuppress"})
    db.expire_all()
    assert db.get(Subscriber, s.id).status == "active"  # type: ignore[union-attr]
    assert {"suppressed", "resume"} <= set(_actions(db, s.id))
    bad = post_form(admin_client, page, f"{page}/status", {"action": "explode"})
    assert bad.status_code == 400  # type: ignore[attr-defined]


def test_topics_create_edit_assign_retire(admin_client: TestClient, db: Session) -> None:
    a = _subscriber(db, email="a@chamber.example.it")
    b = _subscriber(db, email="b@chamber.example.it")
    c = _subscriber(db, email="c@other.example.org")
    created = post_form(
        admin_client,
        "/admin/topics",
        "/admin/topics",
        {
            "name": "Eurocluster calls — Health",
            "ecosystems": ["health"],
            "kinds": ["call"],
            "include_keywords": "eurocluster",
        },
    )
    assert created.status_code == 303  # type: ignore[attr-defined]
    topic = db.exec(select(Topic)).one()
    assert topic.filters["ecosystems"] == ["health"] and topic.filters["include_keywords"] == ["eurocluster"]
    page = f"/admin/topics/{topic.id}"
    dup = post_form(admin_client, "/admin/topics", "/admin/topics", {"name": "Eurocluster calls — Health"})
    assert "exists already" in admin_client.get(dup.headers["location"]).text  # type: ignore[attr-defined]
    assigned = post_form(
        admin_client,
        page,
        f"{page}/assign",
        {"domain": "@chamber.example.it", "emails": f"{c.email}\nnobody@x.org"},
    )
    assert assigned.status_code == 303  # type: ignore[attr-defined]
    text = admin_client.get(page).text
    assert "3 subscriber(s) now follow" in text and "nobody@x.org" in text
    followers = set(db.exec(select(TopicFollow.subscriber_id).where(TopicFollow.topic_id == topic.id)).all())
    assert followers == {a.id, b.id, c.id}
    assert "topics" in _actions(db, a.id)
    post_form(admin_client, page, page, {"name": "Renamed", "kinds": ["event"]})
    post_form(admin_client, page, f"{page}/active", {"active": "false"})
    db.expire_all()
    stored = db.get(Topic, topic.id)
    assert stored is not None and stored.name == "Renamed" and not stored.active
    bad = post_form(admin_client, page, page, {"name": "", "ecosystems": ["nope"]})
    assert bad.status_code == 400  # type: ignore[attr-defined]


def test_subscriber_topics_form(admin_client: TestClient, db: Session) -> None:
    s = _subscriber(db)
    topic = Topic(name="Digital")
    db.add(topic)
    db.commit()
    page = f"/admin/subscribers/{s.id}"
    post_form(admin_client, page, f"{page}/topics", {"topic_ids": [str(topic.id)]})
    assert db.get(TopicFollow, (s.id, topic.id)) is not None
    bad = post_form(admin_client, page, f"{page}/topics", {"topic_ids": ["9999"]})
    assert bad.status_code == 400  # type: ignore[attr-defined]


def test_csv_import_and_export(admin_client: TestClient, db: Session) -> None:
    topic = Topic(name="Chamber list")
    db.add(topic)
    db.commit()
    csv_text = (
        "email,name,language,ecosystems\n"
        "uno@camera.example.it,Uno,it,tourism\n"
        "not-an-address,Bad,it,\n"
        "=cmd@evil.example,=HYPERLINK(1),en,\n"
    )
    token = csrf_from(admin_client.get("/admin/subscribers").text)
    response = admin_client.post(
        "/admin/subscribers/import",
        data={"csrf_token": token, "confirmed": "true", "topic_id": str(topic.id)},
        files={"file": ("list.csv", csv_text.encode(), "text/csv")},
    )
    assert response.status_code == 200
    assert "Imported 2 address(es), 2 now follow the topic; 1 row(s) skipped: line 3" in response.text
    uno = db.exec(select(Subscriber).where(Subscriber.email == "uno@camera.example.it")).one()
    assert uno.status == "active" and uno.ecosystems == ["tourism"] and uno.language == "it"
    export = admin_client.get("/admin/subscribers/export.csv")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert "uno@camera.example.it,Uno,it,active,weekly,tourism,,Chamber list" in export.text
    assert "'=HYPERLINK(1)" in export.text and ",=" not in export.text


def test_import_rejects_non_utf8_and_headerless(admin_client: TestClient) -> None:
    token = csrf_from(admin_client.get("/admin/subscribers").text)
    latin = admin_client.post(
        "/admin/subscribers/import",
        data={"csrf_token": token},
        files={"file": ("l.csv", "email\nperò@x.it\n".encode("latin-1"), "text/csv")},
    )
    assert "not UTF-8" in latin.text
    headerless = admin_client.post(
        "/admin/subscribers/import",
        data={"csrf_token": token},
        files={"file": ("l.csv", b"a@b.it,Name\n", "text/csv")},
    )
    assert "header with an &#39;email&#39; column" in headerless.text


def test_digest_preview_and_send_me_a_test(admin_client: TestClient, db: Session, tmp_path: Path) -> None:
    s = _subscriber(db, preferences=None)
    add_item(db, title="Bando digitale per PMI", ecosystems=["digital"], kind="call")
    page = admin_client.get(f"/admin/subscribers/{s.id}/preview")
    assert page.status_code == 200 and "Digest preview for" in page.text and "<iframe" in page.text
    html = admin_client.get(f"/admin/subscribers/{s.id}/preview.html")
    assert html.status_code == 200
    assert "sandbox" in html.headers["content-security-policy"]
    assert html.headers["x-frame-options"] == "SAMEORIGIN"
    sent = post_form(
        admin_client, f"/admin/subscribers/{s.id}/preview", f"/admin/subscribers/{s.id}/test", {}
    )
    assert sent.status_code == 303  # type: ignore[attr-defined]
    row = db.exec(select(OutboxMessage).where(OutboxMessage.kind == "admin")).one()
    assert row.recipient == "editor@example.org" and row.subject.startswith("[TEST for anna@")
    assert "Test digest to editor@example.org" in admin_client.get(sent.headers["location"]).text  # type: ignore[attr-defined]


def test_outbox_actions(admin_client: TestClient, db: Session) -> None:
    from email.message import EmailMessage

    from subscribers.outbox import enqueue

    message = EmailMessage()
    message["To"] = "x@example.org"
    message["Subject"] = "Hello"
    message.set_content("hi")
    enqueue(db, subscriber_id=None, message_key="k1", kind="admin", message=message)
    db.commit()
    row = db.exec(select(OutboxMessage)).one()
    row.state, row.last_error = "failed", "550 no such user"
    db.add(row)
    db.commit()
    page = admin_client.get("/admin/outbox?state=failed").text
    assert "550 no such user" in page and "retry" in page
    post_form(
        admin_client, "/admin/outbox?state=failed", f"/admin/outbox/{row.id}/action", {"action": "retry"}
    )
    db.expire_all()
    assert db.get(OutboxMessage, row.id).state == "pending"  # type: ignore[union-attr]
    refused = post_form(
        admin_client,
        "/admin/outbox?state=pending",
        f"/admin/outbox/{row.id}/action",
        {"action": "resolve-sent"},
    )
    assert "Not done" in admin_client.get(refused.headers["location"]).text  # type: ignore[attr-defined]
    post_form(
        admin_client, "/admin/outbox?state=pending", f"/admin/outbox/{row.id}/action", {"action": "cancel"}
    )
    db.expire_all()
    assert db.get(OutboxMessage, row.id).state == "cancelled"  # type: ignore[union-attr]
    dashboard = admin_client.get("/admin").text
    assert "Deliveries per day by state" in dashboard and "cancelled" in dashboard
