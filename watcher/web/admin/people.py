"""Subscriber forms shared by the subscribers and topics pages: parsing admin form input.

Free-text list fields ("keywords", "regions") are comma separated; validation is the delivery
side's ``PreferencesInput``/``TopicFilter``, so the console accepts exactly what the public form does.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from pydantic import ValidationError

from subscribers.preferences import PreferencesInput, TopicFilter

LIST_TEXT_FIELDS = (
    "programmes",
    "regions",
    "countries",
    "content_languages",
    "include_keywords",
    "exclude_keywords",
)
FIELD_MAX = 2000


def origin(request: Request) -> str:
    """Who changed it, for the consent log: the admin's name and address."""
    admin = getattr(request.state, "admin", None)
    name = admin.username if admin is not None else "unknown"
    host = request.client.host if request.client else "?"
    return f"admin {name} {host}"


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.replace("\n", ",").split(",") if part.strip()]


async def form_dict(request: Request) -> dict[str, Any]:
    """The posted form with repeated checkboxes as lists and text lists split on commas."""
    form = await request.form()
    data: dict[str, Any] = {}
    for key in ("ecosystems", "kinds"):
        data[key] = [str(v) for v in form.getlist(key)]
    for key in LIST_TEXT_FIELDS:
        raw = form.get(key)
        data[key] = _split(raw) if isinstance(raw, str) else []
    for key, raw in form.multi_items():
        if key not in data and isinstance(raw, str):
            data[key] = raw
    too_long = [key for key, value in data.items() if isinstance(value, str) and len(value) > FIELD_MAX]
    if too_long:
        raise ValueError(f"Field too long (over {FIELD_MAX} characters): {', '.join(too_long)}.")
    return data


def explain(error: ValidationError) -> str:
    """A one-line, human message from a pydantic error."""
    parts = []
    for problem in error.errors()[:5]:
        where = ".".join(str(p) for p in problem.get("loc", ()))
        parts.append(f"{where}: {problem.get('msg', 'invalid')}" if where else str(problem.get("msg")))
    return "; ".join(parts)


def preferences_from(data: dict[str, Any]) -> PreferencesInput:
    values: dict[str, Any] = {k: data[k] for k in ("ecosystems", "kinds", *LIST_TEXT_FIELDS) if k in data}
    for key in ("frequency", "digest_weekday", "digest_hour", "language", "timezone"):
        if data.get(key):
            values[key] = data[key]
    values["reminder_lead_days"] = _split(str(data.get("reminder_lead_days", "")))
    values["own_filters"] = data.get("own_filters") == "true"
    return PreferencesInput.model_validate(values)


def topic_filter_from(data: dict[str, Any]) -> TopicFilter:
    values = {k: data[k] for k in ("ecosystems", "kinds", *LIST_TEXT_FIELDS) if k in data}
    return TopicFilter.model_validate(values)
