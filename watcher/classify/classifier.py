"""The classifier: ecosystems with scores and evidence, kind, dates, language, programmes, tags.

Built once from the taxonomy file (vocabulary compiled to two regexes), then ``classify`` is a
pure function of the document: one regex pass over title, body and URL, a few dictionary sums and
the date patterns. Items about cluster policy in general need stronger evidence before they get an
ecosystem, and nominations or administrative notices get none, because a wrong guess costs a
subscriber's trust more than a missing label.
"""

from __future__ import annotations

import math
import re
import threading
from datetime import date, datetime
from pathlib import Path

from watcher.classify.dates import BRUSSELS
from watcher.classify.document import Classification, Document
from watcher.classify.evidence import Evidence, url_words
from watcher.classify.kind import EVENT, KindInputs, decide_kind
from watcher.classify.language import detect_language
from watcher.classify.matcher import Entry, Hit, PhraseMatcher
from watcher.classify.taxonomy import Label, Taxonomy, load_taxonomy
from watcher.classify.when import extract_dates
from watcher.settings import Settings, get_settings

ADMIN_LEAD_CHARS = 60
LANGUAGE_SAMPLE_CHARS = 600

# Concerns whose terms must not hide each other ("European Cluster Conference" is a cluster-policy
# phrase *and* contains an event cue); within a concern the longest term wins.
CONCERNS = {
    "eco": "topic",
    "neutral": "topic",
    "generic": "topic",
    "kind": "kind",
    "administrative": "kind",
    "programme": "label",
    "tag": "label",
}


def _concern(entry: Entry) -> str:
    return CONCERNS.get(entry.group, entry.group)


_cache: dict[tuple[str, float], tuple[Taxonomy, PhraseMatcher]] = {}
_cache_lock = threading.Lock()


def _compiled(path: Path, patterns: Path | None = None) -> tuple[Taxonomy, PhraseMatcher]:
    """Taxonomy and its matcher for ``path``, compiled once per file version (and kept compiled in
    ``patterns`` for other processes, see ``watcher.classify.compiled``)."""
    key = (str(Path(path).resolve()), Path(path).stat().st_mtime if Path(path).exists() else 0.0)
    with _cache_lock:
        if key not in _cache:
            taxonomy = load_taxonomy(path)
            _cache[key] = (taxonomy, PhraseMatcher(taxonomy.terms, concern=_concern, patterns=patterns))
        return _cache[key]


def _identifier_hits(labels: dict[str, Label], identifier: str | None) -> dict[str, tuple[float, str]]:
    """Best identifier rule per label: its weight and the part of the identifier it matched."""
    found: dict[str, tuple[float, str]] = {}
    if not identifier:
        return found
    for slug, label in labels.items():
        for rule in label.identifiers:
            match = rule.pattern.search(identifier)
            if match and rule.weight > found.get(slug, (0.0, ""))[0]:
                found[slug] = (rule.weight, match.group())
    return found


_EUROCLUSTER_NAME = re.compile(
    r"\b(?:Euro-?clusters?\s+(?P<after>[A-Z][A-Z0-9]*(?:[-+][A-Z0-9]+)*)\b"
    r"|(?P<before>[A-Z][A-Z0-9]*(?:[-+][A-Z0-9]+)*)\s+Euro-?clusters?\b)"
)
_NOT_NAMES = frozenset({"EU", "THE", "ECCP", "SMP", "COSME", "EUROPEAN", "NEW", "UE", "ALL", "AND"})


def eurocluster_names(text: str) -> list[str]:
    """Tags ``eurocluster:<name>`` for upper-case names next to "Eurocluster" ("the METASTARS Eurocluster").

    Subscribers follow one Eurocluster (and its cascade calls) by this tag.
    """
    names: dict[str, None] = {}
    for match in _EUROCLUSTER_NAME.finditer(text):
        name = match.group("after") or match.group("before")
        letters = sum(char.isalpha() for char in name)
        if letters >= 3 and name not in _NOT_NAMES:
            names[f"eurocluster:{name.lower()}"] = None
    return list(names)


class Classifier:
    """Classifies :class:`Document` values; safe to share between threads."""

    def __init__(self, taxonomy: Taxonomy, matcher: PhraseMatcher, settings: Settings) -> None:
        self.taxonomy = taxonomy
        self.matcher = matcher
        self.settings = settings

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Classifier:
        settings = settings or get_settings()
        taxonomy, matcher = _compiled(settings.ecosystems, settings.resolved_cache_dir())
        return cls(taxonomy, matcher, settings)

    def _scan(self, text: str) -> list[Hit]:
        return self.matcher.scan(text) if text else []

    def classify(self, doc: Document, *, today: date | None = None) -> Classification:
        """Everything the classifier can tell about ``doc`` (``today`` only resolves year-less dates)."""
        title = doc.title or ""
        body = (doc.text or "")[: self.settings.classify_max_text_chars]
        evidence, administrative = self._evidence(title=title, body=body, url=doc.url)
        today = today or datetime.now(BRUSSELS).date()
        dates = extract_dates(
            title=title, body=body, structured=list(doc.deadlines), published=doc.published, today=today
        )
        kind = decide_kind(
            evidence,
            KindInputs(
                has_structured_deadlines=bool(doc.deadlines),
                has_identifier=bool(doc.identifier),
                default_kind=doc.default_kind,
                administrative=administrative,
                upcoming_event_date=dates.event_date is not None,
                past_event_date=dates.title_in_past,
                has_text_deadline=bool(dates.deadlines),
            ),
            threshold=self.settings.classify_kind_threshold,
        )
        scores, why = self._scores(evidence, doc.identifier)
        ecosystems = [] if administrative else self._select(scores, evidence, body_chars=len(body))
        return Classification(
            ecosystems=ecosystems,
            kind=kind,
            deadline=dates.deadlines[0] if dates.deadlines else None,
            deadlines=dates.deadlines,
            event_date=dates.event_date if kind == EVENT else None,
            language=doc.language or detect_language(f"{title}\n{body[:LANGUAGE_SAMPLE_CHARS]}"),
            scores={slug: round(score, 2) for slug, score in scores.items()},
            why={slug: why[slug] for slug in scores},
            programmes=self._programmes(evidence, doc),
            tags=self._tags(evidence, title=title, body=body),
        )

    def _evidence(self, *, title: str, body: str, url: str | None) -> tuple[Evidence, bool]:
        """Vocabulary hits of the item, and whether it is a nomination or administrative notice
        (told by its title, its URL or the first words of its body, where sources file them)."""
        evidence = Evidence()
        title_hits = self._scan(title) + self._scan(url_words(url))
        body_hits = self._scan(body)
        evidence.add_title(title_hits)
        evidence.add_body(body_hits)
        lead = [hit for hit in body_hits if hit.start < ADMIN_LEAD_CHARS]
        administrative = any(
            entry.group == "administrative" for hit in title_hits + lead for entry in hit.entries
        )
        return evidence, administrative

    def _scores(
        self, evidence: Evidence, identifier: str | None
    ) -> tuple[dict[str, float], dict[str, list[str]]]:
        weight = self.settings.classify_title_weight
        scores: dict[str, float] = {}
        why: dict[str, list[str]] = {}
        rules = _identifier_hits(self.taxonomy.ecosystems, identifier)
        found = evidence.keys("eco") | set(rules)
        for slug in self.taxonomy.ecosystems:
            if slug not in found:
                continue
            score, terms = evidence.score("eco", slug, title_weight=weight)
            if slug in rules:
                score += rules[slug][0]
                terms = [f"identifier:{rules[slug][1]}", *terms]
            if score > 0:
                scores[slug], why[slug] = score, terms
        return scores, why

    def _generic_score(self, evidence: Evidence) -> float:
        return evidence.score("generic", "generic", title_weight=self.settings.classify_title_weight)[0]

    def _select(self, scores: dict[str, float], evidence: Evidence, *, body_chars: int) -> list[str]:
        """Ecosystems over the bar: absolute (higher for long bodies, which gather passing mentions,
        and for items about cluster policy in general) and relative to the best one."""
        if not scores:
            return []
        settings = self.settings
        length_factor = max(1.0, math.sqrt(body_chars / settings.classify_long_text_chars))
        threshold = settings.classify_threshold * length_factor
        if self._generic_score(evidence) >= settings.classify_generic_min:
            threshold = max(threshold, settings.classify_generic_threshold)
        best = max(scores.values())
        ranked = sorted(scores.items(), key=lambda pair: pair[1], reverse=True)
        chosen = [
            slug
            for slug, score in ranked
            if score >= threshold and score >= settings.classify_relative_threshold * best
        ]
        return chosen[: settings.classify_max_ecosystems]

    def _programmes(self, evidence: Evidence, doc: Document) -> list[str]:
        found = dict.fromkeys(doc.programmes)
        rules = _identifier_hits(self.taxonomy.programmes, doc.identifier)
        matched = sorted(
            evidence.keys("programme") | set(rules),
            key=lambda s: evidence.first_seen.get(("programme", s), -2_000_000),
        )
        found.update(dict.fromkeys(matched))
        return list(found)

    def _tags(self, evidence: Evidence, *, title: str, body: str) -> list[str]:
        tags = evidence.keys("tag")
        if "eurocluster-cascade-call" in tags and "euroclusters" not in tags:
            tags.discard("eurocluster-cascade-call")
        found = [slug for slug in self.taxonomy.tags if slug in tags]
        if "euroclusters" in tags:
            found += eurocluster_names(f"{title}\n{body}")
        return found
