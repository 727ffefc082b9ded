"""Small helpers every repository shares: the engine's own INSERT and affected-row counts."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Executable
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


class Repo:
    """A repository working inside one unit of work (one session, one transaction)."""

    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self.session = session
        self.dialect = dialect

    def insert(self, table: Any) -> postgresql.Insert | sqlite.Insert:
        """An INSERT that can say ``ON CONFLICT`` on this engine.

        Both dialects spell "insert unless it exists" alike, so uniqueness is decided by
        the database in one statement, also between replicas.
        """
        if self.dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    async def changed(self, statement: Executable) -> int:
        """Run an UPDATE or DELETE and return how many rows it changed.

        Conditional changes are a single ``UPDATE ... WHERE`` whose row count says whether
        this caller made the change, so two racing callers never both succeed.
        """
        result = await self.session.execute(statement)
        return cast(CursorResult[Any], result).rowcount
