"""Reading the subscribe and preferences forms: sizes checked first, then ``PreferencesInput``.

Errors come back as message keys (or pydantic's text for a specific field), never exceptions, so the
view can re-render the form with what the person typed and say what to fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from subscribers.preferences import PREFERENCE_FIELDS, PreferencesInput
from watcher.settings import Settings

TEXT_FIELDS = ("email", "name", "include_keywords", "exclude_keywords", "language", "frequency")
LIST_FIELDS = ("ecosystems", "kinds", "topics")
EMAIL_MAX = 320
NAME_MAX = 200
MAX_CHOICES = 100


@dataclass
class FormResult:
    """What the person sent (to re-fill the form) and what is wrong with it."""

    values: dict[str, Any]
    errors: list[str] = field(default_factory=list)
    prefs: PreferencesInput | None = None
    topic_ids: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and self.prefs is not None


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _many(form: FormData, name: str) -> list[str]:
    return [v.strip() for v in form.getlist(name) if isinstance(v, str) and v.strip()]


def read_values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {name: _text(form, name) for name in TEXT_FIELDS}
    values.update({name: _many(form, name) for name in LIST_FIELDS})
    values["consent"] = bool(_text(form, "consent"))
    return values


def _too_long(values: dict[str, Any], settings: Settings) -> bool:
    limits = {"email": EMAIL_MAX, "name": NAME_MAX}
    for name in TEXT_FIELDS:
        if len(values[name]) > limits.get(name, settings.form_text_max_chars):
            return True
    return any(len(values[name]) > MAX_CHOICES for name in LIST_FIELDS)


def _field_errors(error: ValidationError) -> list[str]:
    lines = []
    for problem in error.errors()[:5]:
        where = ".".join(str(part) for part in problem.get("loc", ()))
        message = str(problem.get("msg", "invalid")).removeprefix("Value error, ")
        lines.append(f"{where}: {message}" if where else message)
    return lines


def parse_preferences(
    form: FormData,
    settings: Settings,
    *,
    base: PreferencesInput | None = None,
    topic_choices: Sequence[int] = (),
) -> FormResult:
    """The form as ``PreferencesInput`` on top of ``base`` (fields the form lacks are kept)."""
    values = read_values(form)
    result = FormResult(values=values)
    if _too_long(values, settings):
        result.errors.append("subscribe.too_long")
        return result
    data: dict[str, Any] = base.model_dump() if base else {}
    data.update(
        ecosystems=values["ecosystems"],
        kinds=values["kinds"],
        include_keywords=values["include_keywords"],
    )
    if "exclude_keywords" in form:
        data["exclude_keywords"] = values["exclude_keywords"]
    if values["frequency"]:
        data["frequency"] = values["frequency"]
    if values["language"]:
        data["language"] = values["language"]
    try:
        topic_ids = [int(v) for v in values["topics"]]
    except ValueError:
        topic_ids = [-1]
    if any(topic_id not in topic_choices for topic_id in topic_ids):
        result.errors.append("error.bad_request_text")
        return result
    result.topic_ids = topic_ids
    try:
        result.prefs = PreferencesInput.model_validate(
            {k: v for k, v in data.items() if k in PREFERENCE_FIELDS or k in ("language", "timezone")}
        )
    except ValidationError as error:
        result.errors.extend(_field_errors(error))
    return result


def form_values_from(
    prefs: PreferencesInput, *, topic_ids: Sequence[int], extra: dict[str, Any]
) -> dict[str, Any]:
    """The values a form shows for stored preferences."""
    return {
        "ecosystems": list(prefs.ecosystems),
        "kinds": list(prefs.kinds),
        "frequency": prefs.frequency,
        "language": prefs.language or "en",
        "include_keywords": ", ".join(prefs.include_keywords),
        "exclude_keywords": ", ".join(prefs.exclude_keywords),
        "topics": [str(t) for t in topic_ids],
        **extra,
    }
