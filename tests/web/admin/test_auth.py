"""Login, session cookie, logout, CSRF and rate limit on the admin console."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.web.admin.conftest import PASSWORD, csrf_from, login
from watcher.web.admin.auth import AdminAccountError, create_admin, verify_password
from watcher.web.models import AdminUser


def test_console_redirects_to_login_when_signed_out(app_client: TestClient) -> None:
    response = app_client.get("/admin/items?view=newest", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/login?next=%2Fadmin%2Fitems%3Fview%3Dnewest"


def test_login_sets_httponly_lax_session_and_lands_on_next(app_client: TestClient) -> None:
    token = csrf_from(app_client.get("/admin/login").text)
    response = app_client.post(
        "/admin/login",
        data={"csrf_token": token, "username": "editor", "password": PASSWORD, "next": "/admin/items"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/admin/items"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("cw_admin="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age=" in cookie
    page = app_client.get("/admin")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"


def test_login_refuses_offsite_next(app_client: TestClient) -> None:
    token = csrf_from(app_client.get("/admin/login").text)
    response = app_client.post(
        "/admin/login",
        data={"csrf_token": token, "username": "editor", "password": PASSWORD, "next": "//evil.example/"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/admin"


def test_wrong_password_is_401_with_message(app_client: TestClient) -> None:
    token = csrf_from(app_client.get("/admin/login").text)
    response = app_client.post(
        "/admin/login", data={"csrf_token": token, "username": "editor", "password": "nope"}
    )
    assert response.status_code == 401 and "Wrong username or password" in response.text


def test_login_without_csrf_is_403(app_client: TestClient) -> None:
    app_client.get("/admin/login")
    response = app_client.post("/admin/login", data={"username": "editor", "password": PASSWORD})
    assert response.status_code == 403 and "reload" in response.text.lower()


def test_login_is_rate_limited(app_client: TestClient) -> None:
    token = csrf_from(app_client.get("/admin/login").text)
    codes = [
        app_client.post(
            "/admin/login", data={"csrf_token": token, "username": "x", "password": "y"}
        ).status_code
        for _ in range(6)
    ]
    assert codes[:5] == [401] * 5 and codes[5] == 429


def test_logout_needs_post_and_clears_session(admin_client: TestClient) -> None:
    token = csrf_from(admin_client.get("/admin").text)
    assert admin_client.get("/admin/logout").status_code == 405
    response = admin_client.post("/admin/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert admin_client.get("/admin", follow_redirects=False).status_code == 303


def test_tampered_session_cookie_is_ignored(app_client: TestClient) -> None:
    app_client.cookies.set("cw_admin", "eyJpZCI6MX0.forged.sig")
    assert app_client.get("/admin", follow_redirects=False).status_code == 303


def test_password_change_ends_old_sessions(admin_client: TestClient, db: Session) -> None:
    assert admin_client.get("/admin", follow_redirects=False).status_code == 200
    create_admin(db, username="editor", password="another long password")
    assert admin_client.get("/admin", follow_redirects=False).status_code == 303
    login(admin_client, password="another long password")


def test_admin_accounts_store_argon2_hashes_and_validate(db: Session) -> None:
    user = create_admin(db, username="ops", password="long enough pw")
    stored = db.get(AdminUser, user.id)
    assert stored is not None and stored.password_hash.startswith("$argon2id$")
    assert verify_password(stored.password_hash, "long enough pw")
    for bad_name, bad_pw in (("a", "long enough pw"), ("ok-name", "short"), ("bad name!", "long enough pw")):
        try:
            create_admin(db, username=bad_name, password=bad_pw)
        except AdminAccountError:
            continue
        raise AssertionError(f"accepted {bad_name!r}/{bad_pw!r}")


def test_csrf_less_console_post_is_403_even_when_signed_in(admin_client: TestClient) -> None:
    response = admin_client.post("/admin/items/1/hide", data={"hidden": "true"})
    assert response.status_code == 403 and "reload" in response.text.lower()


def test_logout_revokes_a_copied_session_cookie(app_client: TestClient) -> None:
    login(app_client)
    stolen = app_client.cookies.get("cw_admin")
    token = csrf_from(app_client.get("/admin").text)
    app_client.post("/admin/logout", data={"csrf_token": token})
    thief = TestClient(app_client.app)
    thief.cookies.set("cw_admin", stolen or "")
    assert thief.get("/admin", follow_redirects=False).status_code == 303
    login(app_client)
    assert app_client.get("/admin", follow_redirects=False).status_code == 200
