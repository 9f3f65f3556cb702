"""Source adapters: configured sources in, ``ItemDraft`` values out (no cleaning, no classifying)."""

from watcher.sources.base import Adapter, Collected, adapter_for
from watcher.sources.config import SourceConfig, SourcesConfigError, load_sources

__all__ = ["Adapter", "Collected", "SourceConfig", "SourcesConfigError", "adapter_for", "load_sources"]
