"""`watcher <command>` imports only its module, so the command map must match what modules register."""

from __future__ import annotations

import importlib

import typer

from watcher.cli import COMMAND_MODULES, COMMANDS


def _registered_by(module: str) -> set[str]:
    app = typer.Typer()
    importlib.import_module(module).register(app)
    commands = {
        command.name or command.callback.__name__ for command in app.registered_commands if command.callback
    }
    return commands | {group.name for group in app.registered_groups if group.name}


def test_every_command_maps_to_the_module_that_registers_it() -> None:
    actual = {name: module for module in COMMAND_MODULES for name in _registered_by(module)}
    assert actual == COMMANDS
