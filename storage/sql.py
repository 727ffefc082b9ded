"""Small helpers every repository shares: the engine's own INSERT and affected-row counts.

Statements on the hot path (every pulse tap runs them) are built once, at import or once per dialect,
with bind parameters for their values, and executed against tables rather than ORM classes: building a
statement, computing its cache key and the ORM's compile step cost more than the database's work.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Executable
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def dialect_insert(dialect: str, table: Any) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that can say ``ON CONFLICT`` on ``dialect``.

    Both dialects spell "insert unless it exists" alike, so uniqueness is decided by
    the database in one statement, also between replicas.
    """
    if dialect == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


class Repo:
    """A repository working inside one unit of work (one session, one transaction)."""

    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self.session = session
        self.dialect = dialect

    def insert(self, table: Any) -> postgresql.Insert | sqlite.Insert:
        """An INSERT that can say ``ON CONFLICT`` on this engine."""
        return dialect_insert(self.dialect, table)

    async def changed(self, statement: Executable, params: dict[str, Any] | None = None) -> int:
        """Run an INSERT, UPDATE or DELETE (with ``params``) and return how many rows it changed.

        Conditional changes are a single ``UPDATE ... WHERE`` whose row count says whether
        this caller made the change, so two racing callers never both succeed.
        """
        result = await self.session.execute(statement, params)
        return cast(CursorResult[Any], result).rowcount
