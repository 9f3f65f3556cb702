"""The sources file: what to poll, how often, and the options each adapter type needs.

Validated in full at start-up so a typo fails loudly with the source and field at fault, instead of
a source that silently returns nothing weeks later.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from watcher.cache_files import write_atomically

SourceType = Literal["rss", "html", "ftportal", "grantstenders"]
Kind = Literal["call", "event", "news"]

MIN_INTERVAL_S = 60
DEFAULT_INTERVAL_S = 6 * 3600
_INTERVAL_RE = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class SourcesConfigError(ValueError):
    """The sources file is unusable; the message names the file, source and field at fault."""


def parse_interval(value: object) -> int:
    """Seconds from ``"30m"``, ``"6h"``, ``"1d"``, ``"90s"`` or a plain number of seconds."""
    if isinstance(value, bool):
        raise ValueError("interval must be a duration like '30m', '6h', '1d' or seconds")
    if isinstance(value, int):
        return value
    match = _INTERVAL_RE.match(str(value))
    if not match:
        raise ValueError(f"interval {value!r} is not a duration like '30m', '6h', '1d' or seconds")
    return int(match.group(1)) * _UNIT_S[match.group(2)]


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RssOptions(_Options):
    """RSS/Atom feeds. ``rewrite_host`` fixes Drupal feeds whose links point at ``http://default/``."""

    type: Literal["rss"] = "rss"
    rewrite_host: str | None = Field(
        None, description="scheme://host that replaces the host of links found on `rewrite_from_hosts`."
    )
    rewrite_from_hosts: list[str] = Field(
        default_factory=lambda: ["default"], description="Link hosts that are placeholders to rewrite."
    )
    max_items: int | None = Field(None, ge=1, description="Keep only the first N entries of the feed.")
    closed_markers: list[str] = Field(
        default_factory=list,
        description="Words that, on a line of their own at the start of an entry's description, say it"
        " is over (Regione Piemonte writes 'Scaduto' or 'Esito'); such entries are skipped.",
    )
    include_closed: bool = Field(False, description="Keep entries that carry a closed marker.")

    @field_validator("rewrite_host")
    @classmethod
    def _http_origin(cls, value: str | None) -> str | None:
        if value is not None:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError("must be an http(s) origin like 'https://clustercollaboration.eu'")
            return f"{parts.scheme}://{parts.netloc}"
        return value


class HtmlOptions(_Options):
    """Listing pages: one CSS selector per field, relative to each item element."""

    type: Literal["html"] = "html"
    item_selector: str = Field(description="CSS selector of one listing entry (a card, a row).")
    title_selector: str | None = Field(None, description="Title inside the item; default: the item text.")
    link_selector: str | None = Field("a[href]", description="Element whose href is the item link.")
    date_selector: str | None = Field(None, description="Element holding the publication/event date.")
    date_attribute: str | None = Field(
        None, description="Attribute to read the date from (e.g. `datetime`) instead of the text."
    )
    summary_selector: str | None = Field(None, description="Element holding a short description.")
    date_languages: list[str] = Field(
        default_factory=lambda: ["it", "en", "fr", "de"], description="dateparser languages to try."
    )
    date_field: Literal["published", "event_date"] = Field(
        "published", description="Whether the listed date is the publication date or the event date."
    )


class FtPortalOptions(_Options):
    """EU Funding & Tenders search API: query filters, paging, language preference."""

    type: Literal["ftportal"] = "ftportal"
    types: list[int] = Field(default_factory=lambda: [0, 1, 2, 8], description="0 tender; 1/2/8 grants.")
    statuses: list[int] = Field(
        default_factory=lambda: [31094501, 31094502], description="31094501 forthcoming, 31094502 open."
    )
    programmes: list[str] = Field(
        default_factory=list, description="frameworkProgramme ids to keep (e.g. '43108390' HORIZON)."
    )
    extra_filters: list[dict[str, Any]] = Field(
        default_factory=list, description="More Elasticsearch clauses ANDed into the query as-is."
    )
    languages: list[str] = Field(default_factory=lambda: ["en", "it"], description="`languages` part.")
    sort: dict[str, str] = Field(
        default_factory=lambda: {"field": "sortStatus", "order": "ASC"}, description="`sort` part."
    )
    page_size: int = Field(100, ge=1, le=100, description="Results per page (the API caps it at 100).")
    max_pages: int = Field(20, ge=1, le=1000, description="Stop after this many pages even if more.")
    include_closed: bool = Field(False, description="Keep topics whose deadlines have all passed.")


class GrantsTendersOptions(_Options):
    """The daily ``grantsTenders.json`` reference file (~130 MB), streamed."""

    type: Literal["grantstenders"] = "grantstenders"
    types: list[int] = Field(default_factory=lambda: [0, 1, 2, 8], description="Topic types to keep.")
    include_closed: bool = Field(False, description="Keep topics whose deadlines have all passed.")


SourceOptions = Annotated[
    RssOptions | HtmlOptions | FtPortalOptions | GrantsTendersOptions, Field(discriminator="type")
]


class SourceConfig(BaseModel):
    """One entry of ``config/sources.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: str
    name: str = Field(min_length=1)
    url: str
    type: SourceType
    interval_s: int = Field(DEFAULT_INTERVAL_S, alias="interval", ge=MIN_INTERVAL_S)
    language: str | None = Field(None, pattern=r"^[a-z]{2}$")
    region: str | None = None
    country: str | None = Field(None, pattern=r"^[A-Z]{2}$")
    kind: Kind | None = None
    enabled: bool = True
    options: SourceOptions

    @model_validator(mode="before")
    @classmethod
    def _tag_options(cls, data: Any) -> Any:
        """Options are typed by the source's ``type``; the YAML never repeats it."""
        if isinstance(data, dict) and data.get("type") in _OPTION_TYPES:
            options = data.get("options") or {}
            if isinstance(options, dict):
                data = {**data, "options": {**options, "type": data["type"]}}
        return data

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _SLUG_RE.match(value):
            raise ValueError("must be a slug of lowercase letters, digits and hyphens")
        return value

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an absolute http(s) URL")
        return value

    @field_validator("interval_s", mode="before")
    @classmethod
    def _interval(cls, value: object) -> int:
        return parse_interval(value)


_OPTION_TYPES = ("rss", "html", "ftportal", "grantstenders")


def _describe_error(error: dict[str, Any]) -> str:
    loc = [str(part) for part in error["loc"]]
    if len(loc) >= 2 and loc[0] == "options" and loc[1] in _OPTION_TYPES:
        loc = [loc[0], *loc[2:]]  # drop the discriminator tag pydantic adds to the path
    field = ".".join(loc).replace("interval_s", "interval") or "(entry)"
    return f"field '{field}': {error['msg'].lower()}"


def validate_source(raw: object, *, index: int, origin: str) -> SourceConfig:
    """One source entry, or a SourcesConfigError naming it (``index`` is 1-based)."""
    label = raw.get("id", "?") if isinstance(raw, dict) else "?"
    if not isinstance(raw, dict):
        raise SourcesConfigError(f"{origin}: source #{index}: expected a mapping, got {type(raw).__name__}")
    try:
        return SourceConfig.model_validate(raw)
    except ValidationError as exc:
        details = "; ".join(_describe_error(dict(e)) for e in exc.errors())
        raise SourcesConfigError(f"{origin}: source '{label}' (#{index}): {details}") from None


# libyaml's safe loader reads a 1,000-source file in a tenth of the pure-Python loader's time.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _parsed_copy(text: str) -> Path | None:
    """Where the parsed form of ``text`` is kept as JSON: building Python objects from YAML cost
    0.07-0.14 s for 1,000 sources even with libyaml, a tenth of a `watcher poll` of unchanged
    feeds; JSON loads in a few milliseconds. None when there is no usable cache directory."""
    try:
        from watcher.settings import get_settings

        directory = get_settings().resolved_cache_dir()
    except Exception:  # settings unusable: the caller reports that on its own
        return None
    return directory / f"sources-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:32]}.json"


def _parse_yaml(text: str) -> Any:
    """``text`` parsed, from the JSON copy an earlier process left when there is one."""
    copy = _parsed_copy(text)
    if copy is not None:
        try:
            return json.loads(copy.read_bytes())
        except (OSError, ValueError):
            pass  # none yet, or damaged: parse the YAML and write it again
    data = yaml.load(text, Loader=_SAFE_LOADER)
    if copy is not None:
        encoded = json.dumps(data, ensure_ascii=False, default=_not_json).encode("utf-8")
        if json.loads(encoded) == data:  # dates or non-string keys would not come back the same
            with contextlib.suppress(OSError):
                write_atomically(copy, encoded, kind="sources-*.json")
    return data


def _not_json(value: Any) -> str:
    return f"\x00{value!r}"  # never equal to the original: the copy is not kept


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourcesConfigError(f"{path}: cannot read sources file: {exc.strerror or exc}") from None
    try:
        return _parse_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SourcesConfigError(f"{path}:{where}: invalid YAML: {problem}") from None


_cache: dict[Path, tuple[tuple[int, int], list[SourceConfig]]] = {}


def load_sources(path: Path) -> list[SourceConfig]:
    """Every source in ``path`` (a mapping with a ``sources`` list), validated as a whole.

    Callers re-read the file every round so edits apply without a restart; an unchanged file
    (same modification time and size) is not parsed again.
    """
    try:
        stat = Path(path).stat()
    except OSError:
        stat = None
    if stat is not None:
        cached = _cache.get(Path(path))
        if cached is not None and cached[0] == (stat.st_mtime_ns, stat.st_size):
            return list(cached[1])
    sources = _load(path)
    if stat is not None:
        _cache[Path(path)] = ((stat.st_mtime_ns, stat.st_size), sources)
    return list(sources)


def _load(path: Path) -> list[SourceConfig]:
    data = _read_yaml(path)
    entries = data.get("sources") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise SourcesConfigError(f"{path}: expected a top-level 'sources:' list")
    sources = [validate_source(raw, index=i, origin=str(path)) for i, raw in enumerate(entries, start=1)]
    seen: dict[str, int] = {}
    for index, source in enumerate(sources, start=1):
        if source.id in seen:
            raise SourcesConfigError(
                f"{path}: source '{source.id}' (#{index}): field 'id': duplicate of source #{seen[source.id]}"
            )
        seen[source.id] = index
    return sources
