"""normalize(): an adapter's draft becomes a clean, comparable item."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from watcher.drafts import ItemDraft
from watcher.normalize import GUID_MAX, normalize


def _draft(**overrides: object) -> ItemDraft:
    draft = ItemDraft(
        source_id="regione",
        guid="g-1",
        url="https://www.regione.it/bandi/x/?utm_source=rss",
        title="  Bando &amp; <b>voucher</b> ",
    )
    for name, value in overrides.items():
        setattr(draft, name, value)
    return draft


def test_normalize_cleans_every_field() -> None:
    item = normalize(
        _draft(
            html='<p>Scadenza <a href="doc.pdf" onclick="x">qui</a></p><script>x()</script>',
            published=datetime(2025, 3, 1, 10, 0, tzinfo=timezone(timedelta(hours=1))),
            deadlines=[date(2025, 6, 1), date(2025, 4, 1), date(2025, 6, 1)],
            identifier="  BANDO-77  ",
            extra={"region": "Piemonte"},
        )
    )
    assert item.url == "https://www.regione.it/bandi/x"
    assert item.title == "Bando & voucher"
    assert item.text == "Scadenza qui"
    assert item.content_html == (
        '<p>Scadenza <a href="https://www.regione.it/bandi/x/doc.pdf" '
        'rel="noopener noreferrer nofollow">qui</a></p>'
    )
    assert item.published == datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    assert item.deadlines == [date(2025, 4, 1), date(2025, 6, 1)]
    assert item.identifier == "BANDO-77"
    assert len(item.fingerprint) == 64
    assert item.extra == {"region": "Piemonte"}


def test_text_only_drafts_and_naive_dates() -> None:
    item = normalize(_draft(text="Caff&egrave; <i>e</i> cornetto", published=datetime(2025, 1, 1, 8, 0)))
    assert item.text == "Caffè e cornetto"
    assert item.content_html == ""
    assert item.published == datetime(2025, 1, 1, 8, 0, tzinfo=UTC)


def test_missing_or_huge_guid_still_fits() -> None:
    assert normalize(_draft(guid="  ")).guid == "https://www.regione.it/bandi/x"
    huge = normalize(_draft(guid="x" * 5000)).guid
    assert len(huge) <= GUID_MAX and huge == normalize(_draft(guid="x" * 5000)).guid


def test_same_content_different_markup_same_fingerprint() -> None:
    a = normalize(_draft(html="<p>Testo   del bando</p>"))
    b = normalize(_draft(html="<div>Testo del bando</div>"))
    assert a.fingerprint == b.fingerprint


def test_portal_item_gets_topic_story_key() -> None:
    item = normalize(
        _draft(
            source_id="ftportal",
            identifier="SMP-COSME-2025-CLUSTER-01",
            url="https://ec.europa.eu/info/funding-tenders/opportunities/portal/screen/opportunities/topic-details/"
            "SMP-COSME-2025-CLUSTER-01",
        )
    )
    assert item.story_key == "topic:SMP-COSME-2025-CLUSTER-01"
