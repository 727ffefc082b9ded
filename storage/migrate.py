"""Schema migrations, run programmatically with Alembic (no ``alembic.ini`` needed).

Both functions are synchronous: Alembic's commands are, and ``env.py`` runs the async
engine with its own ``asyncio.run``. Call them from a thread without a running event loop,
e.g. ``await asyncio.to_thread(upgrade_database, url)``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import make_url
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool

from storage.store import create_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
log = logging.getLogger(__name__)

# Alembic keeps the running migration's context in module globals, so two threads of one
# process must not migrate at once. Processes are kept apart by the database (see env.py).
_ALEMBIC = threading.Lock()


def alembic_config(url: str) -> Config:
    """An Alembic configuration for ``url`` using the migrations shipped with this package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Passed as an attribute, not a main option: ini interpolation would mangle a "%" in a password.
    config.attributes["url"] = url
    return config


@functools.cache
def head_revision() -> str:
    """The newest migration's revision id."""
    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    assert head is not None, "no migrations found"
    return head


@functools.cache
def older_revisions() -> frozenset[str]:
    """Every revision this version's migrations know but the newest: a database at one is behind."""
    script = ScriptDirectory.from_config(alembic_config(""))
    return frozenset(each.revision for each in script.walk_revisions()) - {head_revision()}


def upgrade_database(url: str) -> str:
    """Bring the database at ``url`` to the newest schema and return the revision it is then at.

    Safe to run from several processes at once: on PostgreSQL ``env.py`` holds an advisory
    lock for the whole upgrade, and on SQLite the upgrade runs in one ``BEGIN IMMEDIATE``
    transaction, so a second process waits and then finds nothing to do.

    A database at a revision this version does not know was upgraded by a newer version (a rolling
    upgrade: the new version's replicas and ``db upgrade`` first, then the old replicas replaced). It is
    left as it is, and its revision returned: migrations only add, so this version still works on it.
    """
    with _ALEMBIC:
        try:
            command.upgrade(alembic_config(url), "head")
        except CommandError:  # "Can't locate revision": a newer one, perhaps
            current, head = migration_status(url)
            if current is None or current == head or current in older_revisions():
                raise
            log.warning(
                "The database is at revision %s, newer than this version's %s: a newer version upgraded it. "
                "Not migrating; replace this version when you can.",
                current,
                head,
            )
            return current
    return head_revision()


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database behind ``engine`` is at (None if never migrated). Only reads,
    and without Alembic's script files, so it is cheap enough for a readiness probe."""
    async with engine.connect() as connection:
        return await connection.run_sync(_current)


async def _current_revision(url: str) -> str | None:
    engine = create_engine(url, poolclass=NullPool)
    try:
        return await current_revision(engine)
    finally:
        await engine.dispose()


def migration_status(url: str) -> tuple[str | None, str]:
    """``(revision the database is at, newest revision)``; the first is None for an empty database.

    Only reads: a SQLite file that does not exist yet is reported as empty, not created.
    """
    parsed = make_url(url)
    database = parsed.database or ""
    if (
        parsed.get_backend_name() == "sqlite"
        and database not in ("", ":memory:")
        and not Path(database).exists()
    ):
        return None, head_revision()
    return asyncio.run(_current_revision(url)), head_revision()
