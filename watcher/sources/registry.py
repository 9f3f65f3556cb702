"""Which adapter serves which source ``type``: the one place a new type is plugged in."""

from __future__ import annotations

from collections.abc import Callable

from watcher.sources.base import Adapter
from watcher.sources.ftportal import FtPortalAdapter
from watcher.sources.grantstenders import GrantsTendersAdapter
from watcher.sources.html import HtmlAdapter
from watcher.sources.rss import RssAdapter

ADAPTERS: dict[str, Callable[[], Adapter]] = {
    "rss": RssAdapter,
    "html": HtmlAdapter,
    "ftportal": FtPortalAdapter,
    "grantstenders": GrantsTendersAdapter,
}
