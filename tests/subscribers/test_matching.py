"""Matching says why an item was or was not included, for every criterion."""

from __future__ import annotations

from datetime import UTC, datetime

from subscribers.matching import explain
from subscribers.models import Topic
from subscribers.preferences import PreferencesInput
from watcher.models import Item


def item(**values: object) -> Item:
    defaults: dict[str, object] = {
        "id": 1,
        "source_id": "s",
        "guid": "g",
        "url": "https://x.eu/1",
        "fingerprint": "f",
        "title": "Call for SMEs in digital health",
        "text": "Support for hospitals and clinics.",
        "kind": "call",
        "ecosystems": ["health", "digital"],
        "language": "en",
        "first_seen_at": datetime(2026, 11, 20, tzinfo=UTC),
    }
    defaults.update(values)
    return Item(**defaults)


def test_everything_by_default() -> None:
    match = explain(PreferencesInput(), item())
    assert match.included and "all ecosystems followed" in match.reasons


def test_ecosystem_matches_and_says_which() -> None:
    match = explain(PreferencesInput(ecosystems=["health"]), item())
    assert match.included and "ecosystem Health matches" in match.reasons


def test_ecosystem_not_followed() -> None:
    match = explain(PreferencesInput(ecosystems=["tourism"]), item())
    assert not match.included and "ecosystem Health, Digital not followed" in match.reasons


def test_item_without_ecosystem_is_explained() -> None:
    match = explain(PreferencesInput(ecosystems=["tourism"]), item(ecosystems=[]))
    assert not match.included and "item has no ecosystem" in match.reasons


def test_kind_not_followed() -> None:
    match = explain(PreferencesInput(kinds=["call", "news"]), item(kind="event"))
    assert not match.included and "kind event not followed" in match.reasons


def test_exclude_keyword_vetoes_with_accents_and_case_folded() -> None:
    match = explain(PreferencesInput(exclude_keywords=["tender"]), item(title="Open TENDER for clinics"))
    assert not match.included and match.reasons == ["excluded by keyword 'tender'"]
    match = explain(PreferencesInput(exclude_keywords=["universita"]), item(text="Bando per Università"))
    assert not match.included


def test_keywords_match_whole_words_only() -> None:
    prefs = PreferencesInput(include_keywords=["AI"])
    assert not explain(prefs, item(title="Fair trade", text="maintenance")).included
    match = explain(prefs, item(title="AI in hospitals"))
    assert match.included and "keyword 'AI' found" in match.reasons
    assert "none of the keywords found" in explain(prefs, item()).reasons


def test_regions_keep_eu_wide_items() -> None:
    prefs = PreferencesInput(regions=["Piemonte"], countries=["IT"])
    assert explain(prefs, item(region=None, country=None)).reasons[-1] == "EU-wide item (no region)"
    assert explain(prefs, item(region="piemonte", country="IT")).included
    assert explain(prefs, item(region="Lombardia", country="IT")).included  # country matches
    match = explain(prefs, item(region="Bayern", country="DE"))
    assert not match.included and "region Bayern not followed" in match.reasons


def test_programmes_and_languages() -> None:
    prefs = PreferencesInput(programmes=["Horizon Europe"], content_languages=["it"])
    assert not explain(prefs, item(programmes=["COSME"])).included
    match = explain(prefs, item(programmes=["horizon europe"], language="it"))
    assert match.included and "programme horizon europe matches" in match.reasons
    assert "language en not followed" in explain(prefs, item(programmes=["Horizon Europe"])).reasons


def test_hidden_and_mirrors_are_never_sent() -> None:
    assert explain(PreferencesInput(), item(hidden=True)).reasons == ["hidden by an editor"]
    match = explain(PreferencesInput(), item(story_id=5))
    assert not match.included and "primary" in match.reasons[0]


def test_topics_add_to_own_preferences() -> None:
    topic = Topic(
        id=3, name="Eurocluster calls — Health", filters={"ecosystems": ["health"], "kinds": ["call"]}
    )
    prefs = PreferencesInput(ecosystems=["tourism"])
    match = explain(prefs, item(), [topic])
    assert match.included and "topic 'Eurocluster calls — Health' matches" in match.reasons
    assert match.topics == ["Eurocluster calls — Health"]
    assert not explain(prefs, item(kind="news"), [topic]).included


def test_topics_instead_of_own_preferences() -> None:
    topic = Topic(id=3, name="Tourism", filters={"ecosystems": ["tourism"]})
    prefs = PreferencesInput(own_filters=False)
    assert not explain(prefs, item(), [topic]).included
    assert explain(prefs, item(ecosystems=["tourism"]), [topic]).included
    assert "no topic followed" in explain(prefs, item()).reasons[0]


def test_topic_exclude_keywords_veto_too() -> None:
    topic = Topic(id=4, name="No tenders", filters={"exclude_keywords": ["tender"]})
    assert not explain(PreferencesInput(), item(title="A tender"), [topic]).included


# --- the run index (CandidateSet) and explain must never disagree -----------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from subscribers.candidates import CandidateSet  # noqa: E402
from subscribers.matching import audience  # noqa: E402

SLUGS = ["health", "digital", "tourism", "textile"]
WORDS = ["hydrogen", "Università", "tender", "turismo", "SME", "data"]


@st.composite
def items(draw: st.DrawFn) -> list[Item]:
    found = []
    for n in range(draw(st.integers(1, 12))):
        found.append(item(
            id=n + 1,
            kind=draw(st.sampled_from(["call", "event", "news"])),
            ecosystems=draw(st.lists(st.sampled_from(SLUGS), max_size=2, unique=True)),
            title=" ".join(draw(st.lists(st.sampled_from(WORDS), max_size=3))),
            text=draw(st.sampled_from(["", "universita e imprese", "A TENDER for data"])),
            programmes=draw(st.lists(st.sampled_from(["Horizon Europe", "LIFE"]), max_size=1)),
            region=draw(st.sampled_from([None, "Piemonte", "Lombardia"])),
            country=draw(st.sampled_from([None, "IT", "fr"])),
            language=draw(st.sampled_from([None, "it", "en", "EN-gb"])),
            hidden=draw(st.booleans()) and draw(st.booleans()),
            story_id=draw(st.sampled_from([None, None, None, 99])),
        ))
    return found


def filters() -> st.SearchStrategy[dict[str, object]]:
    return st.fixed_dictionaries({}, optional={
        "ecosystems": st.lists(st.sampled_from(SLUGS), max_size=2, unique=True),
        "kinds": st.lists(st.sampled_from(["call", "event", "news"]), max_size=2, unique=True),
        "programmes": st.lists(st.sampled_from(["horizon europe", "LIFE"]), max_size=1),
        "regions": st.lists(st.sampled_from(["piemonte", "Lombardia"]), max_size=1),
        "countries": st.lists(st.sampled_from(["IT", "FR"]), max_size=1),
        "content_languages": st.lists(st.sampled_from(["it", "en"]), max_size=1),
        "include_keywords": st.lists(st.sampled_from(WORDS), max_size=2),
        "exclude_keywords": st.lists(st.sampled_from(WORDS), max_size=1),
    })


@settings(max_examples=120, deadline=None)
@given(items(), filters(), st.booleans(), st.lists(filters(), max_size=2))
def test_run_index_selects_exactly_what_explain_includes(
    found: list[Item], own: dict[str, object], own_filters: bool, topic_filters: list[dict[str, object]]
) -> None:
    prefs = PreferencesInput(own_filters=own_filters, **own)  # type: ignore[arg-type]
    topics = [Topic(id=n + 1, name=f"topic {n}", filters=f) for n, f in enumerate(topic_filters)]
    candidates = CandidateSet(found)
    selected = {one.id for one in candidates.items(candidates.selected(audience(prefs, topics)))}
    for one in found:
        assert (one.id in selected) == explain(prefs, one, topics).included, (one, prefs, topics)
