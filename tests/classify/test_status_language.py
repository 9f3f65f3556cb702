"""Item status from deadlines and today; language detection."""

from __future__ import annotations

from datetime import date

import pytest

from watcher.classify import detect_language, item_status

TODAY = date(2025, 3, 1)


@pytest.mark.parametrize(
    ("deadlines", "opening", "expected"),
    [
        ([], None, "open"),
        ([date(2025, 6, 1)], date(2025, 4, 1), "forthcoming"),
        ([date(2025, 6, 1)], None, "open"),
        ([date(2025, 3, 10)], None, "closing_soon"),
        ([date(2025, 3, 1)], None, "closing_soon"),
        ([date(2025, 2, 28)], None, "closed"),
        ([date(2025, 2, 1), date(2025, 9, 1)], None, "open"),
    ],
)
def test_item_status(deadlines: list[date], opening: date | None, expected: str) -> None:
    assert item_status(deadlines=deadlines, opening=opening, today=TODAY) == expected


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Il bando finanzia progetti delle piccole e medie imprese per la transizione digitale.", "it"),
        ("The call supports small and medium-sized enterprises in the digital transition.", "en"),
        ("L'appel à projets soutient les petites et moyennes entreprises dans la transition.", "fr"),
        ("Die Ausschreibung unterstützt kleine und mittlere Unternehmen bei der Digitalisierung.", "de"),
        ("La convocatoria apoya a las pequeñas y medianas empresas en la transición digital.", "es"),
        ("Programvaruteknik för AI och generativ AI", "sv"),
    ],
)
def test_detect_language(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_detect_language_of_nothing() -> None:
    assert detect_language("") is None
