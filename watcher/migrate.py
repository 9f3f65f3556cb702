"""Run Alembic migrations programmatically (`watcher db upgrade`, `make run`, tests)."""

from __future__ import annotations

import re
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
    if revision == "head" and _at_head(url or get_settings().resolved_database_url()):
        return  # every `watcher poll` checks: Alembic's import and env.py cost ~0.2 s to find nothing
    from alembic import command

    command.upgrade(alembic_config(url), revision)


_REVISION = re.compile(r"^revision: str = ['\"](\w+)['\"]", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision: [^=]+= (?:['\"](\w+)['\"]|None)", re.MULTILINE)


def script_heads() -> set[str] | None:
    """Head revisions of ``migrations/versions``, read from the files' ``revision`` lines without
    importing Alembic; None when a file is not in the generated form (then Alembic decides)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        revision, down = _REVISION.search(text), _DOWN_REVISION.search(text)
        if revision is None or down is None:
            return None
        revisions.add(revision.group(1))
        if down.group(1):
            parents.add(down.group(1))
    return revisions - parents


def _at_head(url: str) -> bool:
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    from watcher.db import get_engine

    heads = script_heads()
    if not heads:
        return False
    try:
        with get_engine(url).connect() as connection:
            current = {row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))}
    except SQLAlchemyError:  # no alembic_version table yet: a new database
        return False
    return current == heads


def autogenerate(message: str, url: str) -> Path | None:
    """Write a new revision from the model/database difference (developer tool)."""
    from alembic import command

    script = command.revision(alembic_config(url), message=message, autogenerate=True)
    if isinstance(script, list):
        script = script[0]
    return Path(script.path) if script is not None else None
