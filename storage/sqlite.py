"""SQLite through aiosqlite, with each statement run in one trip to the connection's thread.

aiosqlite runs a connection on its own thread and SQLAlchemy's adapter makes a trip to it for each cursor
operation: open the cursor, execute, fetch the rows, close. Each trip hands the GIL over twice and wakes
the event loop through its self-pipe, and on a pulse tap (ten statements and a commit) those trips took
about a third of the loop's time. The connection here gives SQLAlchemy cursors that do all four in one
trip; rows are fetched at once, as SQLAlchemy's adapter does anyway.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, cast

import aiosqlite
from sqlalchemy import event
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import ConnectionPoolEntry

SQLITE_BUSY_MS = 5000
READ_ONLY = "nextpractice_read_only"  # execution option of a read-only unit of work

Description = tuple[tuple[Any, ...], ...] | None
Outcome = tuple[Description, list[Any], int, int | None]


def _run(
    connection: sqlite3.Connection, begin: str | None, operation: str, parameters: Any, many: bool
) -> Outcome:  # runs on the connection's thread
    cursor = connection.cursor()
    try:
        if begin is not None:
            cursor.execute(begin)
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneTripCursor:
    """The aiosqlite cursor interface SQLAlchemy's adapter uses, run in one trip per statement."""

    arraysize = 1

    def __init__(self, connection: OneTripConnection) -> None:
        self._connection = connection
        self.description: Description = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: list[Any] = []

    async def __aenter__(self) -> OneTripCursor:
        return self  # the sqlite3 cursor is opened with the statement, on the thread

    async def execute(self, operation: str, parameters: Any = None) -> OneTripCursor:
        """Run one statement and keep its rows, row count and last row id."""
        return await self._outcome(operation, parameters, many=False)

    async def executemany(self, operation: str, parameters: Sequence[Any]) -> OneTripCursor:
        """Run one statement for each set of parameters."""
        return await self._outcome(operation, parameters, many=True)

    async def _outcome(self, operation: str, parameters: Any, *, many: bool) -> OneTripCursor:
        begin, self._connection.begin_pending = self._connection.begin_pending, None
        outcome: Outcome = await self._connection.run(_run, begin, operation, parameters, many)
        self.description, self._rows, self.rowcount, self.lastrowid = outcome
        return self

    async def fetchone(self) -> Any:
        """The next row, or None."""
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        """Up to ``size`` more rows."""
        count = self.arraysize if size is None else size
        rows, self._rows = self._rows[:count], self._rows[count:]
        return rows

    async def fetchall(self) -> list[Any]:
        """All remaining rows."""
        rows, self._rows = self._rows, []
        return rows

    async def close(self) -> None:
        """Nothing to release: the sqlite3 cursor closed on the thread."""
        self._rows = []


class OneTripConnection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors make one trip to its thread per statement."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        # As SQLAlchemy does for connections it makes itself: a forgotten connection must not keep the
        # process from exiting.
        self._thread.daemon = True
        self.begin_pending: str | None = None

    def begin_with_next_statement(self, begin: str) -> None:
        """Send ``begin`` (a BEGIN statement) in the same trip as the transaction's first statement.

        A transaction with no statement then costs no trip at all, and any other one a trip less. Should
        the BEGIN fail (another process holding the write lock past the busy timeout), the first statement
        raises its error.
        """
        self.begin_pending = begin

    async def commit(self) -> None:
        """Commit the transaction, if a statement began it."""
        if self.begin_pending is not None:
            self.begin_pending = None
            return
        await super().commit()

    async def rollback(self) -> None:
        """Roll the transaction back, if a statement began it and it is still open.

        The pool rolls back every connection it gets back, also after a commit: sqlite3 would do nothing
        then, but the trip to the thread would still be made, with the store's writer lock held. (Reading
        whether a transaction is open is safe from this thread: no statement of this connection is running.)
        """
        if self.begin_pending is not None:
            self.begin_pending = None
            return
        if not self._conn.in_transaction:
            return
        await super().rollback()

    def cursor(self) -> OneTripCursor:  # type: ignore[override]
        """A cursor that opens nothing until it runs a statement."""
        return OneTripCursor(self)

    async def run(self, function: Callable[..., Any], *args: Any) -> Any:
        """Call ``function(sqlite3_connection, *args)`` on the connection's thread."""
        return await self._execute(function, self._conn, *args)  # type: ignore[no-untyped-call]


def _one_trip_connect(database: str, **options: Any) -> OneTripConnection:
    return OneTripConnection(lambda: sqlite3.connect(database, **options))


def configure(engine: AsyncEngine) -> None:
    """Give a SQLite engine its connections and the per-connection settings the repositories rely on.

    Foreign keys on, WAL (readers do not block the writer) with ``synchronous=NORMAL``, a busy timeout,
    and every transaction opened with ``BEGIN IMMEDIATE``. The last one matters when two processes share
    the file: a deferred transaction that reads and later writes can fail at once with SQLITE_BUSY when it
    tries to upgrade its lock, whereas taking the write lock up front makes the second process wait its
    turn (up to the busy timeout).
    """

    @event.listens_for(engine.sync_engine, "do_connect")
    def _connect(
        dialect: Dialect, _record: ConnectionPoolEntry, cargs: list[Any], cparams: dict[str, Any]
    ) -> Any:
        # SQLAlchemy's aiosqlite adapter wraps whatever driver connection this makes.
        return dialect.loaded_dbapi.connect(*cargs, async_creator_fn=_one_trip_connect, **cparams)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Take transaction control away from the driver, so "begin" below decides how to begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # The busy timeout first: switching to WAL itself may have to wait for another process.
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        # With WAL, NORMAL syncs at checkpoints rather than at every commit: a crash of the bot loses
        # nothing, a power cut may lose the last commits. The embedded default trades that for speed.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # A read-only unit of work begins deferred: under WAL it reads a snapshot without the write lock.
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        driver = cast(OneTripConnection, connection.connection.driver_connection)  # made by _connect above
        driver.begin_with_next_statement("BEGIN" if read_only else "BEGIN IMMEDIATE")
