"""Deadlines and event dates of one item, from structured fields first and text second.

Why structured first: portal fields (``deadlineDate``, several cut-offs) are exact, text is not.
From text, a date counts as a deadline when a deadline cue (scadenza, entro il, closes on, date
limite, Frist, plazo...) sits just before it; a date range with such a cue ends on its last day.
The event date is the first other date on or after the reference day, title dates first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from watcher.classify.dates import REFERENCE_CHARS, Mention, find_mentions


@dataclass(slots=True)
class Dates:
    """What the dates of an item say."""

    deadlines: list[date] = field(default_factory=list)
    event_date: date | None = None
    opening: date | None = None
    reference: date | None = None
    title_in_past: bool = False


def _reference(mentions: list[Mention]) -> date | None:
    """The first complete date near the top of the body: usually its publication date."""
    for mention in mentions:
        if mention.start >= REFERENCE_CHARS:
            break
        if mention.year is not None:
            resolved = mention.resolve(None, prefer_future=False)
            if resolved:
                return resolved[0]
    return None


def _text_deadlines(mentions: list[Mention], reference: date) -> tuple[list[date], date | None]:
    deadlines: list[date] = []
    opening = None
    for mention in mentions:
        if not (mention.deadline_cue or mention.opening_cue):
            continue
        resolved = mention.resolve(reference, prefer_future=True)
        if resolved is None:
            continue
        first, last = resolved
        if mention.opening_cue and mention.end_day is None:
            opening = opening or first  # "dal 15 febbraio ... entro il 30 aprile": an opening day
            continue
        if not mention.deadline_cue:
            continue  # "dal 10 al 12 settembre": the dates of something, not a deadline
        if mention.end_day is not None:
            opening = opening or first
        deadlines.append(last)
    return sorted(set(deadlines)), opening


def _event_date(
    title: list[Mention], body: list[Mention], *, reference: date, skip: date | None
) -> date | None:
    skipped = None
    for mention in title + body:
        if mention.deadline_cue:
            continue
        resolved = mention.resolve(reference, prefer_future=True)
        if resolved is None:
            continue
        first, last = resolved
        if skip is not None and first == skip and mention.end_day is None:
            skipped = first  # likely the publication line at the top; the event date if nothing follows
            continue
        if last >= reference:
            return first
    return skipped


def extract_dates(
    *, title: str, body: str, structured: list[date], published: date | None, today: date
) -> Dates:
    """Deadlines (structured win), first upcoming event date and the reference day used."""
    title_mentions = find_mentions(title)
    body_mentions = find_mentions(body)
    found_reference = None if published else _reference(body_mentions)
    reference = published or found_reference or today
    text_deadlines, opening = _text_deadlines(title_mentions + body_mentions, reference)
    deadlines = sorted(set(structured)) if structured else text_deadlines
    event = _event_date(title_mentions, body_mentions, reference=reference, skip=found_reference)
    return Dates(
        deadlines=deadlines,
        event_date=event,
        opening=opening,
        reference=reference,
        title_in_past=_title_in_past(title_mentions, reference),
    )


def _title_in_past(mentions: list[Mention], reference: date) -> bool:
    """True when the first dated mention in the title lies before the reference day (a report)."""
    for mention in mentions:
        resolved = mention.resolve(reference, prefer_future=False)
        if resolved is not None and mention.year is not None:
            return resolved[1] < reference
    return False
