"""Anonymous authors' messages keep no platform reference: it named their chat, the same as their named
messages', and so tied an anonymous idea or question to them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("UPDATE deliveries SET platform_ref = NULL WHERE route IS NOT NULL")


def downgrade() -> None:
    pass  # the references are gone, as intended
