"""Dates written in text (it, en, fr, de, es): deadlines, event days, ranges, missing years.

Why hand-written regexes rather than ``dateparser``: the classifier scans every item on ingest and
``dateparser`` costs milliseconds per call; these patterns find the formats EU and Italian sources
use ("4.4.2017", "4 aprile 2017", "closes on 5 February 2025", "entro il 12/03", "7-8 March 2024",
"dal 7 all'8 marzo", "March 7, 2024") in one pass each. A mention without a year is resolved
against a reference day (the publication date): the next occurrence for deadlines and upcoming
events, the nearest one otherwise. Structured datetimes are converted to the Brussels calendar day.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

BRUSSELS = ZoneInfo("Europe/Brussels")

_MONTH_NAMES: dict[int, tuple[str, ...]] = {
    1: ("gennaio", "gen", "january", "jan", "janvier", "janv", "januar", "jänner", "jän", "enero", "ene"),
    2: ("febbraio", "feb", "february", "février", "fév", "févr", "fevrier", "februar", "febrero"),
    3: ("marzo", "mar", "march", "mars", "märz", "marz", "mär"),
    4: ("aprile", "apr", "april", "avril", "avr", "abril", "abr"),
    5: ("maggio", "mag", "may", "mai", "mayo"),
    6: ("giugno", "giu", "june", "jun", "juin", "juni", "junio"),
    7: ("luglio", "lug", "july", "jul", "juillet", "juil", "juli", "julio"),
    8: ("agosto", "ago", "august", "aug", "août", "aout", "agosto"),
    9: ("settembre", "set", "sett", "september", "sep", "sept", "septembre", "septiembre", "setiembre"),
    10: ("ottobre", "ott", "october", "oct", "octobre", "oktober", "okt", "octubre"),
    11: ("novembre", "nov", "november", "noviembre"),
    12: ("dicembre", "dic", "december", "dec", "décembre", "dezember", "dez", "diciembre"),
}
MONTHS: dict[str, int] = {name: number for number, names in _MONTH_NAMES.items() for name in names}
# Short forms that are also words ("set", "gen", "mar"): accepted only with a dot or a year.
_ABBREVIATIONS = frozenset(
    [
        "gen",
        "feb",
        "mar",
        "apr",
        "mag",
        "giu",
        "lug",
        "ago",
        "set",
        "sett",
        "ott",
        "nov",
        "dic",
        "jan",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "dec",
        "janv",
        "fév",
        "févr",
        "avr",
        "juil",
        "jän",
        "mär",
        "okt",
        "dez",
        "ene",
        "abr",
    ]
)
_MONTH = "(?:" + "|".join(sorted((re.escape(m) for m in MONTHS), key=len, reverse=True)) + r")\.?"
_ORD = r"(?:°|º|\.|st|nd|rd|th|er)?"
_DAY = r"(?:[12]\d|3[01]|0?[1-9])"
_YEAR = r"(?:19|20)\d\d"
_WEEKDAY = (
    r"(?:lunedì|martedì|mercoledì|giovedì|venerdì|sabato|domenica|monday|tuesday|wednesday|thursday|friday"
    r"|saturday|sunday|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|montag|dienstag|mittwoch"
    r"|donnerstag|freitag|samstag|sonntag|lunes|martes|miércoles|jueves|viernes|sábado|domingo)"
)
# Between the two days of a range; a weekday may follow ("sabato 27 e domenica 28 settembre").
_JOIN = (
    r"\s*(?:-|–|—|/|&|\be\b|\bed\b|\band\b|\bto\b|\bal\b|\ball['’]|\bau\b|\bbis\b|\by\b"
    rf"|\bthrough\b)\s*(?:{_WEEKDAY},?\s+)?"
)

# "7-8 March 2024", "dal 7 all'8 marzo", "1 e 2 dicembre 2016", "du 7 au 8 mars", "7 to 8 March"
# Patterns start with a digit (no lookbehind) so ``re`` can skip to digits quickly; the character
# before a match is checked in Python instead (``_starts_clean``).
_RANGE = re.compile(
    rf"(?P<d1>\d\d?){_ORD}{_JOIN}(?P<d2>{_DAY}){_ORD}\s+(?:de\s+)?(?P<mon>{_MONTH})"
    rf"(?:,?\s+(?:de\s+)?(?P<y>{_YEAR}))?(?!\w)",
    re.IGNORECASE,
)
# "4 aprile 2017", "1° settembre 2022", "5. Februar 2025", "5 de febrero de 2025", "29 Giugno"
_DAY_MONTH = re.compile(
    rf"(?P<d1>\d\d?){_ORD}\s*(?:de\s+)?(?P<mon>{_MONTH})(?:,?\s+(?:de\s+)?(?P<y>{_YEAR}))?(?!\w)",
    re.IGNORECASE,
)
# "March 7, 2024", "February 5th 2025", "March 7-8, 2024"
_MONTH_DAY = re.compile(
    rf"(?<!\w)(?P<mon>{_MONTH})\s+(?P<d1>{_DAY})(?:st|nd|rd|th)?(?:\s*[-–]\s*(?P<d2>{_DAY}))?"
    rf"(?:,?\s+(?P<y>{_YEAR}))$",
    re.IGNORECASE,
)
# "2025-02-05", with an optional time that is ignored
_ISO = re.compile(r"(?P<y>(?:19|20)\d\d)-(?P<m>[01]\d)-(?P<d1>[0-3]\d)(?![\d])")
# "4.4.2017", "4.4. 2017", "04/06/2017", "12/03" (day first, as everywhere in the EU)
_NUMERIC = re.compile(
    rf"(?P<d1>\d\d?)\s?(?P<sep>[./])\s?(?P<m>1[0-2]|0?[1-9])"
    rf"(?:\s?(?P=sep)\s?(?P<y>{_YEAR}|\d\d))?(?![\d/]|[.,]\d)"
)
_NUMERIC_DASH = re.compile(rf"(?P<d1>\d\d?)-(?P<m>1[0-2]|0?[1-9])-(?P<y>{_YEAR})(?![\d-])")

_DEADLINE_CUE = re.compile(
    r"scadenz[ae]|scade\b|scadrà|entro\b|termine|chiusura|chiude\b|non oltre|data limite|fino al"
    r"|deadline|due (?:by|on)|clos(?:es|ing|e)\b|closing date|submi(?:t|ssion)|apply by|applications? by"
    r"|cut[\s-]?off|until\b|date limite|jusqu['’]au|clôture|avant le|frist|einsendeschluss"
    r"|bewerbungsschluss|bis zum|bis spätestens|time limit|receipt of (?:tenders|applications|offers)"
    r"|regist(?:er|ration|rations) by|sign up by|iscrizioni entro|register before|received by|must reach"
    r"|plazo|fecha l[ií]mite|hasta el|presentazione delle domande|domande",
)
# Cues that must end the text just before a date (checked with str.endswith on the lower-cased
# window: much cheaper than an end-anchored regex search).
_OPENING_WORDS = tuple(
    f" {w}"
    for w in [
        "dal",
        "dall'",
        "dall’",
        "dalle ore",
        "apertura",
        "open",
        "opens",
        "opens on",
        "opening",
        "from",
        "a partire dal",
        "ab dem",
        "à partir du",
        "desde el",
    ]
)
_SHORT_WORDS = (
    ":",
    *(
        f" {w}"
        for w in [
            "il",
            "entro",
            "del",
            "dal",
            "al",
            "on",
            "by",
            "le",
            "am",
            "el",
            "du",
            "au",
            "scadenza",
            "deadline",
        ]
    ),
)
_JOIN_RE = re.compile(_JOIN)
_BOUNDARY = re.compile(r"(?:\.\s|;|\n\s*\n|\|)")
_WINDOW = 90


@dataclass(frozen=True, slots=True)
class Mention:
    """A date found in text: day/month/year (year None when not written), optional range end."""

    start: int
    end: int
    day: int
    month: int
    year: int | None
    end_day: int | None = None
    end_month: int | None = None
    deadline_cue: bool = False
    opening_cue: bool = False

    def resolve(self, reference: date | None, *, prefer_future: bool) -> tuple[date, date] | None:
        """First and last day, the year filled in from ``reference`` when missing; None if invalid."""
        years: list[int]
        if self.year is not None:
            years = [self.year]
        elif reference is None:
            return None
        else:
            years = [reference.year - 1, reference.year, reference.year + 1]
        candidates = []
        for year in years:
            try:
                first = date(year, self.month, self.day)
                last = date(year, self.end_month or self.month, self.end_day or self.day)
            except ValueError:
                continue
            if last < first:
                last = first
            candidates.append((first, last))
        if not candidates:
            return None
        if self.year is not None or reference is None:
            return candidates[0]
        if prefer_future:
            upcoming = [c for c in candidates if c[1] >= reference - timedelta(days=7)]
            if upcoming:
                return upcoming[0]
        return min(candidates, key=lambda c: abs((c[0] - reference).days))


def _year(raw: str | None) -> int | None:
    if not raw:
        return None
    value = int(raw)
    return value + 2000 if value < 100 else value


def _ends_with(text: str, cues: tuple[str, ...]) -> bool:
    """True when ``text`` (lower-cased, trailing spaces dropped) ends with one of ``cues``."""
    return (" " + " ".join(text[-40:].lower().split())).endswith(cues)


def _window(text: str, start: int) -> str:
    before = text[max(0, start - _WINDOW) : start]
    ends = [boundary.end() for boundary in _BOUNDARY.finditer(before)]
    return before[ends[-1] :] if ends else before


def _starts_clean(text: str, start: int, forbidden: str) -> bool:
    """No letter, digit or ``forbidden`` character right before ``start``."""
    if start == 0:
        return True
    before = text[start - 1]
    return not (before.isalnum() or before == "_" or before in forbidden)


def _month_first(text: str, year_ends: list[int]) -> Iterator[re.Match[str]]:
    """ "March 7, 2024": anchored on each year, read backwards (a month-first scan would be slow)."""
    for end in year_ends:
        match = _MONTH_DAY.search(text, max(0, end - 4 - 30), end)
        if match is not None:
            yield match


_DIGITS = re.compile(r"\d\d*")  # not \d+: a pattern opening with a repeat makes ``re`` try every position


def _anchored(regex: re.Pattern[str], text: str, starts: list[int]) -> Iterator[re.Match[str]]:
    """``regex.finditer`` tried only at ``starts`` (where a run of digits starts cleanly).

    Every date pattern starts with a digit, and a match inside a number or word is refused anyway;
    anchored attempts at the few digit runs cost a fraction of scanning every position, once per
    pattern, with ``re``.
    """
    end = 0
    for start in starts:
        if start < end:
            continue
        match = regex.match(text, start)
        if match is not None:
            end = match.end()
            yield match


def _is_word_char(text: str, index: int) -> bool:
    return index < len(text) and (text[index].isalnum() or text[index] == "_")


def _mentions_raw(text: str) -> list[Mention]:
    found: list[Mention] = []
    runs = [(run.start(), run.end()) for run in _DIGITS.finditer(text)]
    if not runs:
        return found

    # Day-first patterns begin with one or two digits, ISO dates with a four-digit year; a run of
    # another length cannot start either ("60 000", "Reference 2026").
    days = [start for start, end in runs if end - start <= 2]
    years = [start for start, end in runs if end - start == 4]

    def starts(forbidden: str, candidates: list[int]) -> list[int]:
        return [start for start in candidates if _starts_clean(text, start, forbidden)]

    day_starts = starts(".", days)
    # Years: the last four digits of a run, 19xx or 20xx, with no word character after them.
    year_ends = [
        end
        for start, end in runs
        if end - start >= 4 and text.startswith(("19", "20"), end - 4) and not _is_word_char(text, end)
    ]
    spelled = (
        _anchored(_RANGE, text, day_starts),
        _month_first(text, year_ends),
        _anchored(_DAY_MONTH, text, day_starts),
    )
    for matches in spelled:
        for m in matches:
            if not 1 <= int(m.group("d1")) <= 31:
                continue
            written = m.group("mon").lower()
            month = MONTHS.get(written.rstrip("."))
            if month is None:
                continue
            if written in _ABBREVIATIONS and m.group("y") is None:
                continue
            d2 = m.groupdict().get("d2")
            found.append(
                Mention(
                    m.start(),
                    m.end(),
                    int(m.group("d1")),
                    month,
                    _year(m.group("y")),
                    int(d2) if d2 else None,
                    month if d2 else None,
                )
            )
    numeric = ((_ISO, "-", years), (_NUMERIC_DASH, ".,/-", days), (_NUMERIC, ".,/", days))
    for regex, forbidden, candidates in numeric:
        for m in _anchored(regex, text, starts(forbidden, candidates)):
            if not 1 <= int(m.group("d1")) <= 31:
                continue
            year = _year(m.group("y"))
            if year is None and not _ends_with(text[max(0, m.start() - 30) : m.start()], _SHORT_WORDS):
                continue  # "2.5 million", "TRL 6/7": a bare d/m needs a cue right before it
            found.append(Mention(m.start(), m.end(), int(m.group("d1")), int(m.group("m")), year))
    return found


def _without_overlaps(mentions: list[Mention]) -> list[Mention]:
    """Keep the longest of overlapping mentions (a range wins over the single day inside it)."""
    kept: list[Mention] = []
    for mention in sorted(mentions, key=lambda m: (m.start, -(m.end - m.start))):
        if kept and mention.start < kept[-1].end:
            continue
        kept.append(mention)
    return kept


def find_mentions(text: str) -> list[Mention]:
    """Every date mention in ``text`` in order, with deadline/opening cues read from just before it.

    A day without a year borrows the year of a mention that follows within a few characters
    ("30 November - 2 December 2024"), and a cross-month range is merged into one mention.
    """
    mentions = _without_overlaps(_mentions_raw(text))
    result: list[Mention] = []
    index = 0
    while index < len(mentions):
        mention = mentions[index]
        following = mentions[index + 1] if index + 1 < len(mentions) else None
        joined = following is not None and _JOIN_RE.fullmatch(text[mention.end : following.start]) is not None
        if following and joined and mention.end_day is None and following.end_day is None:
            year = mention.year or following.year
            mention = Mention(
                mention.start, following.end, mention.day, mention.month, year, following.day, following.month
            )
            index += 1
        window = _window(text, mention.start)
        result.append(
            Mention(
                mention.start,
                mention.end,
                mention.day,
                mention.month,
                mention.year,
                mention.end_day,
                mention.end_month,
                deadline_cue=_DEADLINE_CUE.search(window.lower()) is not None,
                opening_cue=_ends_with(window, _OPENING_WORDS),
            )
        )
        index += 1
    return result


REFERENCE_CHARS = 400


def reference_date(text: str) -> date | None:
    """The first complete date near the top of a text: usually its publication date."""
    for mention in find_mentions(text[:REFERENCE_CHARS]):
        if mention.year is not None:
            resolved = mention.resolve(None, prefer_future=False)
            if resolved:
                return resolved[0]
    return None


def to_brussels_date(value: object) -> date:
    """A structured deadline (ISO date/datetime string, epoch milliseconds, date) as a Brussels day.

    Raises ValueError for anything else, so callers can report the bad field.
    """
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=BRUSSELS)
        return moment.astimezone(BRUSSELS).date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, tz=UTC).astimezone(BRUSSELS).date()
    if isinstance(value, str):
        raw = value.strip()
        if raw.isdigit() and len(raw) > 8:
            return to_brussels_date(int(raw))
        if len(raw) == 10:
            return date.fromisoformat(raw)
        return to_brussels_date(datetime.fromisoformat(raw.replace("Z", "+00:00")))
    raise ValueError(f"not a date: {value!r}")
