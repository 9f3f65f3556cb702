"""Every console form refuses a CSRF-less POST; junk input anywhere is a 4xx or a message, never a 500."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from subscribers import service
from subscribers.models import Topic
from tests.web.admin.conftest import add_item, csrf_from
from watcher.settings import get_settings
from watcher.web import admin, security


def _admin_routes(method: str) -> list[str]:
    """Every console path for ``method`` (from the OpenAPI paths of an app with only the admin part)."""
    app = FastAPI()
    settings = get_settings()
    security.install(app, settings)
    admin.install(app, settings)
    paths = [path for path, ops in app.openapi()["paths"].items() if method.lower() in ops]
    return sorted({re.sub(r"\{[^}]+\}", "1", path) for path in paths if path.startswith("/admin")})


POSTS = _admin_routes("POST")


def test_every_admin_post_route_is_listed() -> None:
    posts = POSTS
    assert len(posts) >= 18 and "/admin/items/1/reclassify" in posts and "/admin/logout" in posts


def test_csrf_less_posts_are_403(admin_client: TestClient) -> None:
    codes = {
        path: admin_client.post(path, data={"a": "x"}, follow_redirects=False).status_code for path in POSTS
    }
    assert set(codes.values()) == {403}, codes


def test_junk_posts_never_500(admin_client: TestClient, db: Session) -> None:
    add_item(db, title="x")
    db.add(Topic(name="t"))
    service.subscribe(db, email="s@example.org", origin="test", confirmed=True)
    db.commit()
    token = csrf_from(admin_client.get("/admin").text)
    junk = {
        "csrf_token": token,
        "kind": "<script>",
        "ecosystems": ["\x00", "digital"],
        "deadline": "9999-99-99",
        "of_item": "-1",
        "hidden": "maybe",
        "pinned": "2",
        "note": "é" * 100,
        "enabled": "nope",
        "action": "drop table",
        "topic_ids": ["x", "99999999999999"],
        "frequency": "\u202e",
        "name": " ",
        "emails": "@@@",
        "domain": "%",
        "digest_hour": "NaN",
        "reminder_lead_days": "a,b",
    }
    for path in sorted(POSTS, key=lambda p: p.startswith("/admin/log")):  # sign out last
        response = admin_client.post(path, data=junk, follow_redirects=False)
        assert (
            response.status_code != 303 or "/admin/login" not in response.headers["location"] or "log" in path
        )
        assert response.status_code < 500, (path, response.status_code, response.text[:300])


JUNK_GETS = [
    "/admin?x=1",
    "/admin/items?view=<x>&page=-5",
    "/admin/items?page=abc",
    "/admin/items?q=%00%27",
    "/admin/items/0",
    "/admin/subscribers?status=zzz&page=999999999999",
    "/admin/subscribers/1",
    "/admin/subscribers/1/preview",
    "/admin/subscribers/1/preview.html",
    "/admin/topics/1",
    "/admin/outbox?state=<b>",
    "/admin/outbox?page=-1",
    "/admin/sources",
    "/admin/login?next=javascript:x",
]


def test_junk_gets_never_500(admin_client: TestClient) -> None:
    for url in JUNK_GETS:
        response = admin_client.get(url, follow_redirects=False)
        assert response.status_code < 500, (url, response.status_code)
        assert "<x>" not in response.text and "<b>" not in response.text.replace("<body", ""), url
