"""Date formats and cues the issue lists, in Italian and English (plus fr/de/es), and year resolution."""

from __future__ import annotations

from datetime import date

import pytest

from watcher.classify.dates import find_mentions, reference_date, to_brussels_date
from watcher.classify.when import extract_dates

PUBLISHED = date(2024, 11, 20)


def deadlines(text: str, published: date | None = PUBLISHED) -> list[date]:
    return extract_dates(
        title="", body=text, structured=[], published=published, today=date(2030, 1, 1)
    ).deadlines


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Scadenza: 4.4.2017", date(2017, 4, 4)),
        ("scadenza della prima fase prevista per il 4.4. 2017", date(2017, 4, 4)),
        ("Le domande vanno presentate entro il 4 aprile 2017.", date(2017, 4, 4)),
        ("scadenza: 30 novembre 2021", date(2021, 11, 30)),
        ("The call closes on 5 February 2025 at 17:00 CET.", date(2025, 2, 5)),
        ("Deadline: February 5, 2025", date(2025, 2, 5)),
        ("Deadline: 05/02/2025", date(2025, 2, 5)),
        ("Submission deadline: 2025-02-05", date(2025, 2, 5)),
        ("Termine per la presentazione delle domande: 1° settembre 2022", date(2022, 9, 1)),
        ("Domande fino al 30 settembre 2024.", date(2024, 9, 30)),
        ("Date limite de dépôt des candidatures : 22 mai 2024", date(2024, 5, 22)),
        ("Einsendeschluss ist der 5. Februar 2025.", date(2025, 2, 5)),
        ("El plazo termina el 5 de febrero de 2025.", date(2025, 2, 5)),
    ],
)
def test_deadline_formats(text: str, expected: date) -> None:
    assert deadlines(text) == [expected]


def test_missing_year_is_resolved_forward_from_publication() -> None:
    assert deadlines("Candidature entro il 12/03.", published=date(2024, 1, 20)) == [date(2024, 3, 12)]
    assert deadlines("Candidature entro il 12/03.", published=date(2024, 11, 20)) == [date(2025, 3, 12)]
    assert deadlines("Applications by 12 March", published=date(2024, 11, 20)) == [date(2025, 3, 12)]
    assert deadlines("A meeting on 12 March", published=date(2024, 11, 20)) == []
    assert deadlines("Deadline: 12 March", published=date(2024, 11, 20)) == [date(2025, 3, 12)]


def test_opening_day_is_not_a_deadline() -> None:
    dates = extract_dates(
        title="",
        body="Domande dal 15 febbraio 2024 entro il 30 aprile 2024.",
        structured=[],
        published=None,
        today=date(2024, 1, 1),
    )
    assert dates.deadlines == [date(2024, 4, 30)]
    assert dates.opening == date(2024, 2, 15)


def test_dates_without_a_cue_are_not_deadlines() -> None:
    assert deadlines("L.R. n. 18 del 25 giugno 2008 - Interventi a sostegno della stampa") == []
    assert deadlines("Budget of 2.5 million, TRL 6-7, version 4.0") == []


@pytest.mark.parametrize(
    ("text", "published", "first"),
    [
        ("The conference takes place on 7-8 March 2024 in Brussels.", date(2024, 1, 5), date(2024, 3, 7)),
        ("Il convegno si terrà dal 7 all'8 marzo.", date(2024, 1, 5), date(2024, 3, 7)),
        ("Bruxelles, 1-2 dicembre 2016", date(2016, 11, 1), date(2016, 12, 1)),
        ("Il workshop si terrà giovedì 29 Giugno p.v. a Venezia.", date(2017, 6, 16), date(2017, 6, 29)),
        ("Join us on March 7-8, 2024.", date(2024, 1, 5), date(2024, 3, 7)),
        ("L'evento si terrà il 7 e 8 marzo 2024.", date(2024, 1, 5), date(2024, 3, 7)),
        ("from 30 November to 2 December 2024", date(2024, 10, 1), date(2024, 11, 30)),
    ],
)
def test_event_dates_and_ranges(text: str, published: date, first: date) -> None:
    dates = extract_dates(title="", body=text, structured=[], published=published, today=date(2030, 1, 1))
    assert dates.event_date == first


def test_range_mentions_carry_both_ends() -> None:
    (mention,) = find_mentions("7-8 March 2024")
    assert (mention.day, mention.end_day, mention.month, mention.year) == (7, 8, 3, 2024)
    (mention,) = find_mentions("dal 7 all'8 marzo")
    assert (mention.day, mention.end_day, mention.month, mention.year) == (7, 8, 3, None)


def test_structured_deadlines_win_over_text() -> None:
    dates = extract_dates(
        title="",
        body="Deadline: 1 March 2025",
        structured=[date(2025, 4, 2), date(2025, 3, 5)],
        published=None,
        today=date(2025, 1, 1),
    )
    assert dates.deadlines == [date(2025, 3, 5), date(2025, 4, 2)]


def test_reference_date_is_the_header_date() -> None:
    assert reference_date("Clusters\n16/06/2017\nL'Unità Organizzativa ...") == date(2017, 6, 16)
    assert reference_date("no date here") is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-02-05", date(2025, 2, 5)),
        ("2025-02-05T23:30:00Z", date(2025, 2, 6)),  # already the 6th in Brussels
        ("2025-02-05T17:00:00.000+0100", date(2025, 2, 5)),
        (1738771200000, date(2025, 2, 5)),  # deadlineDatesLong: epoch milliseconds
        ("1738771200000", date(2025, 2, 5)),
    ],
)
def test_structured_values_become_brussels_days(value: object, expected: date) -> None:
    assert to_brussels_date(value) == expected


def test_bad_structured_value_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        to_brussels_date("next tuesday")


@pytest.mark.parametrize(
    ("text", "published", "expected"),
    [
        # each listed format, the other language of the pair above
        ("Deadline: 4.4.2017", None, date(2017, 4, 4)),
        ("Applications must be submitted by 4 April 2017.", None, date(2017, 4, 4)),
        ("Deadline: 30 November 2021", None, date(2021, 11, 30)),
        ("Il bando chiude il 5 febbraio 2025 alle 17:00.", None, date(2025, 2, 5)),
        ("Applications by 12/03.", date(2024, 1, 20), date(2024, 3, 12)),
        ("Scadenza: 12 marzo", date(2024, 1, 20), date(2024, 3, 12)),
    ],
)
def test_deadline_formats_other_language(text: str, published: date | None, expected: date) -> None:
    assert deadlines(text, published=published) == [expected]


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("Il convegno si terrà il 7-8 marzo 2024 a Roma.", date(2024, 3, 7)),
        ("The forum will take place from 7 to 8 March.", date(2024, 3, 7)),
        ("Le salon aura lieu du 7 au 8 mars 2024.", date(2024, 3, 7)),
        ("Die Messe findet vom 7. bis 8. März 2024 statt.", date(2024, 3, 7)),
        ("La feria se celebrará del 7 al 8 de marzo de 2024.", date(2024, 3, 7)),
    ],
)
def test_event_ranges_other_languages(text: str, first: date) -> None:
    dates = extract_dates(
        title="", body=text, structured=[], published=date(2024, 1, 5), today=date(2030, 1, 1)
    )
    assert dates.event_date == first


def test_a_lone_date_at_the_top_is_the_event_date() -> None:
    dates = extract_dates(
        title="",
        body="Conference on 7 March 2024 in Brussels.",
        structured=[],
        published=None,
        today=date(2024, 1, 1),
    )
    assert dates.event_date == date(2024, 3, 7)


def test_range_with_weekdays_and_received_by() -> None:
    dates = extract_dates(
        title="",
        body="Sabato 27 e domenica 28 settembre 2025 musei aperti.",
        structured=[],
        published=date(2025, 9, 1),
        today=date(2025, 9, 1),
    )
    assert dates.event_date == date(2025, 9, 27)
    assert deadlines("Tenders must be received by 12/12/2025.") == [date(2025, 12, 12)]
