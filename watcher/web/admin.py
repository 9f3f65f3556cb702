"""Web: admin part (its owner fills it in; may become a package)."""

from __future__ import annotations

from fastapi import FastAPI

from watcher.settings import Settings


def install(app: FastAPI, settings: Settings) -> None:
    """Add this part's routes, middleware or state to `app`."""
