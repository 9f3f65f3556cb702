"""The classifier's input and output: the contract between adapters, store and `watcher classify`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(slots=True)
class Document:
    """What the classifier reads. ``deadlines`` come from structured source fields and win over text."""

    id: str
    title: str
    text: str = ""
    url: str | None = None
    language: str | None = None
    identifier: str | None = None
    published: date | None = None
    deadlines: list[date] = field(default_factory=list)
    default_kind: str | None = None
    programmes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Classification:
    """What the classifier decided, with the evidence (``why``) behind each ecosystem."""

    ecosystems: list[str] = field(default_factory=list)
    kind: str = "news"
    deadline: date | None = None
    deadlines: list[date] = field(default_factory=list)
    event_date: date | None = None
    language: str | None = None
    scores: dict[str, float] = field(default_factory=dict)
    why: dict[str, list[str]] = field(default_factory=dict)
    programmes: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
