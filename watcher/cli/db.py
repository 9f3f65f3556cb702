"""`watcher db ...`: schema migrations."""

from __future__ import annotations

import typer

from watcher import migrate
from watcher.settings import get_settings


def register(app: typer.Typer) -> None:
    db = typer.Typer(help="Database schema.", no_args_is_help=True)

    @db.command("upgrade")
    def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
        """Apply Alembic migrations to the configured database."""
        migrate.upgrade(revision=revision)
        typer.echo(f"database at {get_settings().resolved_database_url()} is at {revision}")

    app.add_typer(db, name="db")
