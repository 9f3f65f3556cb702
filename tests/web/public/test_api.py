"""JSON API: search with filters, one item, validation errors as 4xx JSON, OpenAPI description."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.web.public.conftest import add_item, days_from_today


def test_search_and_item(client: TestClient, session: Session) -> None:
    call = add_item(session, title="Open digital call", kind="call", ecosystems=["digital"],
                    deadline=days_from_today(40), deadlines=[days_from_today(40).isoformat()])
    add_item(session, title="Mirror", story_id=call.id, story_key="s")
    add_item(session, title="Tourism news", ecosystems=["tourism"])
    body = client.get("/api/items", params={"ecosystem": "digital", "kind": "call", "status": "open"}).json()
    assert [item["title"] for item in body["items"]] == ["Open digital call"]
    assert body["items"][0]["status"] == "open"
    assert body["items"][0]["page_url"].endswith(f"/items/{call.id}")
    assert body["total"] == 1 and body["total_capped"] is False and body["next_page"] is None
    detail = client.get(f"/api/items/{call.id}").json()
    assert detail["deadlines"] == [days_from_today(40).isoformat()]
    assert len(detail["mirrors"]) == 1
    assert client.get("/api/items", params={"q": "tourism"}).json()["total"] == 1


def test_bad_parameters_are_4xx_json(client: TestClient) -> None:
    for params in ({"kind": "grant"}, {"status": "maybe"}, {"page": "0"}, {"page": "x"},
                   {"ecosystem": "moon"}, {"q": "x" * 500}):
        response = client.get("/api/items", params=params)
        assert response.status_code == 422, params
        assert "detail" in response.json()
    missing = client.get("/api/items/424242")
    assert missing.status_code == 404 and missing.json() == {"detail": "item not found"}
    assert client.get("/api/items/abc").status_code == 422


def test_openapi_describes_the_item_api(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/api/items" in spec["paths"] and "/api/items/{item_id}" in spec["paths"]
    schemas = spec["components"]["schemas"]
    assert {"ItemPage", "ItemSummary", "ItemDetail"} <= set(schemas)
    assert not any(path.startswith(("/subscribe", "/u/", "/preferences")) for path in spec["paths"])
