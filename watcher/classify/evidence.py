"""What the vocabulary found in one item, split by where it was found (title, body, URL).

Why keep title and body apart: a word in the title says what the item is about; the same word
deep in a long body may be an aside. Repeated body matches add with diminishing returns so a long
text cannot win on repetition alone.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from watcher.classify.matcher import Entry, Hit, normalise


def repetition_factor(count: int) -> float:
    """Weight multiplier for a term seen ``count`` times in a body: 1, 1.5, 2 at 4, 2.5 at 8, max 3."""
    return min(3.0, 1.0 + 0.5 * math.log2(count)) if count > 0 else 0.0


@dataclass
class Evidence:
    """Matched terms per (group, key): those in the title and counts in the body."""

    title: dict[tuple[str, str], dict[str, Entry]] = field(default_factory=lambda: defaultdict(dict))
    body: dict[tuple[str, str], Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    body_entries: dict[str, Entry] = field(default_factory=dict)
    first_seen: dict[tuple[str, str], int] = field(default_factory=dict)
    surface: dict[str, str] = field(default_factory=dict)

    def add_title(self, hits: list[Hit]) -> None:
        for hit in hits:
            for entry in hit.entries:
                if entry.term not in self.surface:
                    self.surface[entry.term] = normalise(hit.text)
                self.title[(entry.group, entry.key)][entry.term] = entry
                self.first_seen.setdefault((entry.group, entry.key), hit.start - 1_000_000)

    def add_body(self, hits: list[Hit]) -> None:
        for hit in hits:
            for entry in hit.entries:
                if entry.term not in self.surface:
                    self.surface[entry.term] = normalise(hit.text)
                self.body[(entry.group, entry.key)][entry.term] += 1
                self.body_entries[entry.term + "\x00" + entry.group + "\x00" + entry.key] = entry
                self.first_seen.setdefault((entry.group, entry.key), hit.start)

    def keys(self, group: str) -> set[str]:
        """Keys of ``group`` found anywhere (e.g. every ecosystem slug with at least one term)."""
        found = {key for (g, key) in self.title if g == group}
        found.update(key for (g, key) in self.body if g == group)
        return found

    def score(self, group: str, key: str, *, title_weight: float) -> tuple[float, list[str]]:
        """Weighted score of one key and its terms, strongest first."""
        contributions: dict[str, float] = {}
        for term, entry in self.title.get((group, key), {}).items():
            contributions[term] = entry.weight * title_weight
        for term, count in self.body.get((group, key), Counter()).items():
            entry = self.entry(term, group, key)
            contributions[term] = contributions.get(term, 0.0) + entry.weight * repetition_factor(count)
        ranked = sorted(contributions.items(), key=lambda pair: pair[1], reverse=True)
        terms = [self.surface.get(term, term) for term, value in ranked if value > 0]
        return sum(contributions.values()), list(dict.fromkeys(terms))

    def entry(self, term: str, group: str, key: str) -> Entry:
        """The entry behind a body term of ``(group, key)``."""
        return self.body_entries[term + "\x00" + group + "\x00" + key]

    def in_title(self, group: str, key: str) -> bool:
        return bool(self.title.get((group, key)))

    def body_count(self, group: str, key: str) -> int:
        return sum(self.body.get((group, key), Counter()).values())


def url_words(url: str | None) -> str:
    """The path of a URL as words ("/gare-appalto/x" -> "gare appalto x"): sources file by category."""
    if not url:
        return ""
    try:
        path = unquote(urlsplit(url).path)
    except ValueError:
        return ""
    return " ".join(part for part in path.replace("_", " ").split("/") if part)
