"""What every adapter promises: take a source and a fetcher, give back drafts (and why some are odd).

Adapters only extract; cleaning, canonical URLs and classification happen downstream, so a golden
file of an adapter's output shows exactly what the source said.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from watcher.drafts import ItemDraft
from watcher.fetch.client import Fetcher
from watcher.fetch.result import Validators
from watcher.sources.config import SourceConfig


@dataclass(slots=True)
class Collected:
    """One poll's outcome. ``not_modified`` means the source answered 304 and ``drafts`` is empty."""

    drafts: list[ItemDraft]
    not_modified: bool = False
    validators: Validators = field(default_factory=Validators)
    warnings: list[str] = field(default_factory=list)


class Adapter(Protocol):
    """Turns one source into drafts. Raises FetchError/ParseError; never returns [] to hide a failure."""

    async def collect(self, source: SourceConfig, fetcher: Fetcher, validators: Validators) -> Collected: ...


class BodyParser(Protocol):
    """A pure parse function of a fetched body: drafts plus warnings, or ParseError."""

    def __call__(
        self, body: bytes, *, source: SourceConfig, base_url: str, content_type: str = ""
    ) -> tuple[list[ItemDraft], list[str]]: ...


async def fetch_and_parse(
    source: SourceConfig, fetcher: Fetcher, validators: Validators, *, parse: BodyParser
) -> Collected:
    """One conditional GET of ``source.url`` and, unless it answered 304, ``parse`` of the body.

    The parse runs inline: big rounds already spread sources over pool processes.
    """
    result = await fetcher.get(source.url, validators=validators)
    if result.not_modified:
        return Collected(drafts=[], not_modified=True, validators=result.validators)
    drafts, warnings = parse(
        result.body, source=source, base_url=result.url, content_type=result.content_type
    )
    return Collected(drafts=drafts, validators=result.validators, warnings=warnings)


__all__ = ["Adapter", "Collected", "Fetcher", "adapter_for", "fetch_and_parse"]


def adapter_for(source: SourceConfig) -> Adapter:
    """The adapter for ``source.type`` (see ``watcher.sources.registry``)."""
    from watcher.sources.registry import adapter_class

    return adapter_class(source.type)()
