"""A harness for running several real ``nextpractice serve`` processes against one PostgreSQL database.

Each test gets a database of its own (created next to the configured test database and dropped at the
end), a directory and a programme written in-process, and replicas started as subprocesses
(``python -m bot serve``) whose Slack Web API and Teams connector are the local fakes. What the fakes
received, and what the outbox recorded, are then compared.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import make_url, text

from bot.cli import check_cron
from dialogue.directory_import import import_directory
from dialogue.programme import load_programme
from storage import SqlStore, upgrade_database
from tests.conftest import execute_sql, postgres_url, reset_postgres
from tests.slack.fake_api import FakeSlack
from tests.teams.activities import APP_ID, TENANT_ID, personal_conversation_id
from tests.teams.fake_connector import FakeConnector

ROOT = Path(__file__).resolve().parents[2]
SECRET = "scale-tests-secret-key-0123456789"  # set explicitly: replicas sharing a database share the key
SIGNING_SECRET = "scale-tests-signing-secret"
SLACK_TEAM = "T0001"
PULSE_NAME = "Scale pulse"
BULK_SAMPLE = 50  # people re-imported through the real import after a bulk load
# Variables of the developer's own environment that would point a replica at a real platform.
_FOREIGN = ("SLACK_", "MICROSOFT_", "TEAMS_", "NEXTPRACTICE_", "DATABASE_URL", "PORT")


# ---- the database ----


@asynccontextmanager
async def fresh_database(label: str) -> AsyncIterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards; yields its SQLAlchemy URL.

    Skips the test when PostgreSQL cannot be reached, except under ``CI=true``, where that fails it
    (as ``tests/conftest.py`` does: CI must never pass by not testing). Where the server refuses
    CREATE DATABASE, the configured database itself is emptied and used.
    """
    base = postgres_url()
    name = f"nextpractice_{label}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    created = False
    try:
        try:
            await execute_sql(base, f'CREATE DATABASE "{name}"')
            url = make_url(base).set(database=name).render_as_string(hide_password=False)
            created = True
        except asyncpg.InsufficientPrivilegeError:
            url = base
            await reset_postgres(url)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        problem = f"PostgreSQL not reachable at {make_url(base)!r}: {exc}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(problem)
        pytest.skip(problem)
    try:
        yield url
    finally:
        if created:
            await execute_sql(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def query(url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """Rows of one read-only query (a short-lived connection of its own)."""
    store = SqlStore(url)
    try:
        async with store.engine.connect() as connection:
            return [tuple(row) for row in await connection.execute(text(sql), params)]
    finally:
        await store.close()


async def outbox_counts(url: str) -> dict[str, int]:
    """Outbox rows by status."""
    rows = await query(url, "SELECT status, count(*) FROM deliveries GROUP BY status")
    return {status: int(n) for status, n in rows}


# ---- the organisation ----


def slack_people(count: int, *, start: int = 0) -> list[dict[str, str]]:
    """Directory rows of ``count`` people known by their Slack user id (``U0000000``...)."""
    return [
        {
            "handle": f"s{i}",
            "name": f"Slack Person {i}",
            "team": f"Team {i % 25}",
            "slack_user_id": slack_user(i),
            "slack_team_id": SLACK_TEAM,
        }
        for i in range(start, start + count)
    ]


def slack_user(i: int) -> str:
    """The Slack user id of person ``s{i}``."""
    return f"U{i:08d}"


def teams_people(count: int, *, start: int = 0) -> list[dict[str, str]]:
    """Directory rows of ``count`` people known by their Entra object id and tenant (no conversation yet:
    the bot must start each 1:1 chat, as for anyone who has the app but never wrote to it)."""
    return [
        {
            "handle": f"t{i}",
            "name": f"Teams Person {i}",
            "team": f"Team {i % 25}",
            "teams_user_id": teams_user(i),
            "teams_tenant": TENANT_ID,
        }
        for i in range(start, start + count)
    ]


def teams_user(i: int) -> str:
    """The Entra object id of person ``t{i}``."""
    return str(uuid.UUID(int=i + 1))


def teams_chat(aad_id: str) -> str:
    """The 1:1 conversation id the local connector gives the bot's chat with ``aad_id``."""
    return personal_conversation_id(APP_ID, aad_id)


def due_pulse(now: datetime | None = None) -> dict[str, Any]:
    """A programme with one single-question pulse (no intro: one message per person) whose daily schedule
    fell due a minute ago, so a starting replica catches it up at once and it is not due again for a day."""
    due = (now or datetime.now(UTC)) - timedelta(minutes=1)
    return {
        "pulse": [
            {
                "name": PULSE_NAME,
                "question": [{"kind": "scale", "text": "How was your week?"}],
                "schedule": {"cron": f"{due.minute} {due.hour} * * *", "time_zone": "UTC"},
            }
        ]
    }


async def prepare(
    url: str, people: Iterable[Mapping[str, str]], programme: Mapping[str, Any], *, bulk: bool = False
) -> None:
    """Migrate the database, import the directory (as ``nextpractice directory import``) and load the
    programme (as ``nextpractice programme load``), before any replica starts.

    ``bulk``: write the directory with :func:`bulk_import` (Slack people only), then re-import a sample
    through the real import, which must find everything already there.
    """
    rows = list(people)
    await asyncio.to_thread(upgrade_database, url)
    if bulk:
        await bulk_import(url, rows)
    store = SqlStore(url)
    try:
        sample = rows[:BULK_SAMPLE] if bulk else rows
        report = await import_directory(store, sample)
        assert not report.errors, report.errors[:5]
        if bulk:
            counts = await query(
                url, "SELECT (SELECT count(*) FROM people), (SELECT count(*) FROM identities)"
            )
            assert counts == [(len(rows), 2 * len(rows))], f"the bulk directory is not the import's: {counts}"
        await load_programme(store, programme, check_cron=check_cron)
    finally:
        await store.close()


# ---- the replicas ----


def free_port() -> int:
    """A TCP port nobody listens on just now (for a replica's /metrics)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Replica:
    """One ``nextpractice serve`` process, restartable; each start is a new *incarnation*.

    Each incarnation calls Slack with its own bot token (``xoxb-<name>-<n>``; the fake accepts any), so
    what the fake received can be attributed to the process that sent it.
    """

    name: str
    url: str
    workdir: Path
    lease_seconds: int
    slack_url: str = ""
    teams_url: str = ""
    metrics_port: int = 0  # 0: any free port, not known to the test
    slack_rate: int = 0  # messages a second to Slack; 0: as fast as it can
    process: subprocess.Popen[bytes] | None = None
    incarnation: int = 0
    logs: list[Path] = field(default_factory=list)
    worker_ids: list[str] = field(default_factory=list)

    @property
    def token(self) -> str:
        """The Slack bot token of the current incarnation."""
        return f"xoxb-{self.name}-{self.incarnation}"

    @property
    def log(self) -> Path:
        """The current incarnation's output."""
        return self.logs[-1]

    def env(self) -> dict[str, str]:
        """The environment of the current incarnation."""
        env = {key: value for key, value in os.environ.items() if not key.startswith(_FOREIGN)}
        env |= {
            "DATABASE_URL": self.url,
            "NEXTPRACTICE_DATA_DIR": str(self.workdir / "data"),
            "NEXTPRACTICE_SECRET_KEY": SECRET,
            "NEXTPRACTICE_DELIVERY_LEASE_SECONDS": str(self.lease_seconds),
            # The fakes do not rate-limit; pacing at the platforms' published limits would only slow the test.
            "NEXTPRACTICE_SLACK_RATE": str(self.slack_rate),
            "NEXTPRACTICE_TEAMS_RATE": "0",
            "NEXTPRACTICE_HOST": "127.0.0.1",
            "PORT": str(self.metrics_port),
            "PYTHONUNBUFFERED": "1",
        }
        if self.slack_url:
            env |= {
                "SLACK_BOT_TOKEN": self.token,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": self.slack_url,
            }
        if self.teams_url:
            env |= {"TEAMS_UNAUTHENTICATED": "1", "TEAMS_SERVICE_URL": self.teams_url}
        return env

    def start(self) -> None:
        """Start a new incarnation (the previous one must have ended)."""
        assert self.process is None or self.process.poll() is not None, f"{self.name} is still running"
        self.incarnation += 1
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.logs.append(self.workdir / f"{self.name}-{self.incarnation}.log")
        with self.log.open("wb") as output:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "serve"],
                cwd=ROOT,
                env=self.env(),
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        self.worker_ids.append(f"{socket.gethostname()}:{self.process.pid}")

    @property
    def worker_id(self) -> str:
        """The current incarnation's id in the outbox's ``claimed_by`` (see ``bot.bootstrap``)."""
        return self.worker_ids[-1]

    def output(self) -> str:
        """Everything the current incarnation printed so far."""
        return self.log.read_text(encoding="utf-8", errors="replace")

    def all_output(self) -> str:
        """Everything every incarnation printed, each under a heading."""
        return "\n".join(f"==== {log.name}\n{log.read_text(errors='replace')}" for log in self.logs)

    def running(self) -> bool:
        """Started, serving, and still alive."""
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"{self.name} exited with {self.process.returncode}:\n{self.output()}")
        return "Running." in self.output()

    def kill(self) -> None:
        """SIGKILL: no clean-up, no last transaction; whatever it had in flight stays in flight."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    async def stop(self, wait_seconds: float = 30) -> int:
        """SIGTERM and wait; returns the exit status."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return await asyncio.to_thread(self.process.wait, wait_seconds)

    def scrape(self) -> dict[str, float]:
        """The current incarnation's Prometheus samples, as ``{"name{labels}": value}`` (blocking)."""
        assert self.metrics_port, "start the replica with a known metrics_port to scrape it"
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=10) as page:
            body = page.read().decode()
        samples: dict[str, float] = {}
        for line in body.splitlines():
            match = re.fullmatch(r"([a-z_]+(?:\{[^}]*\})?) (\S+)", line)
            if match:
                samples[match[1]] = float(match[2])
        return samples


async def wait_until(
    check: Callable[[], Awaitable[bool]], *, within: float, what: str, every: float = 0.1
) -> float:
    """Poll ``check`` until it is true; returns the seconds it took (fails after ``within``)."""
    started = time.monotonic()
    while not await check():
        elapsed = time.monotonic() - started
        assert elapsed < within, f"{what}: not within {within:g}s"
        await asyncio.sleep(every)
    return time.monotonic() - started


# ---- what the fakes received ----


def slack_posts(fake: FakeSlack) -> list[tuple[str, str]]:
    """(recipient's user id, token) of every ``chat.postMessage`` the fake received, in order."""
    return [
        (str(args.get("channel", "")), token)
        for (method, args), token in zip(fake.calls, fake.tokens, strict=True)
        if method == "chat.postMessage"
    ]


def slack_received(fake: FakeSlack) -> Counter[str]:
    """Messages received per Slack user id."""
    return Counter(user for user, _ in slack_posts(fake))


def teams_received(fake: FakeConnector) -> Counter[str]:
    """New messages received per conversation (edits of a message are not new messages)."""
    delivered = list(fake.activities)  # a copy in one step: the connector appends from its own thread
    return Counter(d.conversation_id for d in delivered if d.operation != "update_activity")


async def bulk_import(url: str, people: Iterable[Mapping[str, str]]) -> None:
    """Write the directory :func:`dialogue.directory_import.import_directory` would make of these rows
    (``handle``, ``name``, ``team``, ``slack_user_id``, ``slack_team_id``; staff only, UTC), in a few bulk
    inserts: the real import spends ~10 ms a person, which for thousands of people would be most of a
    test's time. Tests re-import a sample through the real import to show the two agree."""
    rows = list(people)
    handles = [row["handle"] for row in rows]
    store = SqlStore(url)
    try:
        async with store.engine.begin() as connection:

            async def run(sql: str, **arrays: list[Any]) -> list[tuple[Any, ...]]:
                result = await connection.execute(text(sql), arrays)
                return [tuple(row) for row in result] if result.returns_rows else []

            names = sorted({row["team"] for row in rows})
            teams = await run(
                "INSERT INTO teams (name, name_key) SELECT n, lower(n)"
                " FROM unnest(CAST(:names AS text[])) AS n RETURNING id, name",
                names=names,
            )
            team_ids = {name: team_id for team_id, name in teams}
            await run(
                "INSERT INTO people (handle, handle_key, display_name, time_zone, active)"
                " SELECT h, lower(h), n, 'UTC', true"
                " FROM unnest(CAST(:handles AS text[]), CAST(:names AS text[])) AS p(h, n)",
                handles=handles,
                names=[row["name"] for row in rows],
            )
            ids = dict(await run("SELECT handle, id FROM people"))
            person_ids = [ids[handle] for handle in handles]
            await run(
                "INSERT INTO person_roles (person_id, role) SELECT unnest(CAST(:ids AS int[])), 'staff'",
                ids=person_ids,
            )
            await run(
                "INSERT INTO memberships (person_id, team_id, position)"
                " SELECT unnest(CAST(:ids AS int[])), unnest(CAST(:teams AS int[])), 0",
                ids=person_ids,
                teams=[team_ids[row["team"]] for row in rows],
            )
            # As the import links them: the console identity first, the platform's next (so it is preferred).
            await run(
                "INSERT INTO identities (person_id, platform, tenant, user_id, seen)"
                " SELECT i, 'console', 'local', h, 1"
                " FROM unnest(CAST(:ids AS int[]), CAST(:handles AS text[])) AS c(i, h)"
                " UNION ALL SELECT i, 'slack', t, u, 2"
                " FROM unnest(CAST(:ids AS int[]), CAST(:tenants AS text[]), CAST(:users AS text[]))"
                " AS s(i, t, u)",
                ids=person_ids,
                handles=handles,
                tenants=[row["slack_team_id"] for row in rows],
                users=[row["slack_user_id"] for row in rows],
            )
    finally:
        await store.close()
