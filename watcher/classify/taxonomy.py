"""The taxonomy file (``config/ecosystems.yaml``): ecosystems, their vocabularies and every cue list.

Everything a domain expert may want to tune lives in that file so admins can edit it without code:
ecosystem names and descriptions (shown by emails and the web), weighted terms, identifier hints,
programme and cluster-policy tag patterns, kind cues. This module validates it and turns it into
plain values plus the ``(term, Entry)`` pairs the :class:`PhraseMatcher` compiles.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from watcher.classify.matcher import Entry

# Groups of cue lists outside the ecosystems; each is a mapping weight -> terms, or a plain list.
CUE_GROUPS = ("neutral", "generic", "administrative")
KIND_GROUPS = ("call", "event", "past", "future")


class TaxonomyError(ValueError):
    """The taxonomy file is missing, unreadable or malformed; the message says where."""


@dataclass(frozen=True, slots=True)
class IdentifierRule:
    """A regex searched in an item's identifier (``^EDF-``, ``^HORIZON-HLTH``) and its weight."""

    pattern: re.Pattern[str]
    weight: float


@dataclass(frozen=True, slots=True)
class Label:
    """An ecosystem, programme or tag: slug, localized names, description, identifier rules."""

    slug: str
    names: Mapping[str, str]
    description: str = ""
    identifiers: tuple[IdentifierRule, ...] = ()

    def name(self, language: str | None = None) -> str:
        return self.names.get(language or "en") or self.names.get("en") or self.slug


@dataclass(frozen=True, slots=True)
class Taxonomy:
    """The validated taxonomy; ``terms`` feeds the matcher, the rest is for display and rules."""

    ecosystems: dict[str, Label]
    programmes: dict[str, Label]
    tags: dict[str, Label]
    terms: list[tuple[str, Entry]] = field(default_factory=list)
    path: Path | None = None

    @property
    def slugs(self) -> list[str]:
        return list(self.ecosystems)

    def name(self, slug: str, language: str | None = None) -> str:
        """Localized ecosystem name (English when the language is missing); the slug if unknown."""
        label = self.ecosystems.get(slug)
        return label.name(language) if label else slug

    def description(self, slug: str) -> str:
        label = self.ecosystems.get(slug)
        return label.description if label else ""


def _weighted_terms(value: Any, *, where: str, default_weight: float = 1.0) -> Iterator[tuple[str, float]]:
    """Terms from ``{weight: [terms]}`` or ``[terms]`` (weight ``default_weight``)."""
    if value is None:
        return
    if isinstance(value, list):
        value = {default_weight: value}
    if not isinstance(value, dict):
        raise TaxonomyError(
            f"{where}: expected a mapping weight -> list of terms, got {type(value).__name__}"
        )
    for weight, terms in value.items():
        try:
            number = float(weight)
        except (TypeError, ValueError) as error:
            raise TaxonomyError(f"{where}: weight {weight!r} is not a number") from error
        if not isinstance(terms, list) or not all(isinstance(term, str) and term.strip() for term in terms):
            raise TaxonomyError(f"{where}: weight {weight} must list non-empty strings")
        for term in terms:
            yield term, number


def _identifier_rules(value: Any, *, where: str) -> tuple[IdentifierRule, ...]:
    rules = []
    for pattern, weight in _weighted_terms(value, where=f"{where}.identifiers", default_weight=5.0):
        try:
            rules.append(IdentifierRule(re.compile(pattern, re.IGNORECASE), weight))
        except re.error as error:
            raise TaxonomyError(f"{where}.identifiers: bad regex {pattern!r}: {error}") from error
    return tuple(rules)


def _labels(raw: Any, *, group: str, terms: list[tuple[str, Entry]]) -> dict[str, Label]:
    if not isinstance(raw, list):
        raise TaxonomyError(f"{group}: expected a list")
    labels: dict[str, Label] = {}
    for position, spec in enumerate(raw):
        if not isinstance(spec, dict) or not isinstance(spec.get("slug"), str):
            raise TaxonomyError(f"{group}[{position}]: each entry needs a 'slug'")
        slug = spec["slug"]
        where = f"{group} {slug!r}"
        if slug in labels:
            raise TaxonomyError(f"{where}: duplicate slug")
        names = spec.get("names") or {"en": spec.get("name", slug)}
        if not isinstance(names, dict) or not all(isinstance(v, str) for v in names.values()):
            raise TaxonomyError(f"{where}: 'names' must map language codes to strings")
        labels[slug] = Label(
            slug=slug,
            names=dict(names),
            description=str(spec.get("description", "")).strip(),
            identifiers=_identifier_rules(spec.get("identifiers"), where=where),
        )
        entry_group = {"ecosystems": "eco", "programmes": "programme", "tags": "tag"}[group]
        for term, weight in _weighted_terms(spec.get("terms"), where=f"{where}.terms"):
            terms.append((term, Entry(entry_group, slug, weight, term)))
    return labels


def parse_taxonomy(data: Any, *, path: Path | None = None) -> Taxonomy:
    """Validate the parsed YAML document and build the :class:`Taxonomy`."""
    if not isinstance(data, dict) or "ecosystems" not in data:
        raise TaxonomyError(f"{path or 'taxonomy'}: expected a mapping with an 'ecosystems' list")
    terms: list[tuple[str, Entry]] = []
    ecosystems = _labels(data["ecosystems"], group="ecosystems", terms=terms)
    programmes = _labels(data.get("programmes") or [], group="programmes", terms=terms)
    tags = _labels(data.get("tags") or [], group="tags", terms=terms)
    for group in CUE_GROUPS:
        for term, weight in _weighted_terms(data.get(group), where=group):
            terms.append((term, Entry(group, group, weight, term)))
    kinds = data.get("kinds") or {}
    if not isinstance(kinds, dict):
        raise TaxonomyError("kinds: expected a mapping")
    for kind in KIND_GROUPS:
        for term, weight in _weighted_terms(kinds.get(kind), where=f"kinds.{kind}"):
            terms.append((term, Entry("kind", kind, weight, term)))
    return Taxonomy(ecosystems=ecosystems, programmes=programmes, tags=tags, terms=terms, path=path)


# libyaml's parser when PyYAML was built with it: every process that classifies loads this file.
_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_SafeLoader):
    """SafeLoader that refuses duplicate keys: a second ``3:`` list would silently replace the first."""


def _mapping_without_duplicates(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: set[Any] = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return yaml.constructor.SafeConstructor.construct_mapping(loader, node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def load_taxonomy(path: Path) -> Taxonomy:
    """Read and validate the taxonomy file; a bad file raises :class:`TaxonomyError` naming it."""
    try:
        data = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_StrictLoader)
    except OSError as error:
        raise TaxonomyError(f"cannot read taxonomy {path}: {error}") from error
    except yaml.YAMLError as error:
        raise TaxonomyError(f"taxonomy {path} is not valid YAML: {error}") from error
    return parse_taxonomy(data, path=Path(path))
