"""Fixtures shared by every test folder: a database on each engine, and a migrated store on it.

``database_url`` runs a test once on a SQLite file and once on PostgreSQL. On the
PostgreSQL server (``NEXTPRACTICE_TEST_POSTGRES_URL``, by default the local ``test``
database) each test session works in a database of its own, created next to the
configured one and dropped at the end, and its schema is emptied before each test. When
the server cannot be reached the PostgreSQL run is skipped with the reason shown, except
in CI (``CI=true``), where that is a failure: CI must never pass by silently testing one
engine.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import make_url

from storage import SqlStore, upgrade_database

DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"

# Found once per session: the session's own PostgreSQL database, or why there is none.
_postgres: dict[str, str] = {}


def postgres_url() -> str:
    """The PostgreSQL server tests may use (its database is wiped if no private one can be made)."""
    return os.environ.get("NEXTPRACTICE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def execute_sql(url: str, sql: str) -> None:
    """Run ``sql`` on the PostgreSQL database at ``url``, outside any transaction."""
    connection = await asyncpg.connect(_asyncpg_dsn(url), timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def reset_postgres(url: str) -> None:
    """Drop everything in the database's public schema."""
    await execute_sql(url, "DROP SCHEMA public CASCADE; CREATE SCHEMA public")


async def _session_database() -> str:
    """A database of this test session's own, so concurrent test runs cannot wipe each other's tables.

    Falls back to the configured database itself when the server refuses CREATE DATABASE.
    """
    if "url" not in _postgres and "problem" not in _postgres:
        base = postgres_url()
        name = f"nextpractice_test_{os.getpid()}"
        try:
            try:
                await execute_sql(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                await execute_sql(base, f'CREATE DATABASE "{name}"')
                _postgres["url"] = make_url(base).set(database=name).render_as_string(hide_password=False)
                _postgres["created"] = name
            except asyncpg.InsufficientPrivilegeError:
                _postgres["url"] = base
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            _postgres["problem"] = f"PostgreSQL not reachable at {make_url(base)!r}: {exc}"
    if "problem" in _postgres:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(_postgres["problem"])
        pytest.skip(_postgres["problem"])
    return _postgres["url"]


@pytest.fixture(scope="session", autouse=True)
def _drop_session_database() -> Iterator[None]:
    """Remove the session's PostgreSQL database at the end, if one was made."""
    yield
    if "created" in _postgres:
        asyncio.run(
            execute_sql(postgres_url(), f'DROP DATABASE IF EXISTS "{_postgres["created"]}" WITH (FORCE)')
        )


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file in ``tmp_path``, or the wiped PostgreSQL test database."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    url = await _session_database()
    await reset_postgres(url)
    return url


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlStore]:
    """A store on a freshly migrated database, closed after the test."""
    await asyncio.to_thread(upgrade_database, database_url)
    sql_store = SqlStore(database_url)
    yield sql_store
    await sql_store.close()
