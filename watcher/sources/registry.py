"""Which adapter serves which source ``type``: the one place a new type is plugged in.

Adapters are imported when a source of their type is polled: a round of RSS feeds never loads
BeautifulSoup or the streaming JSON reader (a tenth of a second at every `watcher poll`).
"""

from __future__ import annotations

import importlib
from functools import cache

from watcher.sources.base import Adapter

ADAPTERS: dict[str, str] = {
    "rss": "watcher.sources.rss:RssAdapter",
    "html": "watcher.sources.html:HtmlAdapter",
    "ftportal": "watcher.sources.ftportal:FtPortalAdapter",
    "grantstenders": "watcher.sources.grantstenders:GrantsTendersAdapter",
}


@cache
def adapter_class(source_type: str) -> type[Adapter]:
    """The adapter class for ``source_type`` (a KeyError names an unknown type)."""
    module, _, name = ADAPTERS[source_type].partition(":")
    adapter: type[Adapter] = getattr(importlib.import_module(module), name)
    return adapter
