"""One call published by the portal, a regional site and a cluster site is one story with mirrors."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from tests.store.factory import PORTAL, entry, rows, store

TOPIC = "SMP-COSME-2025-CLUSTER-01"


def _by_source(engine: Engine) -> dict[str, tuple[int | None, int | None, str | None]]:
    return {row.source_id: (row.id, row.story_id, row.story_key) for row in rows(engine)}


def test_three_sources_one_story_portal_primary(engine: Engine) -> None:
    store(
        engine,
        [
            entry(
                "r1",
                source_id="regione-piemonte",
                title="Bando cluster europei",
                html=f"<p>Il topic {TOPIC} scade a maggio.</p>",
            )
        ],
    )
    store(
        engine,
        [
            entry(
                "c1",
                source_id="eccp-news",
                title="Eurocluster call open",
                html=f'<p>Apply <a href="{PORTAL}{TOPIC}?utm_source=eccp">here</a></p>',
            )
        ],
    )
    store(
        engine,
        [
            entry(
                TOPIC,
                source_id="ftportal",
                identifier=TOPIC,
                url=PORTAL + TOPIC,
                title="Joint Cluster Initiatives (Euroclusters)",
            )
        ],
    )
    found = _by_source(engine)
    assert len(found) == 3
    portal_id = found["ftportal"][0]
    assert found["ftportal"][1] is None
    assert found["regione-piemonte"][1] == portal_id
    assert found["eccp-news"][1] == portal_id
    assert {key for _, _, key in found.values()} == {f"topic:{TOPIC}"}


def test_without_the_portal_the_first_seen_is_primary(engine: Engine) -> None:
    store(engine, [entry("r1", source_id="regione", html=f"<p>{TOPIC}</p>")])
    store(engine, [entry("c1", source_id="cluster", html=f"<p>{TOPIC}</p>")])
    store(engine, [entry("a1", source_id="arter", html=f"<p>{TOPIC}</p>")])
    found = _by_source(engine)
    first = found["regione"][0]
    assert (found["regione"][1], found["cluster"][1], found["arter"][1]) == (None, first, first)


def test_same_key_within_one_source_is_not_linked(engine: Engine) -> None:
    store(engine, [entry("a", html=f"<p>{TOPIC}</p>"), entry("b", html=f"<p>{TOPIC} bis</p>")])
    assert [row.story_id for row in rows(engine)] == [None, None]


def test_distinctive_titles_link_and_short_ones_do_not(engine: Engine) -> None:
    long_title = "Voucher per la transizione digitale delle imprese artigiane lombarde 2025"
    store(
        engine,
        [
            entry("a", source_id="lombardia", title=long_title, html="<p>a</p>"),
            entry("n1", source_id="lombardia", title="Newsletter", html="<p>a</p>"),
        ],
    )
    store(
        engine,
        [
            entry("b", source_id="unioncamere", title=long_title.upper() + "!", html="<p>b</p>"),
            entry("n2", source_id="unioncamere", title="Newsletter", html="<p>b</p>"),
        ],
    )
    by_guid = {row.guid: row for row in rows(engine)}
    assert by_guid["b"].story_id == by_guid["a"].id
    assert by_guid["n2"].story_id is None


def test_story_key_that_appears_later_links_on_update(engine: Engine) -> None:
    store(engine, [entry(TOPIC, source_id="ftportal", identifier=TOPIC, url=PORTAL + TOPIC)])
    store(engine, [entry("r1", source_id="regione", html="<p>Details soon</p>")])
    assert rows(engine)[1].story_id is None
    report = store(engine, [entry("r1", source_id="regione", html=f"<p>Details: {TOPIC}</p>")])
    assert report.updated == 1
    portal, regional = rows(engine)
    assert regional.story_id == portal.id


def test_a_batch_that_builds_no_events_links_its_new_items_the_same(engine: Engine) -> None:
    """A round whose events nobody receives builds no item rows for new items; linking reads the
    inserted ids and keys instead, and the mirrors end up exactly as with events."""
    from sqlmodel import Session

    from tests.store.factory import NOW
    from watcher.store import store_items

    store(engine, [entry("r1", source_id="regione", html=f"<p>{TOPIC}</p>")])
    with Session(engine, expire_on_commit=False) as session:
        quiet = [entry("c1", source_id="cluster", html=f"<p>{TOPIC}</p>"), entry("c2", source_id="cluster")]
        report = store_items(session, source_id="cluster", items=quiet, now=NOW, events=False)
        session.commit()
    found = {row.guid: row for row in rows(engine)}
    assert (report.new, report.updated, report.events) == (2, 0, [])
    assert report.item_ids == [found["c1"].id, found["c2"].id]
    assert found["c1"].story_id == found["r1"].id and found["r1"].story_id is None
    assert found["c2"].story_id is None
