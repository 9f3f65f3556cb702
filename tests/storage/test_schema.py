"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

import watcher.all_models  # noqa: F401
from watcher.models import Item


def test_migrations_match_models(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == [], f"models and migrations differ; add a revision: {diff}"


def test_item_json_columns_round_trip(engine: Engine) -> None:
    with Session(engine) as session:
        session.add(
            Item(source_id="s", guid="g", url="https://x.eu/a", title="T", fingerprint="f",
                 ecosystems=["health"], scores={"health": 4.5}, why={"health": ["salute"]})
        )
        session.commit()
        item = session.exec(select(Item)).one()
    assert item.ecosystems == ["health"] and item.scores == {"health": 4.5}


def test_the_quick_head_check_agrees_with_alembic() -> None:
    """`watcher poll` skips Alembic when the database is at head; the files' heads must be Alembic's."""
    from alembic.script import ScriptDirectory

    from watcher.migrate import alembic_config, script_heads

    assert script_heads() == set(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())
