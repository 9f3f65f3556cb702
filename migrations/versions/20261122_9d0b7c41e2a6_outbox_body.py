"""outbox message bytes in their own table

Revision ID: 9d0b7c41e2a6
Revises: c3a9e51f0b27
Create Date: 2026-11-22 08:10:00

The ~40 KiB message bytes move to ``outbox_body`` (written once), so SQLite no longer rewrites
them each time an outbox row changes state. Existing messages are copied across, then the
column is dropped; downgrade copies them back.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '9d0b7c41e2a6'
down_revision: str | None = 'c3a9e51f0b27'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The foreign key comes last: SQLite's batch mode drops and recreates ``outbox`` to drop the
    # column, and with foreign keys enforced that drop would cascade to the bodies just copied.
    op.create_table(
        'outbox_body',
        sa.Column('outbox_id', sa.Integer(), nullable=False),
        sa.Column('raw', sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint('outbox_id'),
    )
    op.execute('INSERT INTO outbox_body (outbox_id, raw) SELECT id, raw FROM outbox')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('raw')
    with op.batch_alter_table('outbox_body', schema=None) as batch_op:
        batch_op.create_foreign_key(
            'fk_outbox_body_outbox', 'outbox', ['outbox_id'], ['id'], ondelete='CASCADE'
        )


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('raw', sa.LargeBinary(), nullable=True))
    op.execute('UPDATE outbox SET raw = (SELECT raw FROM outbox_body WHERE outbox_body.outbox_id = outbox.id)')
    op.drop_table('outbox_body')  # first: making raw NOT NULL recreates ``outbox`` on SQLite
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.alter_column('raw', existing_type=sa.LargeBinary(), nullable=False)
