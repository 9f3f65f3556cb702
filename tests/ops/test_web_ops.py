"""/healthz, /readyz and /metrics on the real app."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from subscribers.outbox import enqueue
from tests.subscribers.factories import make_item
from tests.support.outbox_data import message
from watcher import events
from watcher.models import SourceState
from watcher.observability import metrics
from watcher.settings import get_settings
from watcher.web.app import create_app


def _samples(body: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def test_healthz_answers_without_a_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHER_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    get_settings.cache_clear()
    with TestClient(create_app(get_settings())) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"].startswith("unreachable")
        scrape = client.get("/metrics")
        assert scrape.status_code == 200
        assert _samples(scrape.text)[("watcher_database_up", ())] == 0


def test_readyz_wants_the_schema_at_head(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHER_DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    get_settings.cache_clear()
    with TestClient(create_app(get_settings())) as client:
        ready = client.get("/readyz")
    assert ready.status_code == 503
    assert "watcher db upgrade" in ready.json()["checks"]["migrations"]


def test_ready_and_metrics_report_database_state(engine: Engine) -> None:
    with Session(engine) as session:
        session.add(SourceState(source_id="broken", consecutive_failures=4))
        session.add(SourceState(source_id="fine"))
        make_item(session, kind="event")
        for n in range(3):
            mail = message(f"a{n}@x.eu")
            enqueue(session, subscriber_id=None, message_key=f"k{n}", kind="digest", message=mail)
        session.commit()
        session.execute(text("UPDATE outbox SET state = 'unknown' WHERE message_key = 'k0'"))
        session.commit()
    metrics.record_poll("fine", True, 0.4)
    metrics.record_poll("broken", False, 2.0)
    metrics.record_items(3, 1)
    with TestClient(create_app(get_settings())) as client:
        assert client.get("/readyz").json() == {
            "status": "ready",
            "checks": {"database": "ok", "migrations": "at head"},
        }
        response = client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    samples = _samples(response.text)
    assert samples[("watcher_outbox_messages", (("state", "pending"),))] == 2
    assert samples[("watcher_outbox_messages", (("state", "unknown"),))] == 1
    assert samples[("watcher_source_consecutive_failures", (("source", "broken"),))] == 4
    assert samples[("watcher_sources_failing", ())] == 1
    assert samples[("watcher_items", (("kind", "event"),))] == 1
    assert samples[("watcher_source_polls_total", (("outcome", "failed"), ("source", "broken")))] >= 1
    assert samples[("watcher_items_stored_total", (("change", "new"),))] >= 3
    assert ("watcher_source_poll_seconds_count", ()) in samples
    assert samples[("watcher_outbox_oldest_due_age_seconds", ())] >= 0


def test_classification_counts_come_from_store_events() -> None:
    from watcher.models import Item

    metrics.install_event_hooks()
    metrics.install_event_hooks()  # idempotent: one subscription
    before = metrics.CLASSIFIED.labels(kind="call")._value.get()
    events.publish(events.ItemStored(Item(source_id="s", guid="g", url="u", title="t", fingerprint="f",
                                          kind="call", ecosystems=["health", "digital"])))
    assert metrics.CLASSIFIED.labels(kind="call")._value.get() == before + 1


def test_drain_reports_become_delivery_counters() -> None:
    from subscribers.drain import DrainReport

    before = metrics.DELIVERIES.labels(state="sent")._value.get()
    metrics.record_drain(DrainReport(sent=5, unknown=1, elapsed_s=0.2))
    assert metrics.DELIVERIES.labels(state="sent")._value.get() == before + 5


def test_json_log_format_takes_over_uvicorn_loggers_at_startup(monkeypatch: pytest.MonkeyPatch) -> None:
    import logging

    monkeypatch.setenv("WATCHER_LOG_FORMAT", "json")
    get_settings.cache_clear()
    access = logging.getLogger("uvicorn.access")
    access.addHandler(logging.NullHandler())
    access.propagate = False
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        with TestClient(create_app(get_settings())):
            pass
        assert access.propagate and not access.handlers
        assert any(type(h.formatter).__name__ == "JsonFormatter" for h in root.handlers)
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
