"""Items pages: review queue, reclassify (Correction + Item), duplicates, hide, pin; bad input."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.web.admin.conftest import add_item, post_form
from watcher.models import Correction, Item


def test_review_queue_lists_uncategorised_and_low_confidence(admin_client: TestClient, db: Session) -> None:
    add_item(db, title="No ecosystem at all")
    add_item(db, title="Weakly digital", ecosystems=["digital"], scores={"digital": 3.1})
    add_item(db, title="Clearly health", ecosystems=["health"], scores={"health": 20.0})
    page = admin_client.get("/admin/items").text
    assert "No ecosystem at all" in page and "Weakly digital" in page
    assert "Clearly health" not in page
    assert "Clearly health" in admin_client.get("/admin/items?view=newest").text
    low = admin_client.get("/admin/items?view=low").text
    assert "Weakly digital" in low and "No ecosystem at all" not in low
    assert "Weakly digital" in admin_client.get("/admin/items?view=newest&q=weakly").text


def test_reclassify_writes_correction_and_item(admin_client: TestClient, db: Session) -> None:
    item = add_item(db, title="Bando turismo")
    response = post_form(
        admin_client,
        f"/admin/items/{item.id}",
        f"/admin/items/{item.id}/reclassify",
        {"ecosystems": ["tourism", "cultural-creative"], "kind": "call", "deadline": "2027-03-31"},
    )
    assert response.status_code == 303  # type: ignore[attr-defined]
    db.expire_all()
    stored = db.get(Item, item.id)
    correction = db.get(Correction, item.id)
    assert stored is not None and correction is not None
    assert stored.ecosystems == ["tourism", "cultural-creative"] and stored.kind == "call"
    assert stored.deadline == date(2027, 3, 31) and stored.corrected
    assert correction.author == "editor" and correction.ecosystems == ["tourism", "cultural-creative"]
    page = admin_client.get(f"/admin/items/{item.id}").text
    assert "Classification saved" in page and "corrected by editor" in page


def test_reclassify_rejects_bad_values_with_400(admin_client: TestClient, db: Session) -> None:
    item = add_item(db, title="Something")
    for data, message in (
        ({"ecosystems": ["space-mining"], "kind": "call"}, "Unknown ecosystem"),
        ({"kind": "rumour"}, "Kind must be one of"),
        ({"kind": "call", "deadline": "31/03/2027"}, "must be a date"),
    ):
        response = post_form(
            admin_client, f"/admin/items/{item.id}", f"/admin/items/{item.id}/reclassify", data
        )
        assert response.status_code == 400, data  # type: ignore[attr-defined]
        assert message in response.text  # type: ignore[attr-defined]
    db.expire_all()
    assert not db.get(Item, item.id).corrected  # type: ignore[union-attr]


def test_oversized_field_is_4xx(admin_client: TestClient, db: Session) -> None:
    item = add_item(db, title="Pin me")
    response = post_form(
        admin_client,
        f"/admin/items/{item.id}",
        f"/admin/items/{item.id}/pin",
        {"pinned": "true", "note": "x" * 5000},
    )
    assert response.status_code in (400, 422)  # type: ignore[attr-defined]
    huge = post_form(
        admin_client, f"/admin/items/{item.id}", f"/admin/items/{item.id}/pin", {"note": "x" * 2_000_000}
    )
    assert huge.status_code == 413  # type: ignore[attr-defined]


def test_duplicate_hide_and_pin(admin_client: TestClient, db: Session) -> None:
    primary = add_item(db, title="Primary")
    copy = add_item(db, title="Mirror")
    page = f"/admin/items/{copy.id}"
    assert post_form(admin_client, page, f"{page}/duplicate", {"of_item": str(primary.id)}).status_code == 303  # type: ignore[attr-defined]
    bad = post_form(admin_client, page, f"{page}/duplicate", {"of_item": "99999999999"})
    assert bad.status_code == 400  # type: ignore[attr-defined]
    post_form(admin_client, page, f"{page}/hide", {"hidden": "true"})
    post_form(admin_client, page, f"{page}/pin", {"pinned": "true", "note": "Read this first"})
    db.expire_all()
    stored = db.get(Item, copy.id)
    assert stored is not None
    assert stored.story_id == primary.id and stored.hidden and stored.pinned
    assert stored.editor_note == "Read this first"
    assert "Mirror" in admin_client.get("/admin/items?view=hidden").text


def test_unknown_or_absurd_item_ids_are_404_or_422(admin_client: TestClient) -> None:
    assert admin_client.get("/admin/items/424242").status_code == 404
    assert admin_client.get("/admin/items/99999999999999999").status_code in (400, 422)
    assert admin_client.get("/admin/items/abc").status_code in (400, 422)


def test_script_in_feed_content_is_inert(admin_client: TestClient, db: Session) -> None:
    item = add_item(
        db,
        title='<script>alert("t")</script>Call',
        content_html='<p onclick="x()">Hi<script>alert(1)</script><a href="javascript:alert(2)">l</a></p>',
        url="javascript:alert(3)",
    )
    page = admin_client.get(f"/admin/items/{item.id}").text
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert "javascript:" not in page and "onclick" not in page
    assert "<script>alert" not in admin_client.get("/admin/items?view=newest").text


def test_dashboard_renders_svg_charts(admin_client: TestClient, db: Session) -> None:
    add_item(db, title="A", ecosystems=["digital", "health"], source_id="s1")
    add_item(db, title="B", ecosystems=[], source_id="s2")
    response = admin_client.get("/admin")
    assert response.status_code == 200
    assert response.text.count("<svg") >= 2
    assert "digital" in response.text and "s2" in response.text and "(none)" in response.text
    assert "style=" not in response.text.split("<main", 1)[1]
