"""How many answered a closed run, kept when its answers are settled: a trend of six runs counted them
again from every answer each time results were read.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("occurrences") as batch:
        batch.add_column(sa.Column("respondents", sa.Integer(), nullable=True))
    # Runs closed before this: counted once now (their answers are final).
    op.execute(
        "UPDATE occurrences SET respondents = (SELECT count(DISTINCT answers.respondent) FROM answers "
        "WHERE answers.occurrence_id = occurrences.id) WHERE closed"
    )


def downgrade() -> None:
    with op.batch_alter_table("occurrences") as batch:
        batch.drop_column("respondents")
