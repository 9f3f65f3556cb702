"""The `watcher` command. Each concern registers its commands from its own module.

Commands are registered when the app is first used, not when this package is imported: pool
workers start by re-importing the script that launched their parent (``spawn``), and importing
every command module there cost each worker a third of a second before it did any work.
"""

from __future__ import annotations

import importlib
from typing import Any

import typer

_app = typer.Typer(
    name="watcher",
    help="Cluster Watch: EU funding calls, events and cluster news, classified and delivered.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

# Modules that add commands to ``app``; each exposes ``register(app)``.
COMMAND_MODULES = [
    "watcher.cli.db",
    "watcher.cli.ingest",
    "watcher.cli.classifying",
    "watcher.cli.delivery",
    "watcher.cli.outbox",
    "watcher.cli.web",
    "watcher.cli.ops",
]


_registered = False


def get_app() -> typer.Typer:
    """The app with every command registered (once)."""
    global _registered
    if not _registered:
        for name in COMMAND_MODULES:
            importlib.import_module(name).register(_app)
        _registered = True
    return _app


def __getattr__(name: str) -> Any:
    """``from watcher.cli import app`` (tests, tools) gets the registered app."""
    if name == "app":
        return get_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    get_app()()
