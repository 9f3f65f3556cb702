"""Fingerprints are stable under cosmetic changes and move when content moves; story keys link mirrors."""

from __future__ import annotations

import hashlib

import pytest

from watcher.normalize.fingerprint import content_fingerprint, fold, title_key
from watcher.normalize.story import story_key, topic_ids_in

TOPIC_URL = (
    "https://ec.europa.eu/info/funding-tenders/opportunities/portal/screen/opportunities/topic-details/"
)


def test_fingerprint_is_a_fixed_known_value() -> None:
    # Changing this value invalidates every stored fingerprint: all items would look updated once.
    assert content_fingerprint("Title", "Body") == hashlib.sha256(b"title\nbody").hexdigest()


@pytest.mark.parametrize(
    ("title", "text"),
    [
        ("title", "body"),
        ("  Title ", "Body"),
        ("TITLE", "body   "),
        ("Title", "\tBody\n"),
    ],
)
def test_fingerprint_ignores_case_and_whitespace(title: str, text: str) -> None:
    assert content_fingerprint(title, text) == content_fingerprint("Title", "Body")


def test_fingerprint_ignores_unicode_composition() -> None:
    assert content_fingerprint("Caffe\u0300", "x") == content_fingerprint("Caffè", "x")


@pytest.mark.parametrize(("title", "text"), [("Title", "Body!"), ("Title 2", "Body"), ("TitleBody", "")])
def test_fingerprint_changes_with_content(title: str, text: str) -> None:
    assert content_fingerprint(title, text) != content_fingerprint("Title", "Body")


def test_fold() -> None:
    assert fold("Città, «Bando» PMI—2025!") == "citta bando pmi 2025"


def test_title_key_matches_across_spelling_variants() -> None:
    a = title_key("Bando per la digitalizzazione delle PMI turistiche piemontesi e valdostane")
    b = title_key("BANDO: digitalizzazione PMI turistiche piemontesi e valdostane!")
    assert a is not None and a == b


@pytest.mark.parametrize("title", ["Newsletter", "Open call", "Bando 2025", "Info day on AI"])
def test_title_key_is_none_for_short_titles(title: str) -> None:
    assert title_key(title) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Topic HORIZON-CL4-2025-04-DATA-03 opens", {"HORIZON-CL4-2025-04-DATA-03"}),
        ("SMP-COSME-2025-CLUSTER-01.", {"SMP-COSME-2025-CLUSTER-01"}),
        ("(HORIZON-JU-CHIPS-2025-IA-LEAI-two-stage)", {"HORIZON-JU-CHIPS-2025-IA-LEAI-TWO-STAGE"}),
        ("I3-2025-INV1-01 and EU4H-2025-PJ-02", {"I3-2025-INV1-01", "EU4H-2025-PJ-02"}),
        ("ISO-9001-2015 certified, COVID-19 rules, 2025-03-12", set()),
        ("lower-case-2025-words", set()),
    ],
)
def test_topic_ids_in_text(text: str, expected: set[str]) -> None:
    assert topic_ids_in(text) == expected


def _key(**overrides: str | None) -> str | None:
    fields: dict[str, str | None] = {
        "identifier": None,
        "url": "https://x.eu/news/1",
        "title": "Short",
        "text": "",
        "content_html": "",
    }
    fields.update(overrides)
    return story_key(
        identifier=fields["identifier"],
        url=fields["url"] or "",
        title=fields["title"] or "",
        text=fields["text"] or "",
        content_html=fields["content_html"] or "",
    )


def test_story_key_from_identifier_url_or_text_is_the_same() -> None:
    expected = "topic:HORIZON-CL4-2025-04-DATA-03"
    assert _key(identifier="HORIZON-CL4-2025-04-DATA-03") == expected
    assert _key(url=TOPIC_URL + "horizon-cl4-2025-04-data-03") == expected
    assert _key(text="Apply to HORIZON-CL4-2025-04-DATA-03 by May.") == expected
    assert _key(content_html=f'<a href="{TOPIC_URL}HORIZON-CL4-2025-04-DATA-03">portal</a>') == expected


def test_text_naming_several_topics_links_nothing() -> None:
    assert _key(text="HORIZON-CL4-2025-04-DATA-03 and HORIZON-CL4-2025-04-DATA-04") is None


def test_regional_identifier_is_not_a_cross_source_key() -> None:
    assert _key(identifier="12345") is None


def test_story_key_from_linked_call_page() -> None:
    page = "https://ec.europa.eu/info/funding-tenders/opportunities/portal/screen/opportunities/competitive-calls-cs/4321"
    html = f'<p>See <a href="{page}?utm_source=x">the call</a> and <a href="https://x.eu/">home</a></p>'
    assert _key(content_html=html) == "url:" + page
    assert _key(url=page) == "url:" + page


def test_story_key_falls_back_to_distinctive_title() -> None:
    key = _key(title="Voucher per la transizione digitale delle imprese artigiane lombarde")
    assert key is not None and key.startswith("title:")
