"""Does an item belong in a subscriber's mail, and why (or why not)?

The rules live here once. An item is reduced to ``ItemFacts`` (folded text and one set of values per
criterion) and a filter to a ``CompiledFilter`` (one wanted set per criterion); a criterion passes
when the filter wants nothing or the item's values meet ``wanted | {ANY}`` (``ANY`` marks an
EU-wide item for the place criterion and an item of unknown language for the language criterion).
``explain`` applies these rules to one item and says why, for the web "why did I get this" page;
``subscribers.candidates`` applies the very same facts and wanted sets to a whole run at once.

Semantics: hidden items and mirrors (``story_id`` set) are never sent. Exclude keywords veto.
Otherwise the item is included when the subscriber's own filters all pass (if they use them) or any
followed topic's filters all pass. Empty criteria mean "everything" and say so.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from subscribers.models import Subscriber, Topic
from subscribers.preferences import PreferencesInput, TopicFilter, ecosystem_name, preferences_of
from watcher.models import Item

ANY = "*"
CRITERIA = ("kind", "ecosystem", "programme", "place", "language")


@dataclass(slots=True)
class Match:
    """The verdict for one (subscriber, item) and the human-readable reasons behind it."""

    included: bool
    reasons: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.included


def fold(text: str) -> str:
    """Case- and accent-insensitive form used for keyword matching ("Università" ~ "universita")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=4096)
def _keyword_pattern(keyword: str) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)" + re.escape(fold(keyword)) + r"(?!\w)")


def keyword_in(keyword: str, folded_text: str) -> bool:
    """The one keyword rule: a whole-word, case- and accent-insensitive occurrence."""
    return _keyword_pattern(keyword).search(folded_text) is not None


def find_keyword(keywords: Sequence[str], folded_text: str) -> str | None:
    for keyword in keywords:
        if keyword_in(keyword, folded_text):
            return keyword
    return None


@dataclass(frozen=True, slots=True)
class ItemFacts:
    """What matching reads of an item, computed once per item and run (folding is the costly part)."""

    item: Item
    folded: str
    values: dict[str, frozenset[str]]
    visible: bool


def item_facts(item: Item) -> ItemFacts:
    folded = fold(f"{item.title}\n{item.text}\n{' '.join(item.tags or [])}")
    place: set[str] = set()
    if item.region:
        place.add("region:" + fold(item.region))
    if item.country:
        place.add("country:" + item.country.upper())
    values = {
        "kind": frozenset([item.kind]),
        "ecosystem": frozenset(item.ecosystems or []),
        "programme": frozenset(fold(p) for p in item.programmes or []),
        "place": frozenset(place or [ANY]),
        "language": frozenset([item.language.lower()[:2] if item.language else ANY]),
    }
    return ItemFacts(item, folded, values, not item.hidden and item.story_id is None)


@dataclass(frozen=True, slots=True)
class CompiledFilter:
    """A ``TopicFilter`` as wanted sets per criterion (hashable: runs cache their masks by it)."""

    wanted: tuple[tuple[str, frozenset[str]], ...]
    include: tuple[str, ...]
    exclude: tuple[str, ...]

    def passes(self, facts: ItemFacts) -> bool:
        return all(criterion_passes(wanted, facts.values[name]) for name, wanted in self.wanted) and (
            not self.include or find_keyword(self.include, facts.folded) is not None
        )


def criterion_passes(wanted: frozenset[str], values: frozenset[str]) -> bool:
    """The criterion rule: nothing wanted, or the item's values meet ``wanted | {ANY}``."""
    return not wanted or ANY in values or not values.isdisjoint(wanted)


FilterKey = tuple[tuple[str, ...], ...]
SELECTION_FIELDS = tuple(TopicFilter.model_fields)


@lru_cache(maxsize=8192)
def _compiled(key: FilterKey) -> CompiledFilter:
    flt = TopicFilter.model_validate(dict(zip(SELECTION_FIELDS, key, strict=True)))
    wanted = {
        "kind": frozenset(flt.kinds),
        "ecosystem": frozenset(flt.ecosystems),
        "programme": frozenset(fold(p) for p in flt.programmes),
        "place": frozenset(
            [*("region:" + fold(r) for r in flt.regions), *("country:" + c for c in flt.countries)]
        ),
        "language": frozenset(flt.content_languages),
    }
    return CompiledFilter(
        tuple((name, wanted[name]) for name in CRITERIA if wanted[name]),
        tuple(flt.include_keywords),
        tuple(flt.exclude_keywords),
    )


def compile_filter(flt: TopicFilter) -> CompiledFilter:
    """Only the selection part counts, so subscribers with equal filters share one compiled filter."""
    return _compiled(tuple(tuple(getattr(flt, name)) for name in SELECTION_FIELDS))


@dataclass(frozen=True, slots=True)
class Audience:
    """One subscriber's selection: own filter (None when switched off), followed topics, vetoes."""

    own: CompiledFilter | None
    topics: tuple[tuple[str, CompiledFilter], ...]
    vetoes: tuple[str, ...]

    def includes(self, facts: ItemFacts) -> bool:
        if not facts.visible or find_keyword(self.vetoes, facts.folded):
            return False
        return (self.own is not None and self.own.passes(facts)) or any(
            flt.passes(facts) for _, flt in self.topics
        )


def audience(prefs: PreferencesInput, topics: Sequence[Topic] = ()) -> Audience:
    compiled = [(t.name, compile_filter(topic_filter(t))) for t in topics]
    own = compile_filter(prefs) if prefs.own_filters else None
    vetoes = [*prefs.exclude_keywords, *(k for _, flt in compiled for k in flt.exclude)]
    return Audience(own, tuple(compiled), tuple(dict.fromkeys(vetoes)))


def topic_filter(topic: Topic) -> TopicFilter:
    return TopicFilter.model_validate(topic.filters or {})


# --- reasons (for people; the verdict itself comes from the rules above) ---------------------------


def _reasons(flt: TopicFilter, item: Item, facts: ItemFacts) -> tuple[bool, list[str]]:
    compiled = dict(compile_filter(flt).wanted)
    verdicts = {
        name: criterion_passes(compiled.get(name, frozenset()), facts.values[name]) for name in CRITERIA
    }
    texts = [
        _kind_reason(flt, item, verdicts["kind"]),
        _ecosystem_reason(flt, item, verdicts["ecosystem"]),
        _programme_reason(flt, item, verdicts["programme"]),
        _place_reason(flt, item, verdicts["place"]),
        _language_reason(flt, item, verdicts["language"]),
    ]
    found = find_keyword(flt.include_keywords, facts.folded) if flt.include_keywords else None
    if flt.include_keywords:
        texts.append(f"keyword '{found}' found" if found else "none of the keywords found")
    ok = all(verdicts.values()) and (not flt.include_keywords or found is not None)
    return ok, [text for text in texts if text]


def _kind_reason(flt: TopicFilter, item: Item, ok: bool) -> str:
    if not flt.kinds:
        return ""
    return f"kind {item.kind} followed" if ok else f"kind {item.kind} not followed"


def _ecosystem_reason(flt: TopicFilter, item: Item, ok: bool) -> str:
    if not flt.ecosystems:
        return "all ecosystems followed"
    if ok:
        common = [slug for slug in item.ecosystems or [] if slug in flt.ecosystems]
        return f"ecosystem {', '.join(ecosystem_name(s) for s in common)} matches"
    if not item.ecosystems:
        return "item has no ecosystem"
    return f"ecosystem {', '.join(ecosystem_name(s) for s in item.ecosystems)} not followed"


def _programme_reason(flt: TopicFilter, item: Item, ok: bool) -> str:
    if not flt.programmes:
        return ""
    if ok:
        wanted = {fold(p) for p in flt.programmes}
        return f"programme {', '.join(p for p in item.programmes or [] if fold(p) in wanted)} matches"
    return f"programme {', '.join(item.programmes or []) or 'unknown'} not followed"


def _place_reason(flt: TopicFilter, item: Item, ok: bool) -> str:
    if not flt.regions and not flt.countries:
        return ""
    if not item.region and not item.country:
        return "EU-wide item (no region)"
    if not ok:
        return f"region {item.region or item.country} not followed"
    if item.region and fold(item.region) in {fold(r) for r in flt.regions}:
        return f"region {item.region} matches"
    return f"country {(item.country or '').upper()} matches"


def _language_reason(flt: TopicFilter, item: Item, ok: bool) -> str:
    if not flt.content_languages or not item.language:
        return ""
    return f"language {item.language} matches" if ok else f"language {item.language} not followed"


def explain(
    subscriber_or_prefs: Subscriber | PreferencesInput,
    item: Item,
    topics: Sequence[Topic] = (),
    *,
    facts: ItemFacts | None = None,
) -> Match:
    """Whether ``item`` goes to this subscriber, with reasons ("ecosystem Health matches", ...).

    ``topics`` are the topics the subscriber follows (callers load them once per subscriber);
    ``facts`` the item's precomputed facts when the caller has them.
    """
    prefs = (
        subscriber_or_prefs
        if isinstance(subscriber_or_prefs, PreferencesInput)
        else preferences_of(subscriber_or_prefs)
    )
    if item.hidden:
        return Match(False, ["hidden by an editor"])
    if item.story_id is not None:
        return Match(False, [f"mirror of item {item.story_id}; the primary is sent instead"])
    facts = facts or item_facts(item)
    found = find_keyword(audience(prefs, topics).vetoes, facts.folded)
    if found:
        return Match(False, [f"excluded by keyword '{found}'"])
    return _combine(prefs, item, facts, topics)


def _combine(prefs: PreferencesInput, item: Item, facts: ItemFacts, topics: Sequence[Topic]) -> Match:
    reasons: list[str] = []
    included = False
    if prefs.own_filters:
        included, own = _reasons(prefs, item, facts)
        reasons.extend(own)
    elif not topics:
        reasons.append("own preferences switched off and no topic followed")
    matched_topics: list[str] = []
    for topic in topics:
        ok, why = _reasons(topic_filter(topic), item, facts)
        if ok:
            matched_topics.append(topic.name)
            reasons.append(f"topic '{topic.name}' matches")
        elif not prefs.own_filters:
            reasons.append(f"topic '{topic.name}': {'; '.join(r for r in why if 'not' in r or 'no' in r)}")
    return Match(included or bool(matched_topics), reasons, matched_topics)


def matching_items(
    subscriber: Subscriber, items: Sequence[Item], topics: Sequence[Topic] = ()
) -> list[Item]:
    """The items of ``items`` that go to ``subscriber`` (order kept)."""
    chosen = audience(preferences_of(subscriber), topics)
    return [item for item in items if chosen.includes(item_facts(item))]


def describe(match: Match) -> dict[str, Any]:
    return {"included": match.included, "reasons": list(match.reasons), "topics": list(match.topics)}
