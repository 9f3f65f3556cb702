"""Does an item belong in a subscriber's mail, and why (or why not)?

One function, ``explain``, is used by digests, alerts, reminders and the web "why did I get this"
page, so what we send and what we say about it can never disagree. Every criterion adds a reason;
empty criteria mean "everything" and say so.

Semantics: hidden items and mirrors (``story_id`` set) are never sent. Exclude keywords veto.
Otherwise the item is included when the subscriber's own filters all pass (if they use them) or any
followed topic's filters all pass. Items with no region/country are EU-wide and pass a region
filter; items of unknown language pass a language filter.
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


def find_keyword(keywords: Sequence[str], folded_text: str) -> str | None:
    for keyword in keywords:
        if _keyword_pattern(keyword).search(folded_text):
            return keyword
    return None


def _item_text(item: Item) -> str:
    return fold(f"{item.title}\n{item.text}\n{' '.join(item.tags or [])}")


def _check_filter(flt: TopicFilter, item: Item, folded: str) -> tuple[bool, list[str]]:
    """All criteria of one filter; returns (passes, reasons)."""
    checks = [
        _check_kind(flt, item),
        _check_ecosystems(flt, item),
        _check_programmes(flt, item),
        _check_place(flt, item),
        _check_language(flt, item),
        _check_include(flt, folded),
    ]
    return all(ok for ok, _ in checks), [reason for _, reason in checks if reason]


def _check_kind(flt: TopicFilter, item: Item) -> tuple[bool, str]:
    if not flt.kinds:
        return True, ""
    if item.kind in flt.kinds:
        return True, f"kind {item.kind} followed"
    return False, f"kind {item.kind} not followed"


def _check_ecosystems(flt: TopicFilter, item: Item) -> tuple[bool, str]:
    if not flt.ecosystems:
        return True, "all ecosystems followed"
    common = [slug for slug in item.ecosystems or [] if slug in flt.ecosystems]
    if common:
        return True, f"ecosystem {', '.join(ecosystem_name(s) for s in common)} matches"
    if not item.ecosystems:
        return False, "item has no ecosystem"
    names = ", ".join(ecosystem_name(s) for s in item.ecosystems)
    return False, f"ecosystem {names} not followed"


def _check_programmes(flt: TopicFilter, item: Item) -> tuple[bool, str]:
    if not flt.programmes:
        return True, ""
    wanted = {fold(p) for p in flt.programmes}
    common = [p for p in item.programmes or [] if fold(p) in wanted]
    if common:
        return True, f"programme {', '.join(common)} matches"
    return False, f"programme {', '.join(item.programmes) or 'unknown'} not followed"


def _check_place(flt: TopicFilter, item: Item) -> tuple[bool, str]:
    if not flt.regions and not flt.countries:
        return True, ""
    if not item.region and not item.country:
        return True, "EU-wide item (no region)"
    if item.region and fold(item.region) in {fold(r) for r in flt.regions}:
        return True, f"region {item.region} matches"
    if item.country and item.country.upper() in flt.countries:
        return True, f"country {item.country.upper()} matches"
    return False, f"region {item.region or item.country} not followed"


def _check_language(flt: TopicFilter, item: Item) -> tuple[bool, str]:
    if not flt.content_languages or not item.language:
        return True, ""
    if item.language.lower()[:2] in flt.content_languages:
        return True, f"language {item.language} matches"
    return False, f"language {item.language} not followed"


def _check_include(flt: TopicFilter, folded: str) -> tuple[bool, str]:
    if not flt.include_keywords:
        return True, ""
    found = find_keyword(flt.include_keywords, folded)
    if found:
        return True, f"keyword '{found}' found"
    return False, "none of the keywords found"


def topic_filter(topic: Topic) -> TopicFilter:
    return TopicFilter.model_validate(topic.filters or {})


def explain(
    subscriber_or_prefs: Subscriber | PreferencesInput,
    item: Item,
    topics: Sequence[Topic] = (),
) -> Match:
    """Whether ``item`` goes to this subscriber, with reasons ("ecosystem Health matches", ...).

    ``topics`` are the topics the subscriber follows (callers load them once per subscriber).
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
    folded = _item_text(item)
    vetoes = [prefs.exclude_keywords, *(topic_filter(t).exclude_keywords for t in topics)]
    for keywords in vetoes:
        found = find_keyword(keywords, folded)
        if found:
            return Match(False, [f"excluded by keyword '{found}'"])
    return _combine(prefs, item, folded, topics)


def _combine(prefs: PreferencesInput, item: Item, folded: str, topics: Sequence[Topic]) -> Match:
    reasons: list[str] = []
    included = False
    if prefs.own_filters:
        included, own = _check_filter(prefs, item, folded)
        reasons.extend(own)
    elif not topics:
        reasons.append("own preferences switched off and no topic followed")
    matched_topics: list[str] = []
    for topic in topics:
        ok, why = _check_filter(topic_filter(topic), item, folded)
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
    prefs = preferences_of(subscriber)
    return [item for item in items if explain(prefs, item, topics).included]


def describe(match: Match) -> dict[str, Any]:
    return {"included": match.included, "reasons": list(match.reasons), "topics": list(match.topics)}
