"""The SQL store: engines for SQLite and PostgreSQL, and units of work over them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, make_url, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from dialogue.ports import Repositories
from storage import sqlite
from storage.contacts import SqlContacts
from storage.conversations import SqlConversations
from storage.directory import SqlDirectory
from storage.ideas import SqlIdeas
from storage.inbox import SqlInbox
from storage.models import KeyCheckRow
from storage.outbox import SqlOutbox
from storage.privacy import SqlPrivacy
from storage.questions import SqlQuestions
from storage.schedules import SqlSchedules
from storage.sql import dialect_insert
from storage.sqlite import READ_ONLY
from storage.surveys import SqlSurveys

DATABASE_FILE = "nextpractice.db"
# Per process: the delivery worker sends 16 at a time, and requests need theirs. Several replicas times
# (POOL_SIZE + POOL_OVERFLOW) must stay under PostgreSQL's max_connections (100 by default).
POOL_SIZE = 20
POOL_OVERFLOW = 5


def default_database_url(data_dir: str | Path) -> str:
    """The embedded default: a SQLite file in ``data_dir`` (created, with its folder, when opened)."""
    return f"sqlite+aiosqlite:///{Path(data_dir).expanduser().resolve() / DATABASE_FILE}"


def ensure_sqlite_directory(url: str) -> None:
    """Create the directory of a SQLite database file, so a fresh data directory just works."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def create_engine(url: str, **options: Any) -> AsyncEngine:
    """An async engine for ``url`` with the per-engine settings the repositories rely on.

    SQLite: as :func:`storage.sqlite.configure` sets it up (one trip to the driver's thread per
    statement, WAL, a busy timeout, ``BEGIN IMMEDIATE``).

    PostgreSQL: ``pool_pre_ping`` so connections dropped by a restart or a proxy are
    replaced instead of failing a request, and a pool of ``POOL_SIZE`` kept connections (plus
    ``POOL_OVERFLOW`` more at peaks) so the delivery worker's concurrent sends, each with its own short
    transactions, reuse connections instead of opening one per transaction.
    """
    ensure_sqlite_directory(url)
    # Errors and logs must not quote statement parameters: they hold what people wrote, anonymously too.
    options = {"hide_parameters": True, **options}
    if make_url(url).get_backend_name() != "sqlite":
        if "poolclass" not in options:  # a NullPool (migrations, one-off tools) takes no sizes
            options = {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW, **options}
        return create_async_engine(url, pool_pre_ping=True, **options)
    engine = create_async_engine(url, **options)
    sqlite.configure(engine)
    return engine


class SqlRepositories:
    """The repositories of one unit of work, sharing its session."""

    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self._directory = SqlDirectory(session, dialect)
        self._ideas = SqlIdeas(session, dialect)
        self._surveys = SqlSurveys(session, dialect)
        self._questions = SqlQuestions(session, dialect)
        self._schedules = SqlSchedules(session, dialect)
        self._outbox = SqlOutbox(session, dialect)
        self._conversations = SqlConversations(session, dialect)
        self._inbox = SqlInbox(session, dialect)
        self._contacts = SqlContacts(session, dialect)
        self._privacy = SqlPrivacy(session, dialect)

    @property
    def directory(self) -> SqlDirectory:
        """People, teams and identities."""
        return self._directory

    @property
    def ideas(self) -> SqlIdeas:
        """Campaigns and ideas."""
        return self._ideas

    @property
    def surveys(self) -> SqlSurveys:
        """Surveys, their runs, recipients and answers."""
        return self._surveys

    @property
    def questions(self) -> SqlQuestions:
        """Questions to senior managers."""
        return self._questions

    @property
    def schedules(self) -> SqlSchedules:
        """Recurring schedules."""
        return self._schedules

    @property
    def outbox(self) -> SqlOutbox:
        """The delivery outbox."""
        return self._outbox

    @property
    def conversations(self) -> SqlConversations:
        """Open prompts per person."""
        return self._conversations

    @property
    def inbox(self) -> SqlInbox:
        """Inbound events already handled."""
        return self._inbox

    @property
    def contacts(self) -> SqlContacts:
        """Platform contact data for proactive messages."""
        return self._contacts

    @property
    def privacy(self) -> SqlPrivacy:
        """Subject access and erasure."""
        return self._privacy


class SqlStore:
    """Implements :class:`dialogue.ports.Store` on SQLite (aiosqlite) or PostgreSQL (asyncpg).

    The schema must already be current: run :func:`storage.upgrade_database` first.
    """

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)
        self.dialect = self.engine.dialect.name
        # Rows are turned into the core's dataclasses inside the transaction, so nothing
        # needs reloading after commit.
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time. Within this process, writers queue here, first come first
        # served, rather than in SQLite's busy handler, which sleeps and retries: under a burst its
        # sleeping waiters leave the lock idle, and an unlucky one can starve past the busy timeout
        # (a pulse tap then failed with "database is locked"). Other processes still meet the timeout.
        self._writers: asyncio.Lock | None = asyncio.Lock() if self.dialect == "sqlite" else None

    @asynccontextmanager
    async def transaction(self, *, read_only: bool = False) -> AsyncIterator[Repositories]:
        """One unit of work: commits when the block ends, rolls back if it raises.

        ``read_only``: the block only reads. On SQLite it then neither takes nor waits for the write
        lock (a write inside it could fail at once with "database is locked" when another writer holds
        it); on PostgreSQL it makes no difference.
        """
        async with self._write_turn(read_only), self._sessions() as session, session.begin():
            if read_only:
                await session.connection(execution_options={READ_ONLY: True})
            yield SqlRepositories(session, self.dialect)

    def _write_turn(self, read_only: bool) -> AbstractAsyncContextManager[Any]:
        if read_only or self._writers is None:
            return contextlib.nullcontext()
        return self._writers

    async def key_fingerprint(self, name: str, fingerprint: str) -> str:
        """The fingerprint kept for the key ``name``: ``fingerprint``, stored now if none was (one statement
        decides between replicas starting together), or the one stored before."""
        rows = cast(Table, KeyCheckRow.__table__)
        async with self.engine.begin() as connection:
            insert = dialect_insert(self.dialect, rows).values(name=name, fingerprint=fingerprint)
            await connection.execute(insert.on_conflict_do_nothing(index_elements=[rows.c.name]))
            stored = await connection.scalar(select(rows.c.fingerprint).where(rows.c.name == name))
        return str(stored)

    async def close(self) -> None:
        """Release every pooled connection."""
        await self.engine.dispose()
