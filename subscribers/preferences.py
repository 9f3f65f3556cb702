"""What a subscriber (or a topic) wants, validated once at the boundary.

The web form, the CLI and CSV/JSON import all build a ``PreferencesInput``; everything downstream
trusts it. Ecosystem slugs are the 14 stable slugs of DESIGN.md (hard-coded here so delivery never
depends on the classifier's YAML being readable); display names in English and Italian come with them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, field_validator

ECOSYSTEM_NAMES: dict[str, tuple[str, str]] = {
    "aerospace-defence": ("Aerospace & Defence", "Aerospazio e difesa"),
    "agri-food": ("Agri-food", "Agroalimentare"),
    "construction": ("Construction", "Costruzioni"),
    "cultural-creative": ("Cultural and Creative Industries", "Industrie culturali e creative"),
    "digital": ("Digital", "Digitale"),
    "electronics": ("Electronics", "Elettronica"),
    "energy-intensive": ("Energy-Intensive Industries", "Industrie ad alta intensità energetica"),
    "renewables": ("Energy – Renewables", "Energie rinnovabili"),
    "health": ("Health", "Salute"),
    "mobility": ("Mobility – Transport – Automotive", "Mobilità – Trasporti – Automotive"),
    "proximity-social": (
        "Proximity, Social Economy and Civil Security",
        "Prossimità, economia sociale e sicurezza civile",
    ),
    "retail": ("Retail", "Commercio al dettaglio"),
    "textile": ("Textile", "Tessile"),
    "tourism": ("Tourism", "Turismo"),
}
ECOSYSTEM_SLUGS: tuple[str, ...] = tuple(ECOSYSTEM_NAMES)
KINDS: tuple[str, ...] = ("call", "event", "news")
LANGUAGES: tuple[str, ...] = ("it", "en")

Kind = Literal["call", "event", "news"]
Frequency = Literal["weekly", "daily", "instant", "off"]
Language = Literal["it", "en"]

MAX_KEYWORDS = 50
MAX_KEYWORD_LENGTH = 80
_CODE2 = re.compile(r"^[A-Za-z]{2}$")


class InvalidEmail(ValueError):
    """The address is not a deliverable-looking email address."""


def normalise_email(raw: str) -> str:
    """Syntax-check and normalise an address (no DNS: imports must not depend on the network).

    The domain is lower-cased by email-validator; we lower-case the local part too because the
    address is our identity key and nearly every provider treats it case-insensitively.
    """
    try:
        result = validate_email((raw or "").strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidEmail(f"invalid email address {raw!r}: {error}") from None
    return result.normalized.lower()


def ecosystem_name(slug: str, language: str = "en") -> str:
    names = ECOSYSTEM_NAMES.get(slug)
    if names is None:
        return slug
    return names[1] if language == "it" else names[0]


def _clean_strings(values: Iterable[Any], *, max_length: int = MAX_KEYWORD_LENGTH) -> list[str]:
    """Strip, drop empties and control characters, de-duplicate (case-insensitively), keep order."""
    out: list[str] = []
    seen: set[str] = set()
    for value in values:
        text = " ".join("".join(ch for ch in str(value) if ch.isprintable()).split())
        if not text:
            continue
        if len(text) > max_length:
            raise ValueError(f"value too long (max {max_length} characters): {text[:40]!r}…")
        if text.casefold() not in seen:
            seen.add(text.casefold())
            out.append(text)
    return out


def _as_list(value: Any) -> Any:
    """Accept "a, b" from forms and CSV as well as real lists."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part for part in re.split(r"[,;|]", value) if part.strip()]
    return value


class TopicFilter(BaseModel):
    """The selection part of preferences; also what an admin-defined topic stores."""

    model_config = ConfigDict(extra="forbid")

    ecosystems: list[str] = Field(default_factory=list, description="Empty: every ecosystem.")
    kinds: list[Kind] = Field(default_factory=list, description="Empty: calls, events and news.")
    programmes: list[str] = Field(default_factory=list)
    regions: list[str] = Field(default_factory=list)
    countries: list[str] = Field(default_factory=list, description="ISO 3166 alpha-2 codes.")
    content_languages: list[str] = Field(default_factory=list, description="ISO 639-1 codes.")
    include_keywords: list[str] = Field(default_factory=list, max_length=MAX_KEYWORDS)
    exclude_keywords: list[str] = Field(default_factory=list, max_length=MAX_KEYWORDS)

    @field_validator(
        "ecosystems", "kinds", "programmes", "regions", "countries", "content_languages",
        "include_keywords", "exclude_keywords", mode="before",
    )
    @classmethod
    def _split(cls, value: Any) -> Any:
        return _as_list(value)

    @field_validator("ecosystems")
    @classmethod
    def _ecosystems(cls, value: list[str]) -> list[str]:
        slugs = [s.lower() for s in _clean_strings(value)]
        if "all" in slugs:
            return []
        unknown = [s for s in slugs if s not in ECOSYSTEM_NAMES]
        if unknown:
            raise ValueError(f"unknown ecosystem {', '.join(unknown)}; known: {', '.join(ECOSYSTEM_SLUGS)}")
        return [s for s in ECOSYSTEM_SLUGS if s in slugs]

    @field_validator("kinds")
    @classmethod
    def _kinds(cls, value: list[str]) -> list[str]:
        return [k for k in KINDS if k in value]

    @field_validator("programmes", "regions", "include_keywords", "exclude_keywords")
    @classmethod
    def _texts(cls, value: list[str]) -> list[str]:
        return _clean_strings(value)

    @field_validator("countries", "content_languages")
    @classmethod
    def _codes(cls, value: list[str], info: Any) -> list[str]:
        codes = _clean_strings(value)
        bad = [c for c in codes if not _CODE2.match(c)]
        if bad:
            raise ValueError(f"two-letter codes expected, got {', '.join(bad)}")
        upper = info.field_name == "countries"
        return [c.upper() if upper else c.lower() for c in codes]


class PreferencesInput(TopicFilter):
    """Everything a subscriber can choose: selection, frequency, schedule and reminders."""

    frequency: Frequency = "weekly"
    digest_weekday: int = Field(0, ge=0, le=6, description="0 = Monday.")
    digest_hour: int = Field(8, ge=0, le=23, description="Local hour.")
    reminder_lead_days: list[int] = Field(default_factory=lambda: [14, 3], description="Empty: no reminders.")
    own_filters: bool = Field(True, description="False: only followed topics select items.")
    timezone: str | None = None
    language: Language | None = None

    @field_validator("reminder_lead_days", mode="before")
    @classmethod
    def _lead_split(cls, value: Any) -> Any:
        return _as_list(value)

    @field_validator("reminder_lead_days")
    @classmethod
    def _lead(cls, value: list[int]) -> list[int]:
        if any(d < 0 or d > 90 for d in value):
            raise ValueError("reminder lead days must be between 0 and 90")
        if len(set(value)) > 5:
            raise ValueError("at most 5 reminder lead times")
        return sorted(set(value), reverse=True)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r}") from None
        return value.strip()

    def selection(self) -> TopicFilter:
        return TopicFilter.model_validate(self.model_dump(include=set(TopicFilter.model_fields)))


PREFERENCE_FIELDS: tuple[str, ...] = (
    *TopicFilter.model_fields,
    "frequency", "digest_weekday", "digest_hour", "reminder_lead_days", "own_filters",
)


def preferences_of(subscriber: Any) -> PreferencesInput:
    """The preferences stored on a subscriber row, as a validated model."""
    data = {name: getattr(subscriber, name) for name in PREFERENCE_FIELDS}
    data["timezone"] = getattr(subscriber, "timezone", None)
    data["language"] = getattr(subscriber, "language", None)
    return PreferencesInput.model_validate(data)


def apply_preferences(subscriber: Any, prefs: PreferencesInput) -> dict[str, Any]:
    """Copy ``prefs`` onto the row; returns the changed fields as {name: new value} for the log."""
    changed: dict[str, Any] = {}
    values = {name: getattr(prefs, name) for name in PREFERENCE_FIELDS}
    if prefs.timezone:
        values["timezone"] = prefs.timezone
    if prefs.language:
        values["language"] = prefs.language
    for name, value in values.items():
        if getattr(subscriber, name) != value:
            setattr(subscriber, name, list(value) if isinstance(value, list) else value)
            changed[name] = value
    return changed
