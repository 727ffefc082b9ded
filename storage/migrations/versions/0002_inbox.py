"""Inbox of handled platform events; lookup of a thread by its platform ref.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_inbox")),
    )
    op.create_index(op.f("ix_inbox_at"), "inbox", ["at"], unique=False)
    op.create_index(
        op.f("ix_deliveries_platform_ref_platform"), "deliveries", ["platform_ref", "platform"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_deliveries_platform_ref_platform"), table_name="deliveries")
    op.drop_index(op.f("ix_inbox_at"), table_name="inbox")
    op.drop_table("inbox")
