"""The taxonomy file: the 14 ecosystems of DESIGN.md, names, vocabulary syntax, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from watcher.classify import TaxonomyError, load_taxonomy
from watcher.classify.matcher import Entry, PhraseMatcher, expand
from watcher.settings import Settings

SLUGS = {
    "aerospace-defence": "Aerospazio e difesa",
    "agri-food": "Agroalimentare",
    "construction": "Costruzioni",
    "cultural-creative": "Industrie culturali e creative",
    "digital": "Digitale",
    "electronics": "Elettronica",
    "energy-intensive": "Industrie ad alta intensità energetica",
    "renewables": "Energie rinnovabili",
    "health": "Salute",
    "mobility": "Mobilità – Trasporti – Automotive",
    "proximity-social": "Prossimità, economia sociale e sicurezza civile",
    "retail": "Commercio al dettaglio",
    "textile": "Tessile",
    "tourism": "Turismo",
}


def test_the_fourteen_ecosystems_with_names() -> None:
    taxonomy = load_taxonomy(Settings().ecosystems)
    assert taxonomy.slugs == list(SLUGS)
    for slug, italian in SLUGS.items():
        assert taxonomy.name(slug, "it") == italian
        assert taxonomy.name(slug, "en")
        assert taxonomy.name(slug, "xx") == taxonomy.name(slug, "en")
        assert taxonomy.description(slug)
    assert taxonomy.name("unknown") == "unknown"
    assert "horizon-europe" in taxonomy.programmes and "euroclusters" in taxonomy.tags


def test_term_syntax() -> None:
    assert expand("aerospazial[ei]") == ["aerospaziale", "aerospaziali"]
    matcher = PhraseMatcher(
        [
            ("aerospazial[ei]", Entry("eco", "a", 4, "aerospazial[ei]")),
            ("tessil*", Entry("eco", "t", 4, "tessil*")),
            ("agri-food", Entry("eco", "f", 4, "agri-food")),
            ("=EDF", Entry("programme", "edf", 1, "=EDF")),
            ("green and digital", Entry("neutral", "neutral", 0, "green and digital")),
            ("digital", Entry("eco", "d", 3, "digital")),
        ]
    )
    found = [
        (h.text, h.entries[0].key)
        for h in matcher.scan(
            "Imprese AEROSPAZIALI e tessili, agri food, the EDF (not edf), green and digital; digital"
        )
    ]
    assert found == [
        ("aerospaziali", "a"),
        ("tessili", "t"),
        ("agri food", "f"),
        ("green and digital", "neutral"),
        ("digital", "d"),
        ("EDF", "edf"),
    ]



def test_terms_match_whole_words_only_at_their_positions() -> None:
    """Both sides find a term at the text's start, after punctuation or an elision and at its end,
    never inside a word; positions are the term's own (the scan pads the text internally)."""
    matcher = PhraseMatcher(
        [
            ("energia", Entry("eco", "e", 4, "energia")),
            ("agroalimentare", Entry("eco", "f", 4, "agroalimentare")),
            ("=EIC", Entry("programme", "eic", 1, "=EIC")),
            ("=SME", Entry("label", "sme", 1, "=SME")),
        ]
    )
    text = "Energia (EIC) dell'agroalimentare; sinergia, EICs, xEIC, bioenergia, SME"
    found = [(h.start, h.text) for h in matcher.scan(text)]  # case-insensitive hits come lower-cased
    assert found == [(0, "energia"), (19, "agroalimentare"), (9, "EIC"), (text.rindex("SME"), "SME")]
    assert matcher.scan("EIC") and matcher.scan("energia") and not matcher.scan("")


def test_bad_files_fail_with_a_clear_message(tmp_path: Path) -> None:
    with pytest.raises(TaxonomyError, match="cannot read"):
        load_taxonomy(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("ecosystems: [\n", encoding="utf-8")
    with pytest.raises(TaxonomyError, match="not valid YAML"):
        load_taxonomy(bad)
    bad.write_text("ecosystems:\n  - slug: x\n    terms: {heavy: [a]}\n", encoding="utf-8")
    with pytest.raises(TaxonomyError, match="not a number"):
        load_taxonomy(bad)
    bad.write_text("ecosystems:\n  - slug: x\n    terms:\n      3: [a]\n      3: [b]\n", encoding="utf-8")
    with pytest.raises(TaxonomyError, match="duplicate key 3"):
        load_taxonomy(bad)
    bad.write_text("ecosystems:\n  - slug: x\n    identifiers: {5: ['(']}\n", encoding="utf-8")
    with pytest.raises(TaxonomyError, match="bad regex"):
        load_taxonomy(bad)
