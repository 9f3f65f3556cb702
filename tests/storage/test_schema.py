"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

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


def test_json_columns_read_both_encodings_and_filter_on_either(engine: Engine) -> None:
    """Rows are written compact and UTF-8 (orjson); rows of earlier versions (``json.dumps``: spaces,
    ASCII escapes) still read the same and are found by the ecosystem filter."""
    from sqlalchemy import text

    from watcher.web.queries import json_list_contains

    with Session(engine) as session:
        session.add(Item(source_id="s", guid="new", url="https://x.eu/n", title="T", fingerprint="f",
                         ecosystems=["agri-food", "health"], why={"health": ["sanità"]}))
        session.add(Item(source_id="s", guid="old", url="https://x.eu/o", title="T", fingerprint="f"))
        session.commit()
        session.execute(
            text("UPDATE item SET ecosystems = :eco, why = :why WHERE guid = 'old'"),
            {"eco": json.dumps(["agri-food", "health"]), "why": json.dumps({"health": ["sanità"]})},
        )
        session.commit()
        as_text = "SELECT CAST(ecosystems AS TEXT), CAST(why AS TEXT) FROM item WHERE guid = 'new'"
        stored = session.execute(text(as_text)).one()
        assert tuple(str(value) for value in stored) == ('["agri-food","health"]', '{"health":["sanità"]}')
        session.expire_all()
        found = session.exec(select(Item).where(json_list_contains(Item.ecosystems, "health"))).all()
    assert sorted(item.guid for item in found) == ["new", "old"]
    assert all(item.why == {"health": ["sanità"]} for item in found)


def test_the_quick_head_check_agrees_with_alembic() -> None:
    """`watcher poll` skips Alembic when the database is at head; the files' heads must be Alembic's."""
    from alembic.script import ScriptDirectory

    from watcher.migrate import alembic_config, script_heads

    assert script_heads() == set(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())
