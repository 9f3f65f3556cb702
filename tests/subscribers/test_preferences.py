"""Preferences are validated once, at the boundary; addresses are normalised without DNS."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from subscribers.preferences import ECOSYSTEM_SLUGS, InvalidEmail, PreferencesInput, normalise_email


def test_fourteen_stable_slugs() -> None:
    assert (
        len(ECOSYSTEM_SLUGS) == 14 and "health" in ECOSYSTEM_SLUGS and "proximity-social" in ECOSYSTEM_SLUGS
    )


def test_defaults_mean_everything_weekly_with_two_reminders() -> None:
    prefs = PreferencesInput()
    assert prefs.ecosystems == [] and prefs.kinds == [] and prefs.frequency == "weekly"
    assert prefs.reminder_lead_days == [14, 3] and prefs.digest_weekday == 0 and prefs.digest_hour == 8


def test_form_strings_are_split_deduplicated_and_ordered() -> None:
    prefs = PreferencesInput(
        ecosystems="Health, digital,health",
        kinds=["news", "call"],
        countries="it, fr",
        content_languages=["IT"],
        include_keywords=" AI ;  ai; robotics ",
        reminder_lead_days="3,14,7",
    )
    assert prefs.ecosystems == ["digital", "health"]
    assert prefs.kinds == ["call", "news"]
    assert prefs.countries == ["IT", "FR"] and prefs.content_languages == ["it"]
    assert prefs.include_keywords == ["AI", "robotics"]
    assert prefs.reminder_lead_days == [14, 7, 3]


def test_all_means_every_ecosystem() -> None:
    assert PreferencesInput(ecosystems=["all"]).ecosystems == []


@pytest.mark.parametrize(
    "field, value",
    [
        ("ecosystems", ["healthcare"]),
        ("kinds", ["tender"]),
        ("frequency", "hourly"),
        ("digest_weekday", 7),
        ("digest_hour", 24),
        ("countries", ["ITA"]),
        ("reminder_lead_days", [-1]),
        ("timezone", "Mars/Olympus"),
        ("language", "de"),
        ("include_keywords", ["x" * 200]),
    ],
)
def test_bad_values_are_rejected_with_a_clear_error(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as info:
        PreferencesInput(**{field: value})
    assert field in str(info.value)


def test_unknown_ecosystem_error_lists_the_known_ones() -> None:
    with pytest.raises(ValidationError, match="known: aerospace-defence"):
        PreferencesInput(ecosystems=["space"])


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("  Mario.Rossi@Example.IT ", "mario.rossi@example.it"),
        ("anna@xn--caf-dma.it", "anna@café.it"),
        ("Info@Regione.Piemonte.IT", "info@regione.piemonte.it"),
    ],
)
def test_email_is_normalised(raw: str, expected: str) -> None:
    assert normalise_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["", "plainaddress", "a@b", "two@@example.org", "x@example.org\r\nBcc: y@evil.org", "a b@example.org"],
)
def test_invalid_email_raises(raw: str) -> None:
    with pytest.raises(InvalidEmail):
        normalise_email(raw)
