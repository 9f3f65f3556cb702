"""Commands of this concern (filled in by its owner)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    register_admin(app)


def register_admin(app: typer.Typer) -> None:
    """The `admin` command group lives with the admin console."""
    from watcher.web.admin.cli import register_admin as add_admin_commands

    add_admin_commands(app)
