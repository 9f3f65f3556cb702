"""Interface language for the web pages: which language a request gets, and the it/en message catalogue.

The order is: an explicit ``?lang=`` (the switch in the header), then the ``lang`` cookie it leaves,
then the browser's Accept-Language, then English. Messages live in YAML files next to the templates
(``templates/web/locales/<lang>.yaml``) so translators never touch Python; a missing key falls back
to English and then to the key itself, so a forgotten translation shows up as text, never as a 500.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from starlette.requests import Request

from subscribers.preferences import ECOSYSTEM_NAMES as _DELIVERY_NAMES
from watcher.settings import PROJECT_ROOT

LANGUAGES: tuple[str, ...] = ("en", "it")
DEFAULT_LANGUAGE = "en"
LANG_COOKIE = "lang"
LOCALES_DIR = PROJECT_ROOT / "templates" / "web" / "locales"

# Ecosystem names are the EU's (DESIGN.md); the delivery side keeps the one table, emails and pages
# use the same words. The taxonomy file's names win when it has them.
ECOSYSTEM_NAMES: dict[str, tuple[str, str]] = dict(_DELIVERY_NAMES)
ECOSYSTEM_SLUGS: tuple[str, ...] = tuple(ECOSYSTEM_NAMES)


def _flatten(prefix: str, value: Any, into: dict[str, str]) -> None:
    if isinstance(value, Mapping):
        for key, sub in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), sub, into)
    else:
        into[prefix] = str(value)


@lru_cache(maxsize=8)
def _catalogue_from(directory: Path, language: str) -> dict[str, str]:
    path = directory / f"{language}.yaml"
    if not path.exists():
        return {}
    flat: dict[str, str] = {}
    _flatten("", yaml.safe_load(path.read_text(encoding="utf-8")) or {}, flat)
    return flat


_extra: dict[str, dict[str, str]] = {lang: {} for lang in LANGUAGES}


def register_messages(language: str, messages: Mapping[str, str]) -> None:
    """Let another part of the app (the admin console) add its own keys without editing our files."""
    _extra.setdefault(language, {}).update(messages)


def catalogue(language: str) -> dict[str, str]:
    """All messages of ``language``: the YAML file plus registered extras."""
    merged = dict(_catalogue_from(LOCALES_DIR, language))
    merged.update(_extra.get(language, {}))
    return merged


def translate(language: str, key: str, **params: Any) -> str:
    """The message for ``key``; English, then the key itself, when missing. ``{name}`` params are filled."""
    text = catalogue(language).get(key) or catalogue(DEFAULT_LANGUAGE).get(key) or key
    if params:
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            return text
    return text


def translator(language: str) -> Callable[..., str]:
    """``t(key, **params)`` bound to one language, for templates."""

    def t(key: str, **params: Any) -> str:
        return translate(language, key, **params)

    return t


def normalise_language(value: str | None) -> str | None:
    """``"it-IT"`` → ``"it"``; None for anything we do not offer."""
    if not value:
        return None
    primary = value.strip().lower().replace("_", "-").split("-", 1)[0]
    return primary if primary in LANGUAGES else None


def from_accept_language(header: str | None) -> str | None:
    """The best offered language in an Accept-Language header, honouring q-values."""
    if not header:
        return None
    choices: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        language = normalise_language(tag)
        if language and quality > 0:
            choices.append((-quality, position, language))
    return min(choices)[2] if choices else None


def request_language(request: Request) -> str:
    """The interface language for this request (query, cookie, Accept-Language, default)."""
    return (
        normalise_language(request.query_params.get("lang"))
        or normalise_language(request.cookies.get(LANG_COOKIE))
        or from_accept_language(request.headers.get("accept-language"))
        or DEFAULT_LANGUAGE
    )


def ecosystem_name(slug: str, language: str) -> str:
    """Display name of an ecosystem in ``language`` (taxonomy file when available, else DESIGN table)."""
    names = _taxonomy_names().get(slug) or ECOSYSTEM_NAMES.get(slug)
    if not names:
        return slug
    return names[1] if language == "it" else names[0]


@lru_cache(maxsize=1)
def _taxonomy_names() -> dict[str, tuple[str, str]]:
    """Names from config/ecosystems.yaml when it exists and has them; tolerant of its exact shape."""
    path = PROJECT_ROOT / "config" / "ecosystems.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    entries = data.get("ecosystems", data) if isinstance(data, dict) else data
    names: dict[str, tuple[str, str]] = {}
    items = entries.items() if isinstance(entries, dict) else ((None, e) for e in entries or [])
    for key, entry in items:
        if not isinstance(entry, dict):
            continue
        slug = entry.get("slug") or key
        name = entry.get("names") or entry.get("name") or {}
        en = entry.get("name_en") or (name.get("en") if isinstance(name, dict) else name)
        it = entry.get("name_it") or (name.get("it") if isinstance(name, dict) else None)
        if isinstance(slug, str) and isinstance(en, str):
            names[slug] = (en, it if isinstance(it, str) else en)
    return names
