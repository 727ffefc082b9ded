"""Anonymous comments: the author of an anonymous idea comments on it without a name.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Batch mode: SQLite cannot change a column's nullability in place, so the table is copied.
    with op.batch_alter_table("idea_comments") as batch:
        batch.alter_column("author_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("by_author", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    # A comment without a name cannot be given one back: those go.
    op.execute("DELETE FROM idea_comments WHERE author_id IS NULL")
    with op.batch_alter_table("idea_comments") as batch:
        batch.drop_column("by_author")
        batch.alter_column("author_id", existing_type=sa.Integer(), nullable=False)
