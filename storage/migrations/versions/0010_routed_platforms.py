"""Messages to anonymous authors keep no platform either: in an organisation on Slack and Teams, which of the
two an anonymous author uses narrows down who they are.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("UPDATE deliveries SET platform = NULL WHERE route IS NOT NULL")


def downgrade() -> None:
    pass  # the platforms are gone, as intended
