"""Alembic's entry point: runs the migrations on our async engine (online mode only).

The URL comes from ``config.attributes["url"]`` (set by :mod:`storage.migrate`). The whole
upgrade is one transaction. On PostgreSQL a transaction-scoped advisory lock serialises
replicas that upgrade at the same time; on SQLite the engine begins with ``BEGIN IMMEDIATE``,
which does the same.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from storage.models import Base
from storage.store import create_engine
from storage.types import UTCDateTime

# Any fixed number will do; every replica must use the same one.
MIGRATION_LOCK = 0x6E657874  # "next"


def _render_item(kind: str, item: Any, _autogen: AutogenContext) -> str | Literal[False]:
    """Render our column types as plain SQLAlchemy ones, so migrations never import our code."""
    if kind == "type" and isinstance(item, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _upgrade(url: str) -> None:
    engine = create_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            # The transaction begins here, before Alembic looks: it then runs every migration in it rather
            # than committing each on its own (as it does on SQLite, which it treats as non-transactional),
            # so the lock taken now is held until the newest revision is recorded.
            if connection.dialect.name == "postgresql":
                await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            else:  # SQLite: the engine begins with BEGIN IMMEDIATE, which takes the write lock
                await connection.execute(text("SELECT 1"))
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run them against a database")
asyncio.run(_upgrade(context.config.attributes["url"]))
