"""Digest content: grouped by kind then ecosystem, closing soon, updates, notes, and a telling subject."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from subscribers.digest import build_digest, preview, render_digest, since_of
from subscribers.digest_run import DigestRun
from subscribers.schedule import latest_period, local_today
from tests.subscribers.factories import day, html_of, make_item, make_subscriber
from watcher.models import ItemEvent
from watcher.settings import get_settings

NOW = datetime(2026, 11, 23, 7, 5, tzinfo=UTC)  # Monday 23 Nov 2026, 08:05 in Rome
NEW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
OLD = datetime(2026, 10, 1, tzinfo=UTC)


def seed(session: Session) -> None:
    make_item(
        session, title="Health call A", ecosystems=["health"], deadline=day("2026-11-28"), first_seen_at=NEW
    )
    make_item(
        session,
        title="Health call B",
        ecosystems=["health", "digital"],
        deadline=day("2026-12-20"),
        first_seen_at=NEW,
    )
    make_item(session, title="Health call C", ecosystems=["health"], deadline=None, first_seen_at=NEW)
    make_item(session, title="Tourism call", ecosystems=["tourism"], first_seen_at=NEW)
    make_item(
        session,
        title="Info day on health",
        kind="event",
        ecosystems=["health"],
        event_date=day("2026-12-03"),
        first_seen_at=NEW,
    )
    make_item(session, title="Mirror of call A", ecosystems=["health"], story_id=1, first_seen_at=NEW)
    make_item(session, title="Hidden call", ecosystems=["health"], hidden=True, first_seen_at=NEW)
    make_item(
        session,
        title="Old call closing",
        ecosystems=["health"],
        deadline=day("2026-12-01"),
        first_seen_at=OLD,
    )
    extended = make_item(
        session, title="Extended call", ecosystems=["health"], deadline=day("2027-01-15"), first_seen_at=OLD
    )
    session.add(
        ItemEvent(
            item_id=extended.id or 0,
            kind="deadline_changed",
            old_value="2026-12-10",
            new_value="2027-01-15",
            at=NEW,
        )
    )
    make_item(
        session,
        title="Pinned news",
        kind="news",
        ecosystems=["health"],
        pinned=True,
        editor_note="Worth a look for hospitals.",
        first_seen_at=OLD,
        updated_at=NEW,
    )
    session.commit()


def test_digest_groups_and_subject_in_english(engine: Engine) -> None:
    with Session(engine) as session:
        seed(session)
        subscriber = make_subscriber(session, ecosystems=["health"], name="Anna")
        digest = build_digest(session, subscriber, now=NOW)
        assert digest is not None
        assert [k.kind for k in digest.kinds] == ["call", "event"]
        calls = digest.kinds[0]
        assert [g.title for g in calls.groups] == ["Health"]
        assert [i["title"] for i in calls.groups[0].items] == [
            "Health call A",
            "Health call B",
            "Health call C",
        ]
        assert [i["title"] for i in digest.closing_soon] == ["Health call A", "Old call closing"]
        assert [u.item["title"] for u in digest.updates] == ["Extended call"]
        assert digest.updates[0].text == "Deadline changed: 10 Dec 2026 → 15 Jan 2027"
        assert [i["title"] for i in digest.editor_notes] == ["Pinned news"]
        assert (
            digest.subject
            == "3 new calls in Health, 1 new event in Health · 2 close within 8 days · 1 update"
        )
        message = render_digest(digest, subscriber).as_email()
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert "Hello Anna," in text and "Mirror of call A" not in text and "Hidden call" not in text
    assert text.index("== Calls ==") < text.index("== Events ==") < text.index("== Closing soon ==")
    assert "Worth a look for hospitals." in text and "/calendar/item/" in text
    assert 'style="' in html and "<style" not in html.split("<body")[1]  # CSS inlined
    assert "/calendar/item/" in html and "/google?lang=en" in html  # our redirect to Google Calendar
    assert "/u/" in html and "/preferences/" in html


def test_digest_in_italian_and_one_closing(engine: Engine) -> None:
    with Session(engine) as session:
        make_item(
            session,
            title="Bando salute",
            ecosystems=["health"],
            deadline=day("2026-11-28"),
            first_seen_at=NEW,
        )
        make_item(session, title="Bando salute 2", ecosystems=["health"], first_seen_at=NEW)
        make_item(session, title="Bando salute 3", ecosystems=["health"], first_seen_at=NEW)
        subscriber = make_subscriber(session, language="it", ecosystems=["health"])
        digest = build_digest(session, subscriber, now=NOW)
        assert digest is not None
        assert digest.subject == "3 nuovi bandi (Salute) · 1 scade tra 5 giorni"
        assert [k.title for k in digest.kinds] == ["Bandi"]
        message = render_digest(digest, subscriber).as_email()
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Buongiorno," in text and "Scadenza: 28 nov 2026" in text and "Annulla l'iscrizione" in text


def test_several_ecosystems_are_grouped_and_subject_has_no_single_ecosystem(engine: Engine) -> None:
    with Session(engine) as session:
        make_item(session, title="D", ecosystems=["digital"], first_seen_at=NEW)
        make_item(session, title="H", ecosystems=["health"], first_seen_at=NEW)
        make_item(session, title="X", ecosystems=[], first_seen_at=NEW)
        subscriber = make_subscriber(session)
        digest = build_digest(session, subscriber, now=NOW)
        assert digest is not None
        assert [g.title for g in digest.kinds[0].groups] == ["Digital", "Health", "Other"]
        assert digest.subject == "3 new calls"


def test_nothing_new_means_no_digest_unless_configured(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Session(engine) as session:
        make_item(session, title="Tourism", ecosystems=["tourism"], first_seen_at=NEW)
        make_item(session, title="Old", ecosystems=["health"], first_seen_at=OLD)
        subscriber = make_subscriber(session, ecosystems=["health"])
        assert build_digest(session, subscriber, now=NOW) is None
        monkeypatch.setenv("WATCHER_SEND_EMPTY_DIGEST", "true")
        get_settings.cache_clear()
        digest = build_digest(session, subscriber, now=NOW)
        assert digest is not None and digest.is_empty and digest.subject == "Nothing new this week"


def test_new_since_last_digest_only(engine: Engine) -> None:
    with Session(engine) as session:
        make_item(session, title="Before", first_seen_at=datetime(2026, 11, 18, tzinfo=UTC))
        make_item(session, title="After", first_seen_at=datetime(2026, 11, 21, tzinfo=UTC))
        subscriber = make_subscriber(session)
        subscriber.last_digest_at = datetime(2026, 11, 19, tzinfo=UTC)
        digest = build_digest(session, subscriber, now=NOW)
        assert digest is not None
        assert [i["title"] for g in digest.kinds[0].groups for i in g.items] == ["After"]


def test_preview_never_sends(engine: Engine) -> None:
    with Session(engine) as session:
        subscriber = make_subscriber(session, "Preview@Example.org")
        subject, text, html = preview(session, "preview@example.org", NOW)
        assert subject == "Nothing new this week" and "Nothing new this time." in text and "<html" in html
        with pytest.raises(LookupError):
            preview(session, "nobody@example.org", NOW)
        assert subscriber.last_digest_key is None


def test_calls_already_closed_are_not_news(engine: Engine) -> None:
    """A source seen for the first time may list years of closed calls: nobody can apply to them."""
    with Session(engine) as session:
        make_item(session, title="Closed last year", deadline=day("2025-10-01"), first_seen_at=NEW)
        make_item(session, title="Closes next month", deadline=day("2026-12-15"), first_seen_at=NEW)
        make_item(session, title="A report", kind="news", deadline=day("2025-10-01"), first_seen_at=NEW)
        subscriber = make_subscriber(session)
        digest = build_digest(session, subscriber, now=NOW)
        assert digest is not None
        titles = {i["title"] for section in digest.kinds for g in section.groups for i in g.items}
        assert titles == {"Closes next month", "A report"}


def _many_items(session: Session, count: int) -> None:
    slugs = ["health", "digital", "tourism", "textile", "agri-food", "mobility"]
    for n in range(count):
        make_item(
            session,
            title=f"Bando per l'innovazione delle imprese numero {n} " + "con un titolo lungo " * 3,
            text="Contributi a fondo perduto per progetti di ricerca e sviluppo sperimentale. " * 20,
            kind=("call", "event", "news")[n % 3],
            ecosystems=[slugs[n // 3 % len(slugs)], slugs[(n // 3 + 1) % len(slugs)]],
            deadline=day("2026-11-30") if n % 3 == 0 else None,
            event_date=day("2026-12-10") if n % 3 == 1 else None,
            first_seen_at=NEW,
        )


def test_a_digest_with_many_items_stays_compact_and_links_the_rest(engine: Engine) -> None:
    """300 matching items: caps per group and section, the rest counted with archive links, < 90 KiB."""
    with Session(engine) as session:
        _many_items(session, 300)
        subscriber = make_subscriber(session, language="it", name="Giulia")
        digest = build_digest(session, subscriber, now=NOW)
        assert digest is not None
        settings = get_settings()
        for section in digest.kinds:
            shown = sum(len(g.items) for g in section.groups)
            assert section.count == 100 and shown == settings.digest_max_items
            assert all(len(g.items) <= settings.digest_group_items for g in section.groups)
            assert shown + section.more == section.count
        assert len(digest.closing_soon) == settings.digest_max_items and digest.closing_more == 100 - 12
        assert digest.subject.startswith("100 nuovi bandi")
        outgoing = render_digest(digest, subscriber)
    raw, message = outgoing.raw, outgoing.as_email()
    assert len(raw) < 90 * 1024, len(raw)
    html = message.get_body(preferencelist=("html",))
    assert html is not None and html["Content-Transfer-Encoding"] == "7bit"
    html_text = html.get_content()  # type: ignore[attr-defined]
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert len(html_text.encode()) < 70 * 1024  # far below Gmail's 102 KB clipping
    assert "/?kind=call&amp;ecosystem=health" in html_text and "/?kind=news&amp;ecosystem=" in html_text
    assert "/?kind=call&status=closing" in text and "…e altri" in text
    assert "Buongiorno Giulia," in text and message["List-Unsubscribe"]
    assert "Contributi a fondo perduto" in text and "…" in text  # summaries shortened
    summary_line = next(line for line in text.splitlines() if "Contributi a fondo perduto" in line)
    assert len(summary_line.strip()) <= get_settings().digest_summary_chars


def test_digest_job_queries_do_not_grow_with_subscribers(engine: Engine) -> None:
    """One run loads candidates, topics and queued keys once; per batch only writes are added."""
    from sqlalchemy import event

    from subscribers.digest import send_due_digests

    def selects_for(count: int, start: int) -> int:
        with Session(engine) as session:
            for n in range(count):
                make_subscriber(session, f"reader{start + n}@example.org", ecosystems=["health"])
        seen: list[str] = []

        def record(conn: object, cursor: object, statement: str, *args: object) -> None:
            if statement.lstrip().upper().startswith("SELECT"):
                seen.append(statement)

        event.listen(engine, "before_cursor_execute", record)
        try:
            report = send_due_digests(engine, now=NOW, force_all=True)
        finally:
            event.remove(engine, "before_cursor_execute", record)
        assert report.queued == count and report.errors == 0
        return len(seen)

    with Session(engine) as session:
        _many_items(session, 30)
    assert selects_for(2, 0) == selects_for(12, 100)


def _without_tokens(html: str) -> str:
    """Signed links carry a timestamp; two renders a second apart differ only there."""
    return re.sub(r"/(u|preferences)/[\w.-]+", r"/\1/TOKEN", html)


@pytest.mark.parametrize("language", ["en", "it"])
def test_blocks_inlined_once_give_the_same_html_as_inlining_each_digest_whole(
    engine: Engine, language: str
) -> None:
    with Session(engine) as session:
        seed(session)
        make_item(session, title="Bando «Università & PMI» <2027> — ça va", ecosystems=["health"],
                  deadline=day("2026-12-02"), first_seen_at=NEW, text="Città, qualità: più è meglio. " * 30)
        subscriber = make_subscriber(session, language=language, ecosystems=["health"], name="Zoë")
        period = latest_period(subscriber, NOW)
        since, today = since_of(subscriber, period), local_today(subscriber, NOW)
        html = {}
        for shared_blocks in (True, False):
            run = DigestRun(session, now=NOW, since=since, days=[today])
            if not shared_blocks:
                run.fragments = None  # the old way: every digest inlined whole, blocks included
            digest = build_digest(session, subscriber, now=NOW, period=period, run=run)
            assert digest is not None
            html[shared_blocks] = html_of(render_digest(digest, subscriber).as_email())
    assert "<!--cw-fragment" not in html[True] and "&#" in html[True] and 'style="' in html[True]
    assert _without_tokens(html[True]) == _without_tokens(html[False])
