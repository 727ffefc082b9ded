"""Operating the bot: /readyz, /metrics, JSON logs without personal data, and fan-out progress.

Everything runs through real parts: the aiohttp server from bot/server.py on a free port, an
app from build_app on SQLite and PostgreSQL, the real delivery worker and scheduler, and the
``nextpractice`` command as a subprocess. The only stand-in is the chat platform
(:class:`Platform`), which fails for some people on purpose.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import os
import re
import socket
import sys
import tomllib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from adapters.console import ConsoleSender
from bot import scheduler
from bot.bootstrap import CONSOLE, App, KeyMismatch, build_app
from bot.cli import ProgressLine, check_cron
from bot.clock import MovableClock
from bot.delivery import Progress
from bot.logs import CHATTY, JsonFormatter, configure
from bot.metrics import Metrics
from bot.scheduler import Scheduler
from bot.server import Readiness, start, web_app
from bot.settings import Settings
from dialogue.directory_import import import_directory
from dialogue.events import Command, Identity
from dialogue.messages import Message
from dialogue.outbox import Address, RetryLater, Undeliverable
from dialogue.programme import load_programme
from storage import SqlStore
from storage.migrate import MIGRATIONS, upgrade_database
from tests.slack.fake_api import FakeSlack

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)  # Monday 09:30 in London
SECRET = "operability-tests-secret-0123456789"
PROGRESS = re.compile(r"^delivery progress: sent (\d+) / (\d+) \((\d+)%\)(, \d+ failed)?, [\d.]+/s, ETA \S+$")
HANDLES = ["busy", "gone", "broken", *(f"p{n}" for n in range(9))]
PEOPLE = "handle,name,time_zone,roles,team\nboss,The Boss,Europe/London,manager,Head Office\n" + "".join(
    f"{handle},{handle.title()} Person,Europe/London,staff,Team {i % 3}\n" for i, handle in enumerate(HANDLES)
)
RECIPIENTS = 1 + len(HANDLES)  # everyone, the boss included
ON_SLACK = (  # two people with Slack accounts in one workspace
    "handle,name,time_zone,roles,team,slack_user_id,slack_team_id\n"
    "boss,The Boss,Europe/London,manager,Head Office,U100,T111\n"
    "ned,Ned Stark,Europe/London,staff,Team 1,U123,T111\n"
)
QUICK = """\
[[pulse]]
name = "Quick pulse"
schedule = { cron = "0 9 * * MON", time_zone = "Europe/London" }
[[pulse.question]]
kind = "scale"
text = "I can suggest improvements."
"""


@dataclass
class Platform:
    """A chat platform stand-in: accepts messages, except that it asks ``busy`` to wait (a 429 with
    Retry-After), knows no ``gone`` and breaks on ``broken``."""

    platform: str = CONSOLE
    sent: list[str] = field(default_factory=list)

    async def send(self, *, to: Address, message: Message) -> str:
        who = to.identity.user_id if to.identity else f"#{to.channel}"
        if who == "busy":
            raise RetryLater(0.05, "rate limited", rate_limited=True)
        if who == "gone":
            raise Undeliverable("user_not_found")
        if who == "broken":
            raise RuntimeError("connection reset")
        self.sent.append(who)
        return f"ref-{len(self.sent)}"

    async def update(self, *, ref: str, message: Message) -> None:
        return None


@dataclass
class LosesAmira(Platform):
    """Another platform, where Amira is: it first rate-limits her messages, then loses her account."""

    platform: str = "chat"
    attempts: int = 0

    async def send(self, *, to: Address, message: Message) -> str:
        if to.identity is not None and to.identity.user_id == "U07AMIRA":
            self.attempts += 1
            raise (
                RetryLater(0.01, "rate limited", rate_limited=True)
                if self.attempts == 1
                else Undeliverable("user_not_found")
            )
        return await super().send(to=to, message=message)


@dataclass
class Running:
    app: App
    clock: MovableClock
    platform: Platform
    url: str
    http: aiohttp.ClientSession

    async def get(self, path: str) -> tuple[int, str]:
        async with self.http.get(self.url + path) as response:
            return response.status, await response.text()

    async def metrics(self) -> str:
        status, body = await self.get("/metrics")
        assert status == 200, body
        return body


@asynccontextmanager
async def serving(application: object) -> AsyncIterator[tuple[str, aiohttp.ClientSession]]:
    """Serve an aiohttp application on a free port; yields its base URL and a client."""
    assert hasattr(application, "router")
    runner = await start(application, host="127.0.0.1", port=0)  # type: ignore[arg-type]
    host, port = runner.addresses[0][:2]
    try:
        async with aiohttp.ClientSession() as http:
            yield f"http://{host}:{port}", http
    finally:
        await runner.cleanup()


@pytest.fixture
async def bot(database_url: str, tmp_path: Path) -> AsyncIterator[Running]:
    platform = Platform()
    settings = Settings(data_dir=tmp_path, secret_key=SECRET.encode(), database_url=database_url)
    app = await build_app(settings, clock=MovableClock(START), senders={CONSOLE: platform})
    assert isinstance(app.clock, MovableClock)
    try:
        assert not (await import_directory(app.store, csv.DictReader(io.StringIO(PEOPLE)))).errors
        await load_programme(app.store, tomllib.loads(QUICK), check_cron=check_cron)
        # What `nextpractice serve` serves: readiness and metrics of this app.
        application = web_app(readiness=Readiness(app.store.engine, app.head_revision), metrics=app.metrics)
        async with serving(application) as (url, http):
            yield Running(app, app.clock, platform, url, http)
    finally:
        await app.close()


def value(exposition: str, name: str, **labels: str) -> float | None:
    """The sample ``name`` with exactly ``labels`` in a Prometheus exposition, if present."""
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return None


# -- /readyz -------------------------------------------------------------------------------


async def test_readyz_is_ready_at_the_head_revision_and_not_when_the_schema_is_older(bot: Running) -> None:
    head = bot.app.head_revision
    assert await bot.get("/readyz") == (200, json.dumps({"status": "ready", "revision": head}))
    assert (await bot.get("/healthz"))[0] == 200

    async with bot.app.store.engine.begin() as connection:
        await connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    status, body = await bot.get("/readyz")

    assert status == 503
    assert json.loads(body) == {
        "status": "not ready",
        "reason": f"database at revision 0001, this version needs {head}: run nextpractice db upgrade",
    }
    # Mid rolling upgrade a newer version has migrated the database: this replica serves on until replaced.
    async with bot.app.store.engine.begin() as connection:
        await connection.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    assert (await bot.get("/readyz"))[0] == 200
    async with bot.app.store.engine.begin() as connection:
        await connection.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head})
    assert (await bot.get("/readyz"))[0] == 200


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_readyz_says_why_when_the_database_cannot_be_reached(database_url: str) -> None:
    if make_url(database_url).get_backend_name() == "postgresql":
        # The server answers, but this database is not there.
        missing = make_url(database_url).set(database=f"nextpractice_missing_{os.getpid()}")
        bad_url, expected = missing.render_as_string(hide_password=False), "does not exist"
    else:
        bad_url, expected = f"postgresql+asyncpg://postgres@127.0.0.1:{_closed_port()}/nowhere", "Error"
    unreachable = SqlStore(bad_url)
    metrics = Metrics(store=unreachable, clock=MovableClock(START))
    try:
        application = web_app(readiness=Readiness(unreachable.engine, "0004"), metrics=metrics)
        async with serving(application) as (url, http):
            async with http.get(url + "/readyz") as response:
                status, body = response.status, await response.json()
            async with http.get(url + "/metrics") as response:
                scraped = response.status, await response.text()
    finally:
        await unreachable.close()

    assert status == 503
    assert body["status"] == "not ready"
    assert body["reason"].startswith("database unreachable: ")
    assert expected in body["reason"]
    # Metrics still answer while the database is down; the outbox gauges are unknown.
    assert scraped[0] == 200
    depth = value(scraped[1], "nextpractice_outbox_depth")
    assert depth is not None and depth != depth  # NaN


# -- /metrics ------------------------------------------------------------------------------


async def test_metrics_count_a_fan_out_its_retries_and_failures_and_the_backlog(bot: Running) -> None:
    reply = await bot.app.dialogue.command_as("boss", "pulse send Quick pulse")
    assert f"to {RECIPIENTS} people" in reply.messages[0].fallback()
    bot.clock.set(START + timedelta(seconds=90))

    before = await bot.metrics()
    assert value(before, "nextpractice_outbox_depth") == RECIPIENTS
    assert value(before, "nextpractice_outbox_oldest_age_seconds") == 90
    assert value(before, "nextpractice_deliveries_sent_total", platform=CONSOLE) == 0

    await bot.app.worker.drain()
    after = await bot.metrics()

    assert sorted(bot.platform.sent) == sorted(["boss", *HANDLES[3:]])
    assert value(after, "nextpractice_deliveries_sent_total", platform=CONSOLE) == RECIPIENTS - 3
    assert value(after, "nextpractice_deliveries_failed_total", platform=CONSOLE) == 1  # gone
    retried = "nextpractice_deliveries_retried_total"
    assert value(after, retried, platform=CONSOLE, reason="rate_limited") == 1  # busy
    assert value(after, retried, platform=CONSOLE, reason="error") == 1  # broken
    # The two retries wait for a later time, so nothing is due now.
    assert value(after, "nextpractice_outbox_depth") == 0
    assert value(after, "nextpractice_outbox_oldest_age_seconds") == 0
    assert "_created" not in after  # no series saying when each counter was made: dashboard noise


async def test_request_latency_is_labelled_by_route_pattern_never_by_raw_path(bot: Running) -> None:
    await bot.get("/healthz")
    await bot.get("/readyz")
    await bot.get("/no/such/page?id=12345")
    await bot.get("/no/other/page")

    exposition = await bot.metrics()

    count = "nextpractice_request_seconds_count"
    assert value(exposition, count, route="/healthz", method="GET", status="200") == 1
    assert value(exposition, count, route="/readyz", method="GET", status="200") == 1
    assert value(exposition, count, route="unmatched", method="GET", status="404") == 2
    assert "/no/such/page" not in exposition
    assert "12345" not in exposition


async def test_scheduler_firings_are_counted_by_kind(bot: Running) -> None:
    fired = Scheduler(
        dialogue=bot.app.dialogue, store=bot.app.store, clock=bot.clock, metrics=bot.app.metrics
    )
    await fired.start()  # 09:00's run was missed by half an hour: it fires now, once
    fired.shutdown()
    again = Scheduler(
        dialogue=bot.app.dialogue, store=bot.app.store, clock=bot.clock, metrics=bot.app.metrics
    )
    await again.start()  # a restart, or a second replica: the same run is not enqueued twice
    again.shutdown()

    exposition = await bot.metrics()

    assert value(exposition, "nextpractice_scheduler_firings_total", kind="pulse") == 1


def test_each_app_has_a_registry_of_its_own() -> None:
    one, two = Metrics(), Metrics()
    one.sent("slack")

    sent = "nextpractice_deliveries_sent_total"
    assert one.registry is not two.registry
    assert value(generate_latest(one.registry).decode(), sent, platform="slack") == 1
    assert value(generate_latest(two.registry).decode(), sent, platform="slack") is None


# -- progress ------------------------------------------------------------------------------


def test_a_progress_line_gives_count_share_rate_and_time_left() -> None:
    assert (
        str(Progress(sent=1200, failed=0, remaining=8800, seconds=25.0))
        == "delivery progress: sent 1200 / 10000 (12%), 48.0/s, ETA 3m03s"
    )
    assert (
        str(Progress(sent=5, failed=1, remaining=0, seconds=2.0))
        == "delivery progress: sent 5 / 6 (100%), 1 failed, 3.0/s, ETA 0s"
    )
    assert str(Progress(sent=0, failed=0, remaining=7, seconds=0.0)).endswith("0.0/s, ETA ?")


async def test_the_worker_logs_progress_while_sending_and_once_more_at_the_end(
    bot: Running, caplog: pytest.LogCaptureFixture
) -> None:
    await bot.app.dialogue.command_as("boss", "pulse send Quick pulse")
    bot.app.worker.progress_seconds = 0  # every delivery may report (the default is every 5 s)

    with caplog.at_level(logging.INFO, logger="bot.delivery"):
        await bot.app.worker.drain()

    lines = [r.getMessage() for r in caplog.records if r.name == "bot.delivery" and r.levelno == logging.INFO]
    assert lines and all(PROGRESS.match(line) for line in lines), lines
    *_, last = lines
    # Two rows wait to be retried later: they are not due, so not part of this fan-out's total any more.
    assert last.startswith(f"delivery progress: sent {RECIPIENTS - 3} / {RECIPIENTS - 2} (100%), 1 failed")


def test_on_a_terminal_the_progress_line_is_redrawn_in_place() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen, piped = Terminal(), io.StringIO()
    for stream in (screen, piped):
        line = ProgressLine(stream)
        line(Progress(sent=1, failed=0, remaining=9, seconds=1.0))
        line(Progress(sent=10, failed=0, remaining=0, seconds=2.0))
        line.end()

    first = "delivery progress: sent 1 / 10 (10%), 1.0/s, ETA 9s"
    second = "delivery progress: sent 10 / 10 (100%), 5.0/s, ETA 0s"
    assert screen.getvalue() == f"\r{first}\r{second.ljust(len(first))}\n"
    assert piped.getvalue() == f"{first}\n{second}\n"


# -- the command line ----------------------------------------------------------------------


def _slack_env(database_url: str, data_dir: Path, fake: FakeSlack, **extra: str) -> dict[str, str]:
    """:func:`_env` with Slack configured against the local Web API ``fake``."""
    return _env(
        database_url,
        data_dir,
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET="signing-secret",
        SLACK_API_URL=fake.url + "/",
        **extra,
    )


def _sqlite(tmp_path: Path) -> str:
    """A SQLite database of the test's own, for command-line behaviour that is the same on both engines."""
    return f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"


def _env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SLACK_", "MICROSOFT_", "TEAMS_", "NEXTPRACTICE_", "DATABASE_URL"))
    }
    return {
        **inherited,
        "DATABASE_URL": database_url,
        "NEXTPRACTICE_DATA_DIR": str(data_dir),
        "NEXTPRACTICE_SECRET_KEY": SECRET,
        **extra,
    }


async def _set_up(env: dict[str, str], folder: Path, people: str) -> None:
    """Import ``people`` (CSV) and the QUICK programme from the command line, as an installer would."""
    directory, programme = folder / "people.csv", folder / "programme.toml"
    directory.write_text(people)
    programme.write_text(QUICK)
    for command in (("directory", "import", str(directory)), ("programme", "load", str(programme))):
        code, _, err = await _nextpractice(env, *command)
        assert code == 0, err


async def _nextpractice(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_pulse_send_shows_progress_then_list_and_results_show_the_run(tmp_path: Path) -> None:
    database_url = _sqlite(tmp_path)  # what the command line says does not depend on the engine
    people, programme = tmp_path / "people.csv", tmp_path / "programme.toml"
    rows = PEOPLE.replace("busy,", "bea,").replace("gone,", "gus,").replace("broken,", "bo,").splitlines()
    accounts = [f"{rows[0]},slack_user_id,slack_team_id"]
    accounts += [f"{row},U{n:03d},T111" for n, row in enumerate(rows[1:])]
    people.write_text("\n".join(accounts) + "\n")
    programme.write_text(QUICK)
    async with FakeSlack() as fake:
        env = _slack_env(database_url, tmp_path / "data", fake, NEXTPRACTICE_LOG_FORMAT="json")
        await _send_list_and_close(env, people, programme)
        assert len(fake.calls_to("chat.postMessage")) == RECIPIENTS


async def _send_list_and_close(env: dict[str, str], people: Path, programme: Path) -> None:
    """Import, load, send the pulse (with progress), list it, read its results and close it."""

    code, out, err = await _nextpractice(env, "directory", "import", str(people))
    assert code == 0, err
    # The first command migrated the database, and Alembic said so: in JSON, one object a line.
    logged = [json.loads(line) for line in err.splitlines() if line.strip()]
    assert logged and all({"time", "level", "logger", "message"} <= set(entry) for entry in logged)
    assert any(entry["logger"].startswith("alembic") for entry in logged)
    code, out, err = await _nextpractice(env, "programme", "load", str(programme))
    assert code == 0, err
    # When each schedule runs next (a slot that passed before loading waits for its next time).
    assert re.search(
        r'^Schedule: pulse "Quick pulse": 0 9 \* \* MON \(Europe/London\), next Mon \d\d \w{3} 09:00$',
        out,
        re.M,
    ), out

    code, out, err = await _nextpractice(env, "pulse", "send", "Quick", "pulse", "--every", "0")

    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"Sent “Quick pulse” to {RECIPIENTS} people.")
    progress = [line for line in lines if line.startswith("delivery progress:")]
    assert progress and all(PROGRESS.match(line) for line in progress), out
    assert progress[-1].startswith(f"delivery progress: sent {RECIPIENTS} / {RECIPIENTS} (100%)")
    assert "\r" not in out  # not a terminal: one line per report
    assert re.search(rf"^Done: {RECIPIENTS} sent, 0 failed, took \d+s\.$", out, re.MULTILINE), out

    code, out, err = await _nextpractice(env, "pulse", "send", "Nope", "--no-wait")
    assert code == 1
    assert "There is no pulse called 'Nope'" in err

    code, out, err = await _nextpractice(env, "pulse", "list")
    assert code == 0, err
    assert re.search(r"^#1 Quick pulse — 1 question, last run .* \(open\)$", out, re.MULTILINE), out
    code, out, err = await _nextpractice(env, "pulse", "results", "Quick", "pulse")
    assert code == 0, err
    assert f"Responses so far: fewer than 5 of {RECIPIENTS}" in out  # open: how many answered, no figures
    assert "Everyone" not in out
    code, out, err = await _nextpractice(env, "pulse", "results", "Quick", "pulse", "--as", "bea")
    assert code == 1
    assert "only managers can use `pulse`" in err

    code, out, err = await _nextpractice(env, "pulse", "close", "Quick", "pulse")
    assert code == 0, err
    assert re.search(rf"^Done: {RECIPIENTS} sent, 0 failed", out, re.MULTILINE), out  # buttons taken off
    code, out, err = await _nextpractice(env, "pulse", "results", "Quick", "pulse")
    assert code == 0, err
    assert "Responses so far" not in out and f"of {RECIPIENTS}" in out  # closed: its results now


async def test_without_a_platform_a_pulse_is_queued_not_printed_and_serve_will_not_start(
    tmp_path: Path,
) -> None:
    database_url = _sqlite(tmp_path)  # what the command line says does not depend on the engine
    env = _env(database_url, tmp_path / "data")  # as in a shell where the platform's settings were not set
    await _set_up(env, tmp_path, PEOPLE)

    code, out, err = await _nextpractice(env, "pulse", "send", "Quick", "pulse")

    assert code == 0, err
    assert "Queued, not sent: there are no Slack or Teams settings here." in out
    assert "I can suggest improvements" not in out and "delivery progress" not in out
    store = SqlStore(database_url)
    try:
        async with store.engine.connect() as db:
            statuses = (await db.execute(text("SELECT DISTINCT status FROM deliveries"))).scalars().all()
    finally:
        await store.close()
    assert statuses == ["pending"]  # all waiting for a process that can send them: none lost

    code, out, err = await _nextpractice(env, "serve")
    assert code == 2
    assert "No Slack or Teams settings" in err and "nextpractice serve --console" in err


async def test_with_slack_configured_a_pulse_goes_to_slack_only_even_after_someone_used_the_console(
    tmp_path: Path,
) -> None:
    database_url = _sqlite(tmp_path)  # which platform a message goes to does not depend on the engine
    script = tmp_path / "try.txt"
    script.write_text("ned: help\n")
    async with FakeSlack() as fake:
        env = _slack_env(database_url, tmp_path / "data", fake)
        await _set_up(
            env, tmp_path, ON_SLACK + "ola,Ola Nowak,Europe/London,staff,Team 1,,\n"
        )  # not on Slack
        # Ned tries the bot in the console, on the real database (as the CLI's help suggests).
        code, _, err = await _nextpractice(env, "console", "--as", "ned", "--script", str(script))
        assert code == 0, err

        code, out, err = await _nextpractice(env, "pulse", "send", "Quick", "pulse", "--every", "0")

        assert code == 0, err
        assert sorted(call["channel"] for call in fake.calls_to("chat.postMessage")) == ["U100", "U123"]
        # Ola has no Slack account: her message fails where it can be seen, not "sent" to a terminal.
        assert re.search(r"^Done: 2 sent, 1 failed, took \d+s\.$", out, re.MULTILINE), out
        assert "I can suggest improvements" not in out
        assert "will be unused" not in err  # Bolt's warning about the token it is also given: noise
        # Said before sending, so a first install imported without Slack ids knows why messages fail.
        assert "Note: 1 of the 3 people in the directory has no Slack account recorded" in err, err


async def test_pulse_send_is_explained_in_the_help(tmp_path: Path) -> None:
    code, out, _ = await _nextpractice(_env("", tmp_path), "pulse", "send", "--help")

    assert code == 0
    assert out.startswith("usage: nextpractice pulse send [-h]")  # the command as it is typed
    assert "delivery progress: sent 1200 / 10000 (12%), 48.0/s, ETA 3m03s" in out
    assert "--no-wait" in out


# -- logs ----------------------------------------------------------------------------------


def test_json_logs_are_one_object_a_line_with_the_extra_fields() -> None:
    record = logging.LogRecord("bot.delivery", logging.INFO, __file__, 1, "sent %d", (3,), None)
    record.sent = 3

    entry = json.loads(JsonFormatter().format(record))

    assert entry["level"] == "INFO"
    assert entry["logger"] == "bot.delivery"
    assert entry["message"] == "sent 3"
    assert entry["sent"] == 3
    assert datetime.fromisoformat(entry["time"]).tzinfo is not None


def test_the_log_format_is_a_setting() -> None:
    def log_format(value: str) -> str:
        return Settings.from_env(
            {"NEXTPRACTICE_LOG_FORMAT": value, "NEXTPRACTICE_SECRET_KEY": SECRET}
        ).log_format

    assert (log_format(""), log_format("json"), log_format("JSON"), log_format("Text")) == (
        "text",
        "json",
        "json",
        "text",
    )
    with pytest.raises(ValueError, match="NEXTPRACTICE_LOG_FORMAT must be one of text, json"):
        log_format("xml")


def test_a_start_logs_the_migrations_it_ran_without_alembics_preamble(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with configured(logging.INFO), caplog.at_level(logging.INFO):
        upgrade_database(f"sqlite+aiosqlite:///{tmp_path / 'new.db'}")  # a new database: every migration
        upgrade_database(f"sqlite+aiosqlite:///{tmp_path / 'new.db'}")  # and again: none

    assert caplog.text.count("Running upgrade") == len(list((MIGRATIONS / "versions").glob("0*.py")))
    assert "Context impl" not in caplog.text and "Will assume" not in caplog.text


@contextmanager
def configured(level: int, log_format: str = "text") -> Iterator[None]:
    """The bot's logging set up at ``level``, as NEXTPRACTICE_LOG_LEVEL does; restored afterwards."""
    levels = {name: logging.getLogger(name).level for name in CHATTY}
    configure(level, log_format)
    yield
    for name, level_before in levels.items():
        logging.getLogger(name).setLevel(level_before)


@pytest.fixture
def debug_logging() -> Iterator[None]:
    """The bot's logging at DEBUG, in JSON."""
    with configured(logging.DEBUG, "json"):
        yield


async def test_logs_never_name_an_anonymous_author(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture, debug_logging: None
) -> None:
    """An anonymous idea and question, a status change and an answer sent back to their author through
    a platform that first rate-limits and then loses her, a scheduled pulse and housekeeping: at DEBUG,
    no log record of any logger carries her name, handle or platform user id."""
    amira = Identity("chat", "T9", "U07AMIRA")
    chat = LosesAmira()
    out: list[str] = []
    settings = Settings(data_dir=tmp_path, secret_key=SECRET.encode(), database_url=database_url)
    clock = MovableClock(START)
    app = await build_app(settings, clock=clock, senders={CONSOLE: ConsoleSender(out.append), "chat": chat})
    try:
        people = PEOPLE + "amira,Amira Hassan,Europe/London,staff,Team 1\n"
        people += "jo,Jo Adeyemi,Europe/London,senior_leader,Head Office\n"
        assert not (await import_directory(app.store, csv.DictReader(io.StringIO(people)))).errors
        await load_programme(app.store, tomllib.loads(QUICK.replace("0 9 * * MON", "0 9 * * *")))
        async with app.store.transaction() as tx:
            person = await tx.directory.person_by_handle("amira")
            assert person is not None
            await tx.directory.add_identity(person.id, amira)
        app.worker.progress_seconds = 0
        caplog.set_level(logging.DEBUG)
        caplog.clear()

        boss, jo = Identity("console", "local", "boss"), Identity("console", "local", "jo")
        for who, line, expected in [
            (amira, "idea anon Text people when a visit will be late", "#1"),
            (amira, "ask anon Will weekend rotas be published a month ahead?", "#1"),
            (boss, "status 1 review Trying it on the east patch", "The submitter has been told"),
            (jo, "answer 1 Yes, from January", "#1"),
        ]:
            reply = await app.dialogue.handle(Command(who, line))
            assert expected in reply.messages[0].fallback(), reply
        await app.worker.drain()
        await scheduler.advance(
            dialogue=app.dialogue,
            store=app.store,
            clock=clock,
            until=START + timedelta(days=7),
            after_step=app.worker.drain,
        )
    finally:
        await app.close()

    assert chat.attempts >= 2, "the author's messages never reached the platform: the test proved nothing"
    names = {r.name for r in caplog.records}
    assert {"bot.delivery", "bot.scheduler"} <= names, names
    formatter = JsonFormatter()
    for record in caplog.records:
        logged = formatter.format(record).lower()
        for secret in ("amira", "hassan", "u07amira"):
            assert secret not in logged, f"{record.name} logged {secret!r}: {logged}"
        # Nor her person id in a delivery's key: a pulse's later questions go as someone answers, so their
        # keys tell who got how far, which the database forgets a day after the pulse closes.
        assert not re.search(rf":p:{person.id}\b", logged), f"{record.name} logged her id: {logged}"
    assert any(":p:…" in formatter.format(record) for record in caplog.records)  # the pulse was sent


async def test_a_replica_with_another_secret_key_is_stopped_before_it_writes(
    database_url: str, tmp_path: Path
) -> None:
    first = Settings(
        data_dir=tmp_path / "one", secret_key=b"the-first-key-0123456789", database_url=database_url
    )
    app = await build_app(first)
    await app.close()
    again = await build_app(first)  # the same key: welcome back
    await again.close()

    other = Settings(
        data_dir=tmp_path / "two", secret_key=b"another-key-9876543210", database_url=database_url
    )
    with pytest.raises(KeyMismatch, match="NEXTPRACTICE_SECRET_KEY is not the key this database"):
        await build_app(other)

    # From the command line, as an operator sees it: a plain message and the configuration exit code.
    env = _env(database_url, tmp_path / "three", NEXTPRACTICE_SECRET_KEY="yet-another-key-000000000")
    code, _, err = await _nextpractice(env, "pulse", "list")
    assert code == 2 and "Traceback" not in err
    assert "Set the same NEXTPRACTICE_SECRET_KEY on every replica" in err


async def test_pulse_send_fails_when_nothing_could_be_delivered(tmp_path: Path) -> None:
    database_url = _sqlite(tmp_path)  # what the command line says does not depend on the engine
    async with FakeSlack() as fake:
        env = _slack_env(database_url, tmp_path / "data", fake)
        await _set_up(env, tmp_path, PEOPLE)  # nobody's Slack account is known

        code, out, err = await _nextpractice(env, "pulse", "send", "Quick", "pulse", "--every", "0")

    assert code == 1, out
    assert re.search(rf"^Done: 0 sent, {RECIPIENTS} failed", out, re.MULTILINE), out
    assert "Nothing was delivered from here" in err


async def test_db_upgrade_says_what_it_did(tmp_path: Path) -> None:
    database_url = _sqlite(tmp_path)  # what the command line says does not depend on the engine
    env = _env(database_url, tmp_path / "data")

    code, first, err = await _nextpractice(env, "db", "upgrade")
    assert code == 0, err
    code, again, err = await _nextpractice(env, "db", "upgrade")
    assert code == 0, err

    newest = sorted(p.name[:4] for p in (MIGRATIONS / "versions").glob("[0-9]*.py"))[-1]
    assert f"from revision none to {newest}." in first
    assert f"was already up to date (revision {newest})." in again


async def test_an_older_version_starts_and_upgrades_nothing_on_a_database_a_newer_one_migrated(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database_url = _sqlite(tmp_path)  # what is run does not depend on the engine
    settings = Settings(data_dir=tmp_path, secret_key=SECRET.encode(), database_url=database_url)
    app = await build_app(settings)
    async with app.store.engine.begin() as connection:
        await connection.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    await app.close()

    with caplog.at_level(logging.WARNING, logger="storage.migrate"):
        again = await build_app(settings)  # an old replica restarting mid-upgrade: it used to crash
    await again.close()
    code, out, err = await _nextpractice(_env(database_url, tmp_path / "data"), "db", "upgrade")

    assert "at revision 0999, newer than this version's" in caplog.text
    assert code == 0, err
    assert "is at revision 0999, newer than this version's" in out and "Nothing to do here" in out


async def test_messages_refused_for_a_wrong_token_are_sent_once_it_is_fixed(tmp_path: Path) -> None:
    database_url = _sqlite(tmp_path)  # what the command line does does not depend on the engine
    async with FakeSlack() as fake:
        env = _slack_env(database_url, tmp_path / "data", fake)
        await _set_up(env, tmp_path, ON_SLACK)
        fake.refused_tokens.add("xoxb-test")  # revoked, or mistyped in SLACK_BOT_TOKEN
        code, out, err = await _nextpractice(env, "pulse", "send", "Quick", "pulse", "--every", "0")
        assert code == 1 and "Done: 0 sent, 2 failed" in out, out
        assert "check SLACK_BOT_TOKEN" in err and "nextpractice outbox retry" in err, err

        fake.refused_tokens.clear()  # the token is put right
        code, retried, err = await _nextpractice(env, "outbox", "retry", "--error", "invalid_auth")
        assert code == 0, err
        app = await build_app(Settings.from_env(env))  # what `serve` does with the queue
        try:
            await app.worker.drain()
        finally:
            await app.close()

    assert "Queued 2 failed messages whose error mentions 'invalid_auth' from the last 24 hours" in retried
    delivered = [call for call in fake.calls_to("chat.postMessage")][-2:]
    assert sorted(call["channel"] for call in delivered) == ["U100", "U123"]
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            statuses = (await connection.execute(text("SELECT status FROM deliveries"))).scalars().all()
    finally:
        await engine.dispose()
    assert statuses == ["sent", "sent"]
