"""The `watcher` command. Each concern registers its commands from its own module."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
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


def _register_all() -> None:
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        module.register(app)


_register_all()


def main() -> None:
    app()
