"""Security middleware and dependencies on a minimal app (independent of the public/admin pages)."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient

from watcher.settings import Settings
from watcher.web import security
from watcher.web.security import CSP, RateLimiter, csrf_token, rate_limit, verify_csrf


def _app(**overrides: object) -> FastAPI:
    settings = Settings(secret_key="k", **overrides)  # type: ignore[arg-type]
    app = FastAPI()
    app.state.settings = settings
    security.install(app, settings)

    @app.get("/form", response_class=HTMLResponse)
    def form(request: Request) -> str:
        return f'<form method="post"><input name="csrf_token" value="{csrf_token(request)}"></form>'

    @app.post("/submit", dependencies=[Depends(verify_csrf)])
    def submit(name: Annotated[str, Form(max_length=50)] = "") -> dict[str, str]:
        return {"ok": name}

    @app.post("/limited", dependencies=[Depends(rate_limit("t", per_minute=2))])
    def limited() -> dict[str, bool]:
        return {"ok": True}

    return app


def _token(client: TestClient) -> str:
    html = client.get("/form").text
    return html.split('value="', 1)[1].split('"', 1)[0]


def test_security_headers_on_every_response() -> None:
    response = TestClient(_app()).get("/form")
    assert response.headers["content-security-policy"] == CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in response.headers
    missing = TestClient(_app()).get("/nope")
    assert missing.status_code == 404 and missing.headers["content-security-policy"] == CSP


def test_hsts_and_host_cookie_on_https() -> None:
    client = TestClient(_app(base_url="https://watch.example.eu"), base_url="https://testserver")
    response = client.get("/form")
    assert response.headers["strict-transport-security"].startswith("max-age=")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("__Host-cw_csrf=") and "Secure" in cookie and "HttpOnly" in cookie


def test_csrf_round_trip_accepts_valid_token() -> None:
    client = TestClient(_app())
    token = _token(client)
    response = client.post("/submit", data={"csrf_token": token, "name": "x"})
    assert response.status_code == 200, response.text
    assert client.post("/submit", data={"name": "x"}, headers={"X-CSRF-Token": token}).status_code == 200


@pytest.mark.parametrize("token", [None, "", "garbage", "eyJ.x.y"])
def test_csrf_rejects_missing_or_bad_token(token: str | None) -> None:
    client = TestClient(_app())
    _token(client)
    data = {"name": "x"} if token is None else {"name": "x", "csrf_token": token}
    response = client.post("/submit", data=data)
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_csrf_token_from_another_browser_is_rejected() -> None:
    attacker = TestClient(_app())
    stolen = _token(attacker)
    victim = TestClient(attacker.app)
    _token(victim)
    response = victim.post("/submit", data={"csrf_token": stolen})
    assert response.status_code == 403 and "does not match" in response.json()["detail"]


def test_csrf_without_cookie_is_explained() -> None:
    app = _app()
    token = _token(TestClient(app))
    response = TestClient(app).post("/submit", data={"csrf_token": token})
    assert response.status_code == 403 and "cookie" in response.json()["detail"]


def test_body_limit_declared_and_streamed() -> None:
    client = TestClient(_app(web_max_body_bytes=1000))
    token = _token(client)
    response = client.post("/submit", data={"csrf_token": token, "name": "x" * 5000})
    assert response.status_code == 413 and "1000 bytes" in response.json()["detail"]

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(10):
            yield b"name=" + b"x" * 500

    streamed = client.post(
        "/submit",
        content=chunks(),
        headers={"content-type": "application/x-www-form-urlencoded", "X-CSRF-Token": token},
    )
    assert streamed.status_code == 413


def test_oversized_field_is_a_422_not_a_500() -> None:
    client = TestClient(_app())
    response = client.post("/submit", data={"csrf_token": _token(client), "name": "x" * 500})
    assert response.status_code == 422


def test_rate_limit_429_with_retry_after() -> None:
    client = TestClient(_app())
    assert [client.post("/limited").status_code for _ in range(2)] == [200, 200]
    response = client.post("/limited")
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) >= 1
    assert "Too many requests" in response.json()["detail"]


def test_rate_limiter_refills_over_time() -> None:
    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0])
    assert limiter.hit("b", "ip", per_minute=1) == 0
    assert limiter.hit("b", "ip", per_minute=1) == pytest.approx(60.0)
    assert limiter.hit("b", "other-ip", per_minute=1) == 0
    now[0] = 61.0
    assert limiter.hit("b", "ip", per_minute=1) == 0
