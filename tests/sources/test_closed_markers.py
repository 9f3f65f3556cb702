"""Feeds that state an entry is over (Regione Piemonte's "Scaduto" / "Esito") drop those entries."""

from __future__ import annotations

from tests.conftest import DATA_DIR
from watcher.sources.config import SourceConfig
from watcher.sources.rss import parse_feed

PIEMONTE = (DATA_DIR / "fixtures" / "rss_bandi_regione_piemonte.xml").read_bytes()


def _source(**options: object) -> SourceConfig:
    return SourceConfig.model_validate(
        {
            "id": "piemonte",
            "name": "P",
            "url": "https://bandi.regione.piemonte.it/tutti/rss.xml",
            "type": "rss",
            "options": options,
        }
    )


def _states(drafts: list) -> list[str]:  # type: ignore[type-arg]
    return ["Aperto" if "Aperto" in d.html[:200] else "other" for d in drafts]


def test_entries_marked_closed_are_skipped() -> None:
    everything, _ = parse_feed(PIEMONTE, source=_source(), base_url="https://bandi.regione.piemonte.it/")
    open_only, warnings = parse_feed(
        PIEMONTE,
        source=_source(closed_markers=["Scaduto", "Esito"]),
        base_url="https://bandi.regione.piemonte.it/",
    )
    assert len(everything) == 10
    assert 0 < len(open_only) < len(everything)
    assert set(_states(open_only)) == {"Aperto"}
    assert not warnings


def test_include_closed_keeps_them() -> None:
    drafts, _ = parse_feed(
        PIEMONTE,
        source=_source(closed_markers=["Scaduto"], include_closed=True),
        base_url="https://bandi.regione.piemonte.it/",
    )
    assert len(drafts) == 10


def test_a_marker_inside_the_text_is_not_a_state() -> None:
    from watcher.sources.rss import _marked_closed

    assert _marked_closed("<i>Gare</i><br/><i>Scaduto</i><br/><p>x</p>", ["Scaduto"])
    assert not _marked_closed("<p>Il bando non è scaduto: domande fino a maggio.</p>", ["Scaduto"])
