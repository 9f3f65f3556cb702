"""Fast multi-phrase matching: every vocabulary term of the taxonomy found in one regex pass.

Why a trie-shaped regex: Python's ``re`` tries the branches of a flat alternation one by one at
every position, which is slow for thousands of terms; a trie shares prefixes, so each position
costs a few character tests. Terms are written for humans in ``config/ecosystems.yaml``:

- matching ignores case, except terms written ``=LIKE THIS`` (acronyms such as ``=EDF``, ``=LIFE``);
- ``[ei]`` is a choice of characters (``aerospazial[ei]`` is *aerospaziale* and *aerospaziali*);
- a trailing ``*`` allows any word ending (``tessil*``);
- a space or hyphen matches any run of spaces and hyphens (``agri-food`` finds *agri food* too);
- an apostrophe matches both ``'`` and ``’``.

One string may belong to several groups (an ecosystem, a programme, a kind cue): a match returns
every entry registered for it. Longer terms win where they overlap, which is how "neutral"
phrases (*green and digital transition*) swallow the words inside them. Terms of different
*concerns* (topic, kind, label) must not hide each other, so a long term also carries the entries
of shorter terms inside it that belong to another concern ("European Cluster Conference", a
cluster-policy phrase, still counts as the event cue "conference"). All of this is worked out
once when the matcher is built, so a text is scanned in one pass (two: acronyms keep their case).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from watcher.classify.compiled import compile_cached

_SEPARATOR = " "
_SEPARATOR_RE = r"[\s\-‐‑–/]+"
_APOSTROPHE_RE = r"['’]"
_NORMALISE_RE = re.compile(r"[\s\-‐‑–/]+")
_CLASS_RE = re.compile(r"\[([^\]]+)\]")
_CACHE_LIMIT = 50_000


class TermError(ValueError):
    """A vocabulary term that cannot be compiled (the message names it)."""


@dataclass(frozen=True, slots=True)
class Entry:
    """What a term means: the group it belongs to (``eco``, ``programme``...), a key and a weight."""

    group: str
    key: str
    weight: float
    term: str


@dataclass(frozen=True, slots=True)
class Hit:
    """One occurrence of a term in a text."""

    entries: tuple[Entry, ...]
    start: int
    text: str


@lru_cache(maxsize=8192)  # evidence normalises every hit; the same few terms recur in every item
def normalise(text: str) -> str:
    """The canonical form of a matched string or term: lower case, one space between words."""
    return _NORMALISE_RE.sub(_SEPARATOR, text.lower().replace("’", "'")).strip()


def expand(term: str) -> list[str]:
    """All literal spellings of a term with ``[..]`` choices (``tessil[ei]`` → tessile, tessili)."""
    parts = _CLASS_RE.split(term)
    choices = [list(part) if index % 2 else [part] for index, part in enumerate(parts)]
    return ["".join(combo) for combo in itertools.product(*choices)]


@dataclass
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    end: bool = False
    wildcard: bool = False


def _atom(char: str) -> str:
    if char == _SEPARATOR:
        return _SEPARATOR_RE
    if char == "'":
        return _APOSTROPHE_RE
    return re.escape(char)


def _emit(node: _Node) -> str:
    branches = [_atom(char) + _emit(child) for char, child in node.children.items()]
    if node.wildcard:
        branches.append(r"\w*")
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if node.end and not node.wildcard:
        return "(?:" + body + ")?"
    return body


class _Side:
    """The terms of one case mode compiled into one regex plus a lookup from match to entries."""

    def __init__(self, *, case_sensitive: bool) -> None:
        self.case_sensitive = case_sensitive
        self.literal: dict[str, list[Entry]] = {}
        self.prefixes: dict[str, list[Entry]] = {}
        self.regex: re.Pattern[str] | None = None
        self._padding = ""  # put before a text so that its first word follows a non-word character
        self._cache: dict[str, tuple[Entry, ...]] = {}

    def key(self, text: str) -> str:
        if self.case_sensitive:
            return _NORMALISE_RE.sub(_SEPARATOR, text.replace("’", "'")).strip()
        return normalise(text)

    def add(self, spelling: str, entry: Entry) -> None:
        wildcard = spelling.endswith("*")
        key = self.key(spelling.rstrip("*"))
        if not key:
            raise TermError(f"empty term {entry.term!r} in {entry.group} {entry.key!r}")
        entries = (self.prefixes if wildcard else self.literal).setdefault(key, [])
        if not any(known.group == entry.group and known.key == entry.key for known in entries):
            entries.append(entry)  # one spelling counts once per group and key

    def inherit(self, concern: Callable[[Entry], str]) -> None:
        """Give each term the entries of other-concern terms written inside it (see module doc)."""
        by_start: dict[str, list[str]] = {}
        for prefix in self.prefixes:
            by_start.setdefault(prefix[:3], []).append(prefix)
        for key, entries in self.literal.items():
            words = key.split(_SEPARATOR)
            inner: list[Entry] = []
            for i in range(len(words)):
                for j in range(i + 1, len(words) + 1):
                    span = _SEPARATOR.join(words[i:j])
                    if span != key:
                        inner.extend(self.literal.get(span, ()))
                    if j == i + 1:
                        inner.extend(
                            e
                            for p in by_start.get(span[:3], ())
                            if span.startswith(p)
                            for e in self.prefixes[p]
                        )
            present = {concern(entry) for entry in entries}
            for entry in inner:
                if concern(entry) not in present and entry not in entries:
                    entries.append(entry)

    def compile(self, patterns: Path | None = None) -> None:
        """Build the regex (``patterns``: where compiled ones are kept, see ``compiled``)."""
        root = _Node()
        for key, wildcard in [(k, False) for k in self.literal] + [(k, True) for k in self.prefixes]:
            node = root
            for char in key:
                node = node.children.setdefault(char, _Node())
            if wildcard:
                node.wildcard = True
            else:
                node.end = True
        if not root.children:
            return
        # ``re`` enters the trie only where a term can start at a word start (group 1 is the term).
        # Almost every letter starts some case-insensitive term: there, a non-word character is
        # required before the term, so ``re`` skips letters in C and tries the trie after spaces and
        # punctuation only (the text gets a leading space for the first word); a lookbehind at the
        # start of the pattern tried every position instead (about 15% slower). Acronyms start with
        # capitals, rare in running text: there, every branch begins with its literal first
        # character, which ``re`` searches for in C, and the word-start test follows that character
        # (three times faster than the lookbehind first: it had to be tried at every position).
        if self.case_sensitive:
            branches = [_atom(char) + r"(?<!\w.)" + _emit(child) for char, child in root.children.items()]
            self.regex = compile_cached("((?:" + "|".join(branches) + r"))(?!\w)", directory=patterns)
            self._padding = ""
        else:
            self.regex = compile_cached(r"\W(" + _emit(root) + r")(?!\w)", directory=patterns)
            self._padding = " "

    def entries(self, matched: str) -> tuple[Entry, ...]:
        found = self._cache.get(matched)
        if found is not None:
            return found
        key = self.key(matched)
        result = list(self.literal.get(key, ()))
        if not result:
            for length in range(len(key), 0, -1):
                if key[:length] in self.prefixes:
                    result = self.prefixes[key[:length]]
                    break
        if len(self._cache) > _CACHE_LIMIT:
            self._cache.clear()
        found = self._cache[matched] = tuple(result)
        return found

    def scan(self, text: str) -> list[Hit]:
        """Hits in ``text``; the case-insensitive side expects it already lower-cased (faster)."""
        if self.regex is None:
            return []
        hits = []
        shift = len(self._padding)
        for match in self.regex.finditer(self._padding + text):
            matched = match.group(1)
            entries = self.entries(matched)
            if entries:
                hits.append(Hit(entries, match.start(1) - shift, matched))
        return hits


class PhraseMatcher:
    """Finds every registered term in a text; build once, scan many texts."""

    def __init__(
        self,
        terms: Iterable[tuple[str, Entry]],
        *,
        concern: Callable[[Entry], str] | None = None,
        patterns: Path | None = None,
    ) -> None:
        self._folded = _Side(case_sensitive=False)
        self._exact = _Side(case_sensitive=True)
        for term, entry in terms:
            side, raw = (self._exact, term[1:]) if term.startswith("=") else (self._folded, term)
            for spelling in expand(raw.strip()):
                side.add(spelling, entry)
        if concern is not None:
            self._folded.inherit(concern)
            self._exact.inherit(concern)
        try:
            self._folded.compile(patterns)
            self._exact.compile(patterns)
        except re.error as error:  # pragma: no cover - terms are escaped; kept as a clear message
            raise TermError(f"vocabulary does not compile: {error}") from error

    def scan(self, text: str) -> list[Hit]:
        """All hits, case-insensitive terms first then acronyms, each with its entries."""
        if not text:
            return []
        return self._folded.scan(text.lower()) + self._exact.scan(text)
