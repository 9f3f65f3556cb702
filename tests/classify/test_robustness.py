"""Odd input never crashes the classifier (it runs on every ingested item)."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from watcher.classify import Classifier, Document

TOKENS = [*list("0123456789./-–: aeiostdlmrgnbcAEIOUXYZ'’°ºèàç\n"), "marzo", "March", " entro il ", "Bando"]
NOISE = st.lists(st.sampled_from(TOKENS), max_size=80).map("".join)


@settings(max_examples=150, deadline=None)
@given(title=NOISE, text=NOISE, identifier=st.none() | NOISE)
def test_any_text_classifies(classifier: Classifier, title: str, text: str, identifier: str | None) -> None:
    result = classifier.classify(
        Document(id="f", title=title, text=text, identifier=identifier, published=date(2024, 2, 29)),
        today=date(2024, 2, 29),
    )
    assert result.kind in {"call", "event", "news"}
    assert len(result.ecosystems) <= 4
    assert result.deadline is None or result.deadline == min(result.deadlines)


def test_impossible_dates_are_ignored(classifier: Classifier) -> None:
    doc = Document(
        id="x",
        title="Bando",
        text="Scadenza: 31/02/2024. Deadline: 30 February 2025.",
        published=date(2025, 1, 10),
    )
    assert classifier.classify(doc).deadlines == []
