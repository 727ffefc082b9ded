"""The embedded SQLite engine: one trip to the driver's thread per statement, and the same results as ever."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.store import create_engine


class _CountingQueue:
    """Stands between aiosqlite's connection and its thread's queue, counting what is sent over."""

    def __init__(self, queue: Any) -> None:
        self.queue = queue
        self.trips = 0

    def put_nowait(self, item: Any) -> None:
        self.trips += 1
        self.queue.put_nowait(item)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    sqlite_engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'one.db'}")
    async with sqlite_engine.begin() as connection:
        await connection.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT UNIQUE)"))
    yield sqlite_engine
    await sqlite_engine.dispose()


async def _count_trips(connection: AsyncConnection) -> _CountingQueue:
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    counting = _CountingQueue(driver._tx)  # type: ignore[union-attr]
    driver._tx = counting  # type: ignore[union-attr]
    return counting


async def test_a_query_makes_one_trip_to_the_driver_thread(engine: AsyncEngine) -> None:
    # aiosqlite as SQLAlchemy drives it makes four (open a cursor, execute, fetch, close): on a pulse tap
    # those trips were a third of the event loop's time.
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO notes (body) VALUES ('first'), ('second')"))
        counting = await _count_trips(connection)
        rows = (await connection.execute(text("SELECT body FROM notes ORDER BY id"))).all()
        assert [row.body for row in rows] == ["first", "second"]
        assert counting.trips == 1
        changed = await connection.execute(text("UPDATE notes SET body = body || '!' WHERE id > 0"))
        assert (changed.rowcount, counting.trips) == (2, 2)


async def test_a_transaction_begins_in_the_same_trip_as_its_first_statement(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        counting = await _count_trips(connection)
        async with connection.begin():
            await connection.execute(text("INSERT INTO notes (body) VALUES ('one')"))
            assert counting.trips == 1  # BEGIN IMMEDIATE and the insert
        assert counting.trips == 2  # and the commit

        async with connection.begin():  # a transaction that runs nothing costs nothing
            pass
        assert counting.trips == 2

    async with engine.connect() as connection:  # the insert was committed, in a transaction of its own
        assert (await connection.execute(text("SELECT count(*) FROM notes"))).scalar() == 1


async def test_a_connection_back_in_the_pool_after_a_commit_makes_no_trip(engine: AsyncEngine) -> None:
    # The pool rolls back every connection it gets back. After a commit there is nothing to roll back,
    # and the trip would keep SQLite's write lock held that much longer (it is released after the return).
    connection = await engine.connect()
    counting = await _count_trips(connection)
    async with connection.begin():
        await connection.execute(text("INSERT INTO notes (body) VALUES ('kept')"))
    await connection.close()
    assert counting.trips == 2  # BEGIN IMMEDIATE with the insert, and the commit


async def test_a_transaction_left_open_is_rolled_back_when_its_connection_goes_back(
    engine: AsyncEngine,
) -> None:
    connection = await engine.connect()
    await connection.execute(text("INSERT INTO notes (body) VALUES ('never committed')"))
    await connection.close()
    async with engine.connect() as again:  # the pool's one connection, the same sqlite3 connection
        assert (await again.execute(text("SELECT count(*) FROM notes"))).scalar() == 0


async def test_statements_answer_as_sqlite_does(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        many = await connection.execute(
            text("INSERT INTO notes (body) VALUES (:body)"), [{"body": "a"}, {"body": "b"}, {"body": "c"}]
        )
        assert many.rowcount == 3
        inserted = await connection.execute(text("INSERT INTO notes (body) VALUES ('d') RETURNING id, body"))
        assert inserted.one() == (4, "d")
        changed = await connection.execute(text("UPDATE notes SET body = upper(body) WHERE id <= 2"))
        assert changed.rowcount == 2
        nothing = await connection.execute(text("SELECT body FROM notes WHERE id > 10"))
        assert nothing.first() is None
        some = await connection.execute(text("SELECT body FROM notes ORDER BY id"))
        assert some.fetchmany(2) == [("A",), ("B",)]
        assert some.fetchall() == [("c",), ("d",)]


async def test_a_failed_statement_raises_and_leaves_the_connection_usable(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO notes (body) VALUES ('only once')"))

    async def insert_both() -> None:
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO notes (body) VALUES ('kept back')"))
            await connection.execute(text("INSERT INTO notes (body) VALUES ('only once')"))

    with pytest.raises(IntegrityError):
        await insert_both()

    async with engine.begin() as connection:  # rolled back as a whole; the pool's connection still works
        rows = (await connection.execute(text("SELECT body FROM notes"))).scalars().all()
        assert rows == ["only once"]


async def test_the_settings_the_repositories_rely_on_hold(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar() == 1
        assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await connection.execute(text("PRAGMA busy_timeout"))).scalar() == 5000
