"""The schema itself: migrations match the models, upgrades are repeatable, anonymity, times."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import sys
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, DateTime, inspect, text

from dialogue.qa import QuestionStatus
from storage import SqlStore, default_database_url, migration_status, upgrade_database
from storage.migrate import alembic_config, head_revision
from storage.models import AnswerRow, Base, RecipientRow
from tests.storage.helpers import T0

ROOT = Path(__file__).resolve().parents[2]


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_migrations_create_exactly_the_models_schema(store: SqlStore) -> None:
    async with store.engine.connect() as connection:
        assert await connection.run_sync(_differences) == []


async def test_upgrading_twice_is_a_no_op_and_status_reports_the_head(database_url: str) -> None:
    assert await asyncio.to_thread(migration_status, database_url) == (None, head_revision())
    assert await asyncio.to_thread(upgrade_database, database_url) == head_revision()
    store = SqlStore(database_url)
    try:
        async with store.transaction() as tx:
            await tx.ideas.add_idea(
                text="kept", at=T0, author_id=None, route=None, team_id=None, campaign_id=None
            )
        assert await asyncio.to_thread(upgrade_database, database_url) == head_revision()
        async with store.transaction() as tx:
            assert [i.text for i in await tx.ideas.ideas()] == ["kept"]
    finally:
        await store.close()
    assert await asyncio.to_thread(migration_status, database_url) == (head_revision(), head_revision())


async def _upgrade_in_a_process(url: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import sys; from storage import upgrade_database; print(upgrade_database(sys.argv[1]))",
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode().strip()


async def test_replicas_starting_together_upgrade_once(database_url: str) -> None:
    """Several processes (and threads) upgrading one fresh database at once all succeed."""
    revisions = await asyncio.gather(
        *(_upgrade_in_a_process(database_url) for _ in range(3)),
        *(asyncio.to_thread(upgrade_database, database_url) for _ in range(2)),
    )
    assert revisions == [head_revision()] * 5


async def test_no_one_sees_a_sqlite_database_between_two_migrations(tmp_path: Path) -> None:
    """The whole upgrade is one transaction: a replica starting meanwhile finds the database as it was,
    or at the newest revision, never half-way (it would run the remaining migrations a second time)."""
    path = tmp_path / "fresh.db"
    seen: set[str | None] = set()
    upgraded = threading.Event()

    def watch() -> None:
        with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
            while not upgraded.is_set():
                try:
                    row = db.execute("SELECT version_num FROM alembic_version").fetchone()
                except sqlite3.OperationalError:  # no such table yet
                    row = None
                seen.add(row[0] if row else None)

    watcher = asyncio.create_task(asyncio.to_thread(watch))
    try:
        assert await asyncio.to_thread(upgrade_database, f"sqlite+aiosqlite:///{path}") == head_revision()
    finally:
        upgraded.set()
        await watcher

    assert seen <= {None, head_revision()}


async def test_comments_made_before_0005_keep_their_author_after_it(database_url: str) -> None:
    await asyncio.to_thread(command.upgrade, alembic_config(database_url), "0004")
    store = SqlStore(database_url)
    try:
        async with store.engine.begin() as db:
            await db.execute(
                text(
                    "INSERT INTO people (id, handle, handle_key, display_name, time_zone, active) "
                    "VALUES (1, 'amira', 'amira', 'Amira', 'UTC', true)"
                )
            )
            await db.execute(
                text(
                    "INSERT INTO ideas (id, text, status, created_at, author_id, votes) "
                    "VALUES (1, 'An idea', 'new', :at, 1, 0)"
                ),
                {"at": T0},
            )
            await db.execute(
                text("INSERT INTO idea_comments (idea_id, author_id, text, at) VALUES (1, 1, 'Nice', :at)"),
                {"at": T0},
            )
        assert await asyncio.to_thread(upgrade_database, database_url) == head_revision()
        async with store.transaction(read_only=True) as tx:
            (comment,) = await tx.ideas.comments(1)
        assert (comment.author_id, comment.text, comment.by_author) == (1, "Nice", False)
    finally:
        await store.close()


async def test_0007_forgets_the_platform_refs_of_messages_to_anonymous_authors(database_url: str) -> None:
    await asyncio.to_thread(command.upgrade, alembic_config(database_url), "0006")
    store = SqlStore(database_url)
    try:
        async with store.engine.begin() as db:
            insert = text(
                "INSERT INTO deliveries (key, message, route, person_id, platform, status, attempts, "
                "platform_ref, last_error, not_before, created_at) "
                "VALUES (:key, '{}', :route, NULL, 'slack', 'sent', 1, 'D101:1.0', '', :at, :at)"
            )
            await db.execute(insert, {"key": "idea:1:status", "route": "idea:1#abc", "at": T0})
            await db.execute(insert, {"key": "question:1:post:slack", "route": None, "at": T0})
        assert await asyncio.to_thread(upgrade_database, database_url) == head_revision()
        async with store.engine.connect() as db:
            refs = dict((await db.execute(text("SELECT key, platform_ref FROM deliveries"))).all())
        assert refs == {"idea:1:status": None, "question:1:post:slack": "D101:1.0"}
    finally:
        await store.close()


def test_default_database_url_is_a_sqlite_file_in_the_data_directory(tmp_path: Path) -> None:
    data = tmp_path / "new" / "data"
    assert default_database_url(data) == f"sqlite+aiosqlite:///{data.resolve() / 'nextpractice.db'}"
    assert not data.exists()  # naming it (in a message, say) writes nothing; opening it creates the folder


async def test_upgrade_creates_a_missing_sqlite_directory(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'a' / 'b' / 'x.db'}"
    assert await asyncio.to_thread(migration_status, url) == (None, head_revision())
    assert not (tmp_path / "a").exists()  # asking the status creates nothing
    assert await asyncio.to_thread(upgrade_database, url) == head_revision()
    assert (tmp_path / "a" / "b" / "x.db").is_file()


def test_answers_cannot_lead_to_a_person_or_a_moment() -> None:
    answers = AnswerRow.__table__
    assert {fk.column.table.name for fk in answers.foreign_keys} == {"occurrences", "survey_items", "teams"}
    assert not any("person" in c.name or "user" in c.name or "identity" in c.name for c in answers.columns)
    assert not any(isinstance(c.type, DateTime) for c in answers.columns)
    assert [c.name for c in answers.primary_key] == ["occurrence_id", "item_id", "respondent"]
    # Who a run went to lives apart, with nothing beyond the run and the team to join on.
    shared = {c.name for c in answers.columns} & {c.name for c in RecipientRow.__table__.columns}
    assert shared == {"occurrence_id", "team_id"}


async def test_anonymous_rows_store_no_person(store: SqlStore) -> None:
    async with store.transaction() as tx:
        idea = await tx.ideas.add_idea(
            text="i", at=T0, author_id=None, route="idea:1#r", team_id=None, campaign_id=None
        )
        question = await tx.questions.add_question(
            text="q",
            at=T0,
            asker_id=None,
            route="question:1#r",
            addressed_to_id=None,
            status=QuestionStatus.OPEN,
        )
    async with store.engine.connect() as connection:
        row = (
            await connection.execute(
                text("SELECT author_id, route FROM ideas WHERE id = :id"), {"id": idea.id}
            )
        ).one()
        assert tuple(row) == (None, "idea:1#r")
        row = (
            await connection.execute(
                text("SELECT asker_id, route FROM questions WHERE id = :id"), {"id": question.id}
            )
        ).one()
        assert tuple(row) == (None, "question:1#r")


async def test_times_round_trip_as_aware_utc(store: SqlStore) -> None:
    paris_summer = datetime(2026, 7, 1, 14, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    async with store.transaction() as tx:
        idea = await tx.ideas.add_idea(
            text="x", at=paris_summer, author_id=None, route=None, team_id=None, campaign_id=None
        )
    async with store.transaction() as tx:
        stored = await tx.ideas.get_idea(idea.id)
    assert stored is not None
    assert stored.created_at == paris_summer
    assert stored.created_at.tzinfo is UTC
    assert stored.created_at.hour == 12


async def test_naive_times_are_refused(store: SqlStore) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        async with store.transaction() as tx:
            await tx.ideas.add_idea(
                text="x", at=datetime(2026, 1, 1), author_id=None, route=None, team_id=None, campaign_id=None
            )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_sqlite_connections_enforce_foreign_keys_and_use_wal(store: SqlStore) -> None:
    async with store.engine.connect() as connection:
        assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar() == 1
        assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await connection.execute(text("PRAGMA busy_timeout"))).scalar() == 5000
        # Not even SQLite's hidden rowid records the order in which answers came in.
        answers_sql = (
            await connection.execute(text("SELECT sql FROM sqlite_master WHERE name = 'answers'"))
        ).scalar()
        assert "WITHOUT ROWID" in str(answers_sql)
    with pytest.raises(Exception, match="FOREIGN KEY"):
        async with store.transaction() as tx:
            await tx.ideas.add_vote(12345, 67890)


async def test_inspected_outbox_has_its_claim_index(store: SqlStore) -> None:
    def indexes(connection: Connection) -> set[tuple[str, ...]]:
        return {tuple(i["column_names"]) for i in inspect(connection).get_indexes("deliveries")}

    async with store.engine.connect() as connection:
        found = await connection.run_sync(indexes)
    assert ("status", "not_before") in found
    assert ("anchor", "platform") in found


def test_migrations_after_the_first_only_add_so_the_previous_version_keeps_working() -> None:
    # A rolling upgrade runs the old version's replicas on the new schema until they are replaced (README).
    versions = Path(alembic_config("").get_main_option("script_location") or "") / "versions"
    for migration in sorted(versions.glob("0*.py"))[1:]:
        source = migration.read_text()
        upgrade = source[source.index("def upgrade") : source.index("def downgrade")]
        for removal in ("drop_column", "drop_table", "rename_table", "new_column_name", "drop_constraint"):
            assert removal not in upgrade, f"{migration.name} removes or renames ({removal}) in its upgrade"
