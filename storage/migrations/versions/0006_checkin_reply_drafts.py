"""Check-in reply drafts: a leader's reply written in the conversation waits for them to send it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("occurrences", sa.Column("reply_draft", sa.Text(), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("occurrences") as batch:
        batch.drop_column("reply_draft")
