"""drop redundant item indexes

Every index is written on each insert, and a first poll of many sources inserts thousands of rows.
These three serve no query: source_id is the first column of uq_item_source_guid, kind the first
column of ix_item_kind_published, and nothing looks items up by fingerprint.

Revision ID: c3a9e51f0b27
Revises: 5b1e0c7d9a43
Create Date: 2026-11-22 04:00:00
"""
from collections.abc import Sequence

from alembic import op


revision: str = 'c3a9e51f0b27'
down_revision: str | None = '5b1e0c7d9a43'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DROPPED = {"ix_item_source_id": "source_id", "ix_item_kind": "kind", "ix_item_fingerprint": "fingerprint"}


def upgrade() -> None:
    for name in DROPPED:
        op.drop_index(name, table_name="item")


def downgrade() -> None:
    for name, column in DROPPED.items():
        op.create_index(name, "item", [column], unique=False)
