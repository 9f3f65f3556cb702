"""Language of an item: a cheap stop-word vote first, lingua (restricted to EU languages) when unsure.

Why two stages: lingua costs a few hundred microseconds per call and most items are plainly
Italian or English; counting a handful of function words settles those in microseconds. Only a
short prefix of the text is read, which is enough for either method. lingua is built once, lazily,
and any failure there degrades to "unknown" (None) instead of failing classification.
"""

from __future__ import annotations

import re
import threading
from typing import Any

PREFIX_CHARS = 400
LINGUA_CHARS = 120

_STOPWORDS: dict[str, frozenset[str]] = {
    "it": frozenset(
        [
            "il",
            "lo",
            "gli",
            "di",
            "del",
            "della",
            "dei",
            "delle",
            "degli",
            "dello",
            "che",
            "per",
            "con",
            "non",
            "una",
            "sono",
            "è",
            "alla",
            "alle",
            "nel",
            "nella",
            "nei",
            "anche",
            "e",
            "ed",
            "dal",
            "dalla",
            "sul",
            "sulla",
            "tra",
            "fra",
            "questo",
            "questa",
            "come",
            "più",
            "ai",
            "agli",
        ]
    ),
    "en": frozenset(
        [
            "the",
            "of",
            "and",
            "to",
            "in",
            "for",
            "is",
            "on",
            "with",
            "that",
            "are",
            "this",
            "by",
            "from",
            "be",
            "will",
            "an",
            "as",
            "at",
            "its",
            "has",
        ]
    ),
    "fr": frozenset(
        [
            "le",
            "les",
            "des",
            "du",
            "et",
            "pour",
            "dans",
            "une",
            "est",
            "sur",
            "avec",
            "qui",
            "au",
            "aux",
            "par",
            "ce",
            "cette",
            "sont",
            "ou",
        ]
    ),
    "de": frozenset(
        [
            "der",
            "die",
            "das",
            "und",
            "den",
            "dem",
            "des",
            "ist",
            "mit",
            "für",
            "von",
            "zu",
            "auf",
            "ein",
            "eine",
            "nicht",
            "im",
            "sich",
            "bei",
        ]
    ),
    "es": frozenset(
        [
            "el",
            "los",
            "las",
            "y",
            "para",
            "con",
            "una",
            "por",
            "en",
            "es",
            "se",
            "su",
            "del",
            "al",
            "como",
            "más",
            "sobre",
        ]
    ),
}
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_MIN_VOTES = 3
_MARGIN = 1.5
_LINGUA_ONLY_BELOW = 120

_EU_LANGUAGES = [
    "ITALIAN",
    "ENGLISH",
    "FRENCH",
    "GERMAN",
    "SPANISH",
    "PORTUGUESE",
    "DUTCH",
    "POLISH",
    "ROMANIAN",
    "GREEK",
    "CZECH",
    "SLOVAK",
    "SLOVENE",
    "CROATIAN",
    "HUNGARIAN",
    "BULGARIAN",
    "SWEDISH",
    "DANISH",
    "FINNISH",
    "ESTONIAN",
    "LATVIAN",
    "LITHUANIAN",
    "IRISH",
]

_detector: Any = None
_detector_failed = False
_lock = threading.Lock()


def _lingua() -> Any:
    """The lingua detector, built on first use (None when lingua is unavailable)."""
    global _detector, _detector_failed
    if _detector is None and not _detector_failed:
        with _lock:
            if _detector is None and not _detector_failed:
                try:
                    from lingua import Language, LanguageDetectorBuilder

                    languages = [getattr(Language, name) for name in _EU_LANGUAGES if hasattr(Language, name)]
                    _detector = (
                        LanguageDetectorBuilder.from_languages(*languages)
                        .with_low_accuracy_mode()
                        .with_preloaded_language_models()  # lazy loading made early calls cost ms
                        .build()
                    )
                except Exception:  # lingua missing or broken: detection degrades to the vote
                    _detector_failed = True
    return _detector


_VOTERS: dict[str, tuple[str, ...]] = {}
for _language, _words in _STOPWORDS.items():
    for _word in _words:
        _VOTERS[_word] = (*_VOTERS.get(_word, ()), _language)


def _vote(text: str) -> str | None:
    counts = dict.fromkeys(_STOPWORDS, 0)
    for word in _WORD.findall(text.lower()):
        for language in _VOTERS.get(word, ()):
            counts[language] += 1
    ranked = sorted(counts.items(), key=lambda pair: pair[1], reverse=True)
    (best, top), (_, second) = ranked[0], ranked[1]
    if top >= _MIN_VOTES and top >= _MARGIN * second:
        return best
    if top > second and len(text) > _LINGUA_ONLY_BELOW:
        return best  # a weak lead on a long sample is still right far more often than not; lingua is slow
    return None


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of ``text`` (``it``, ``en``...), or None when it cannot be told."""
    sample = (text or "")[:PREFIX_CHARS]
    if not sample.strip():
        return None
    voted = _vote(sample)
    if voted:
        return voted
    detector = _lingua()
    if detector is None:
        return None
    try:
        language = detector.detect_language_of(sample[:LINGUA_CHARS])
    except Exception:  # a detector error must not stop classification
        return None
    return language.iso_code_639_1.name.lower() if language is not None else None
