"""What a successful fetch returns."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Validators:
    """Conditional-GET validators remembered per source."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(slots=True)
class FetchResult:
    """A completed request. ``not_modified`` is True for a 304 (``body`` is then empty)."""

    url: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    not_modified: bool = False
    validators: Validators = field(default_factory=Validators)
    elapsed_s: float = 0.0

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")
