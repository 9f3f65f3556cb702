"""Run Alembic migrations programmatically (`watcher db upgrade`, `make run`, tests)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from watcher.settings import PROJECT_ROOT, get_settings

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
# Alembic is imported inside the functions: every CLI command imports this module, few migrate.


def alembic_config(url: str | None = None) -> Config:
    from alembic.config import Config

    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url or get_settings().resolved_database_url())
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Bring the database at ``url`` (default: configured) up to ``revision``."""
    from alembic import command

    config = alembic_config(url)
    if revision == "head" and _at_head(config):
        return  # every `watcher poll` checks; running env.py to find nothing to do cost ~0.1 s
    command.upgrade(config, revision)


def _at_head(config: Config) -> bool:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from watcher.db import get_engine

    heads = set(ScriptDirectory.from_config(config).get_heads())
    engine = get_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads()) == heads


def autogenerate(message: str, url: str) -> Path | None:
    """Write a new revision from the model/database difference (developer tool)."""
    from alembic import command

    script = command.revision(alembic_config(url), message=message, autogenerate=True)
    if isinstance(script, list):
        script = script[0]
    return Path(script.path) if script is not None else None
