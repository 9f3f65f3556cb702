"""The `watcher` command. Each concern registers its commands from its own module.

Commands are registered when the app is first used, not when this package is imported: pool
workers start by re-importing the script that launched their parent (``spawn``), and importing
every command module there cost each worker a third of a second before it did any work. For the
same reason `watcher poll` (run by cron or the benchmark every few minutes) imports only the
module of the command it runs; ``--help`` and unknown names get them all.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import typer

from watcher import gc_tuning

_app = typer.Typer(
    name="watcher",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

# The module that registers each top-level command; each module exposes ``register(app)``.
COMMANDS = {
    "db": "watcher.cli.db",
    **dict.fromkeys(["poll", "run", "demo", "sources", "items"], "watcher.cli.ingest"),
    **dict.fromkeys(["classify", "eval", "reclassify", "corrections"], "watcher.cli.classifying"),
    **dict.fromkeys(["subscribers", "topics", "digest", "alerts", "reminders"], "watcher.cli.delivery"),
    "outbox": "watcher.cli.outbox",
    **dict.fromkeys(["serve", "admin"], "watcher.cli.web"),
    **dict.fromkeys(["worker", "export", "import"], "watcher.cli.ops"),
}
COMMAND_MODULES = list(dict.fromkeys(COMMANDS.values()))
_registered: set[str] = set()


@_app.callback()  # also keeps a one-command app a group (`watcher poll`, not `watcher`)
def _group() -> None:
    """Cluster Watch: EU funding calls, events and cluster news, classified and delivered."""


def get_app(modules: list[str] | None = None) -> typer.Typer:
    """The app with the commands of ``modules`` (default: all) registered, each module once."""
    for name in COMMAND_MODULES if modules is None else modules:
        if name not in _registered:
            importlib.import_module(name).register(_app)
            _registered.add(name)
    return _app


def __getattr__(name: str) -> Any:
    """``from watcher.cli import app`` (tests, tools) gets the registered app."""
    if name == "app":
        return get_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    command = next((arg for arg in sys.argv[1:] if not arg.startswith("-")), None)
    wanted = COMMANDS.get(command or "")
    help_asked = any(arg in ("--help", "-h") for arg in sys.argv[1:2])
    with gc_tuning.importing():
        app = get_app([wanted] if wanted and not help_asked else None)
    app()
