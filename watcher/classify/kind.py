"""Kind of an item: ``call``, ``event`` or ``news``, from cues and source hints.

Why the title decides first: a report on a conference mentions the conference everywhere and a
news item about cluster policy mentions calls everywhere; what the title (or the source's own
category in the URL) announces is the best single clue. Body cues, structured deadlines, a
portal identifier and the source's default decide when the title is silent. An event that already
took place (past-tense cues without future ones, or a date before publication) is news.
"""

from __future__ import annotations

from dataclasses import dataclass

from watcher.classify.evidence import Evidence

CALL, EVENT, NEWS = "call", "event", "news"
KINDS = (CALL, EVENT, NEWS)

STRUCTURED_DEADLINE_BONUS = 6.0
IDENTIFIER_BONUS = 3.0
DEFAULT_KIND_BONUS = 2.0
BODY_CAP = 9.0
FUTURE_MIN = 2.0
STRONG_CUE = 3.0


@dataclass(frozen=True, slots=True)
class KindInputs:
    """Non-vocabulary facts that bear on the kind."""

    has_structured_deadlines: bool
    has_identifier: bool
    default_kind: str | None
    administrative: bool
    upcoming_event_date: bool
    past_event_date: bool
    has_text_deadline: bool = False


def _title(evidence: Evidence, key: str) -> float:
    """Strong cues in the title; weak ones ("grant", "calls") only add to the body's score."""
    return sum(
        entry.weight for entry in evidence.title.get(("kind", key), {}).values() if entry.weight >= STRONG_CUE
    )


def _body(evidence: Evidence, key: str) -> float:
    weak_title = sum(
        e.weight for e in evidence.title.get(("kind", key), {}).values() if e.weight < STRONG_CUE
    )
    return min(BODY_CAP, evidence.score("kind", key, title_weight=0.0)[0] + weak_title)


def decide_kind(evidence: Evidence, facts: KindInputs, *, threshold: float) -> str:
    """The item's kind; see the module docstring for the order of the rules."""
    if facts.administrative:
        return NEWS
    past = evidence.score("kind", "past", title_weight=1.0)[0]
    future = evidence.score("kind", "future", title_weight=1.0)[0]
    is_past = facts.past_event_date or (past > 0 and past >= future)
    title_call, title_event = _title(evidence, CALL), _title(evidence, EVENT)
    if title_call > 0 and title_event > 0:
        # "Webinar: how to apply to the calls": an upcoming dated event is an event
        return EVENT if facts.upcoming_event_date and not is_past else CALL
    if title_call > 0:
        return CALL
    if title_event > 0:
        return NEWS if is_past else EVENT
    call = body_call = _body(evidence, CALL)
    strong_call = any(
        entry.weight >= STRONG_CUE
        for (group, key), terms in evidence.body.items()
        if (group, key) == ("kind", CALL)
        for entry in (evidence.entry(term, group, key) for term in terms)
    )
    event = _body(evidence, EVENT) + min(future, 3.0)
    if facts.has_structured_deadlines:
        call += STRUCTURED_DEADLINE_BONUS
    if facts.has_identifier:
        call += IDENTIFIER_BONUS
    if facts.default_kind == CALL:
        call += DEFAULT_KIND_BONUS
    elif facts.default_kind == EVENT:
        event += DEFAULT_KIND_BONUS
    announced = facts.upcoming_event_date or future >= FUTURE_MIN
    if event >= threshold and event > call and announced and not is_past:
        return EVENT
    body_only = call - body_call <= 0
    # a body-only call cue in a report ("the contest has ended") is news
    reported = body_only and past > 0 and past >= future and not facts.has_text_deadline
    if call >= threshold and (strong_call or not body_only or facts.has_text_deadline) and not reported:
        return CALL
    if event >= threshold and announced and not is_past:
        return EVENT
    return facts.default_kind if facts.default_kind in KINDS else NEWS
