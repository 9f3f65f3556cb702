"""store_items on SQLite and PostgreSQL: insert, dedup, update, history, corrections, idempotency."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.store.factory import NOW, entry, history, rows, store
from watcher.models import Correction, Item
from watcher.store import store_items


@contextmanager
def writes(engine: Engine) -> Iterator[list[str]]:
    """Every INSERT/UPDATE/DELETE the engine sends while the block runs."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().split(" ", 1)[0].upper() in {"INSERT", "UPDATE", "DELETE"}:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_new_items_are_inserted_with_a_created_event(engine: Engine) -> None:
    report = store(engine, [entry("a", deadlines=[date(2025, 4, 1)]), entry("b")])
    assert (report.new, report.updated, report.unchanged) == (2, 0, 0)
    stored = rows(engine)
    assert [row.guid for row in stored] == ["a", "b"]
    assert report.item_ids == [row.id for row in stored]
    first = stored[0]
    assert first.url == "https://regione.example.eu/items/a"
    assert first.deadline == date(2025, 4, 1) and first.deadlines == ["2025-04-01"]
    assert first.ecosystems == ["digital"] and first.kind == "call" and first.language == "it"
    assert first.first_seen_at == NOW and first.updated_at == NOW
    assert history(engine) == [], "arrival is first_seen_at, not a history row"


def test_second_identical_round_writes_nothing(engine: Engine) -> None:
    batch = [entry("a", deadlines=[date(2025, 4, 1)]), entry("b")]
    store(engine, batch)
    with writes(engine) as statements:
        report = store(engine, batch, now=NOW + timedelta(hours=6))
    assert (report.new, report.updated, report.unchanged) == (0, 0, 2)
    assert statements == []
    assert report.events == []
    assert all(row.updated_at == NOW for row in rows(engine))
    assert history(engine) == []


def test_changed_deadline_updates_the_row_and_records_the_change(engine: Engine) -> None:
    store(engine, [entry("a", deadlines=[date(2025, 4, 1)])])
    later = NOW + timedelta(days=1)
    report = store(engine, [entry("a", deadlines=[date(2025, 4, 30)])], now=later)
    assert (report.new, report.updated, report.unchanged) == (0, 1, 0)
    [row] = rows(engine)
    assert row.deadline == date(2025, 4, 30) and row.updated_at == later
    assert history(engine)[-1] == (row.id, "deadline_changed", "2025-04-01", "2025-04-30")
    assert report.events[0].changes["deadline"] == (date(2025, 4, 1), date(2025, 4, 30))  # type: ignore[union-attr]


def test_changed_title_is_recorded(engine: Engine) -> None:
    store(engine, [entry("a", title="Voucher digitali 2025")])
    report = store(engine, [entry("a", title="Voucher digitali 2025 - riapertura")])
    assert report.updated == 1
    [row] = rows(engine)
    assert row.title == "Voucher digitali 2025 - riapertura"
    assert history(engine)[-1] == (row.id, "title_changed", "Voucher digitali 2025", row.title)


def test_deadline_that_passes_moves_to_the_next_stage_quietly(engine: Engine) -> None:
    stages = [date(2025, 3, 10), date(2025, 9, 10)]
    store(engine, [entry("a", deadlines=stages)])
    assert rows(engine)[0].deadline == date(2025, 3, 10)
    report = store(engine, [entry("a", deadlines=stages)], now=NOW + timedelta(days=30))
    [row] = rows(engine)
    assert row.deadline == date(2025, 9, 10)
    assert (report.updated, report.unchanged) == (0, 1) and row.updated_at == NOW
    assert history(engine) == []


def test_all_deadlines_past_keeps_the_last(engine: Engine) -> None:
    store(engine, [entry("a", deadlines=[date(2024, 1, 1), date(2024, 6, 1)])])
    assert rows(engine)[0].deadline == date(2024, 6, 1)


def test_item_found_again_by_canonical_url_when_guid_changes(engine: Engine) -> None:
    store(engine, [entry("old-guid", url="https://regione.example.eu/bando/7?utm_source=rss")])
    report = store(engine, [entry("new-guid", url="https://regione.example.eu/bando/7/")])
    assert (report.new, report.unchanged + report.updated) == (0, 1)
    [row] = rows(engine)
    assert row.guid == "new-guid"


def test_item_found_again_by_identifier(engine: Engine) -> None:
    store(engine, [entry("g1", identifier="BANDO-42", url="https://regione.example.eu/x")])
    report = store(engine, [entry("g2", identifier="BANDO-42", url="https://regione.example.eu/y")])
    assert report.new == 0 and len(rows(engine)) == 1


def test_items_sharing_a_landing_page_url_are_not_merged(engine: Engine) -> None:
    landing = "https://regione.example.eu/bandi"
    report = store(engine, [entry("a", url=landing), entry("b", url=landing), entry("c", url=landing)])
    assert report.new == 3 and len(rows(engine)) == 3
    report = store(engine, [entry("d", url=landing)])
    assert report.new == 1 and len(rows(engine)) == 4


def test_duplicate_in_the_same_batch_is_stored_once(engine: Engine) -> None:
    report = store(engine, [entry("a"), entry("b"), entry("a")])
    assert (report.new, report.updated, report.unchanged) == (2, 0, 1)
    assert [row.guid for row in rows(engine)] == ["a", "b"]
    assert len(report.item_ids) == 2
    again = store(engine, [entry("a"), entry("a", title="Item a, corrected title")])
    assert (again.new, again.updated, again.unchanged) == (0, 1, 1)
    assert rows(engine)[0].title == "Item a, corrected title"


def test_correction_survives_re_store(engine: Engine) -> None:
    store(engine, [entry("a", deadlines=[date(2025, 4, 1)], ecosystems=["digital"], kind="news")])
    [row] = rows(engine)
    assert row.id is not None
    with Session(engine) as session:
        session.add(
            Correction(item_id=row.id, ecosystems=["tourism"], kind="call", deadline=date(2025, 5, 5))
        )
        stored = session.get(Item, row.id)
        assert stored is not None
        stored.ecosystems, stored.kind, stored.deadline, stored.corrected = (
            ["tourism"],
            "call",
            date(2025, 5, 5),
            True,
        )
        session.commit()
    report = store(
        engine,
        [
            entry(
                "a",
                deadlines=[date(2025, 4, 2)],
                ecosystems=["digital"],
                kind="news",
                html="<p>Testo aggiornato</p>",
            )
        ],
    )
    [row] = rows(engine)
    assert (row.ecosystems, row.kind, row.deadline) == (["tourism"], "call", date(2025, 5, 5))
    assert row.text == "Testo aggiornato" and row.deadlines == ["2025-04-02"]
    assert report.updated == 1
    assert "deadline_changed" not in [kind for _, kind, _, _ in history(engine)]


def test_corrected_flag_without_correction_row_keeps_current_values(engine: Engine) -> None:
    store(engine, [entry("a", ecosystems=["digital"])])
    with Session(engine) as session:
        stored = session.get(Item, rows(engine)[0].id)
        assert stored is not None
        stored.ecosystems, stored.corrected = ["health"], True
        session.commit()
    store(engine, [entry("a", ecosystems=["digital"], html="<p>changed</p>")])
    assert rows(engine)[0].ecosystems == ["health"]


def test_quiet_changes_are_written_without_bumping_updated_at(engine: Engine) -> None:
    first, result = entry("a")
    store(engine, [(first, result)])
    result.scores = {"digital": 9.0}
    report = store(engine, [(first, result)], now=NOW + timedelta(hours=1))
    [row] = rows(engine)
    assert row.scores == {"digital": 9.0} and row.updated_at == NOW
    assert (report.updated, report.unchanged, report.events) == (0, 1, [])


def test_batch_source_wins_and_naive_now_is_utc(engine: Engine) -> None:
    item, result = entry("a", source_id="typo-source")
    with Session(engine) as session:
        store_items(session, source_id="regione", items=[(item, result)], now=NOW.replace(tzinfo=None))
        session.commit()
    [row] = rows(engine)
    assert row.source_id == "regione" and row.first_seen_at == NOW


def test_empty_batch_is_a_no_op(engine: Engine) -> None:
    with Session(engine) as session:
        report = store_items(session, source_id="regione", items=[], now=NOW)
    assert (report.new, report.updated, report.unchanged, report.item_ids) == (0, 0, 0, [])


FIRST_ORM_WORK = """
import sys
from tests.store.factory import entry
from watcher.db import get_engine
from watcher.pipeline_writer import store_batch

[result] = store_batch(get_engine(sys.argv[1]), [("regione", [entry("a"), entry("b")])], wait=True)
print(getattr(result, "new", repr(result)))
"""


def test_a_process_whose_first_orm_work_is_storing_reads_its_new_rows(db_url: str) -> None:
    """New rows are built without the ORM constructor, which is what configures the mappers: a
    fresh process (a pool worker) whose first batch needs no ORM look-up (SQLite's batch hints say
    the source is empty) must still be able to read them."""
    done = subprocess.run(
        [sys.executable, "-c", FIRST_ORM_WORK, db_url],
        capture_output=True, text=True, timeout=120, cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["2"]
