"""Fan-out benchmark: one pulse to thousands of staff, through the outbox, to rate-limited local platforms.

    python -m benchmarks.fanout [--people 10000] [--platform slack|teams|both] [--limits published|none|both]
                                [--database sqlite|postgres] [--slack-per-minute 600] [--teams-per-second 50]
                                [--import-directory]

The bot runs in this process (``build_app``: the real store, core, senders and ``DeliveryWorker`` with its
per-platform ``RateLimiter`` and ``ConversationLimiter``). The platform runs in a child process (tests'
``FakeSlack`` or ``FakeConnector`` with ``validate=False``), so this process's CPU time is the bot's alone
(with SQLite, which runs inside the bot, included; a PostgreSQL server's CPU is not).

With ``--limits published`` the fake enforces the platform's published limits as sliding windows and
answers 429 with Retry-After (tests/fake_limits.py): Slack's chat.postMessage ``--slack-per-minute`` a
minute per workspace (and 1 a second per conversation), Teams' ``--teams-per-second`` requests a second per
app (and its per-conversation windows). The bot paces at its own configured rate (adapters' published
constants); when the fake's limit differs from the bot's constant, the bot is told the fake's rate through
``Settings.slack_rate``/``teams_rate``, as an operator would with ``NEXTPRACTICE_SLACK_RATE``. With
``--limits none`` the fake does not limit and the bot does not pace (rate 0).

The people are written in bulk, row for row what ``import_directory`` writes (``--import-directory`` uses
the import itself: minutes for 10,000); Teams people also get the conversation reference the bot keeps once
someone has the app, so each message is one connector call. Setting up is not timed.

For each run it prints: wall time from ``pulse send`` until every delivery is settled, the minimum the
limits allow (messages / sustained rate), their ratio, recipients who got no message (lost) or more than one
(duplicated), 429s the platform answered, and the bot's CPU seconds per 1,000 messages.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import io
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

import asyncpg
from sqlalchemy import insert, text

from adapters.slack import sender as slack_sender
from adapters.teams import sender as teams_sender
from bot.bootstrap import App, build_app, settle
from bot.cli import check_cron
from bot.settings import Settings, SlackSettings, TeamsSettings
from dialogue.directory_import import import_directory
from dialogue.outbox import Contact
from dialogue.programme import load_programme
from storage.directory import name_key
from storage.models import IdentityRow, MembershipRow, PersonRoleRow, PersonRow, TeamRow

ROOT = Path(__file__).resolve().parents[1]
SLACK, TEAMS = "slack", "teams"
PUBLISHED, NONE = "published", "none"
WORKSPACE = "T111"
TENANT = "00000000-0000-4000-8000-00000000beef"
MANAGER = "boss"
PULSE_NAME = "Fanout pulse"
PROGRAMME = f"""
[[pulse]]
name = "{PULSE_NAME}"
open_hours = 48

[[pulse.question]]
kind = "scale"
text = "I can suggest improvements."
"""
DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
TEAM_SIZE = 40
PLATFORM_COLUMNS = ("slack_user_id", "slack_team_id", "teams_user_id", "teams_tenant")


@dataclass
class FanoutResult:
    """The figures of one fan-out run."""

    platform: str
    limits: str  # "published" or "none"
    database: str
    messages: int  # recipients the pulse was queued for
    wall: float  # seconds from `pulse send` until every delivery was sent or given up
    enqueue: float  # seconds `pulse send` took (writing the outbox rows)
    minimum: float | None  # messages / the sustained rate the limits allow (None without limits)
    window_minimum: (
        float | None
    )  # the strict bound: a full window's worth may go at once, then one per window
    ratio: float | None
    lost: int  # recipients with no message
    unsettled: (
        int  # deliveries neither sent nor given up when the run stopped (gave up waiting: lost counts them)
    )
    duplicated: int  # recipients with more than one
    refused: int  # 429s the platform answered
    retried: int  # rows the worker put back for later (429s, errors)
    failed: int  # rows the worker gave up on
    cpu: float  # the bot process's CPU seconds (user + system) during the run
    cpu_per_1000: float
    sends_per_second: float
    fake_cpu: float  # the platform process's CPU seconds, for comparison
    bot_rate: float | None  # the bot's configured pace, calls a second (None: unpaced)
    bot_burst: int | None
    bot_window: tuple[int, float] | None  # the bot's own cap: at most n calls in any so many seconds
    limit_calls: int | None  # the fake's app-wide window: at most this many calls ...
    limit_window: float | None  # ... in any window this long (seconds)
    peak_in_window: int  # the most accepted calls the fake saw in any such window
    early: int  # calls into a conversation before its Retry-After had passed (must be 0)
    during_pause: int  # calls that arrived while an app-wide Retry-After was running


# ---- the platform, in a child process ----


def _serve_fake(platform: str, limits: Sequence[float] | None) -> None:
    """Child process: serve the fake, print its URL as a JSON line, answer ``report`` lines on stdin."""
    if platform == SLACK:
        asyncio.run(_serve_slack(limits))
    else:
        _serve_teams(limits)


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _say(data: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(data) + "\n")
    sys.stdout.flush()


async def _serve_slack(limits: Sequence[float] | None) -> None:
    from tests.slack.fake_api import FakeSlack, slack_limits

    accepted: list[float] = []

    class TimedFakeSlack(FakeSlack):
        """Keeps when each chat.postMessage was accepted, to check the bot's pace against the window."""

        def _respond(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
            if method == "chat.postMessage":
                accepted.append(time.monotonic())
            return super()._respond(method, args)

    window = slack_limits(int(limits[0]), window=limits[1]) if limits else None
    async with TimedFakeSlack(limits=window, validate=False) as fake:
        _say({"url": fake.url})
        loop = asyncio.get_running_loop()
        while (await loop.run_in_executor(None, sys.stdin.readline)).strip() == "report":
            per_conversation = Counter(str(m["channel"]) for m in fake.messages)
            summary = window.summary() if window else {"refused": 0, "early": 0, "during_pause": 0}
            _say({"per_conversation": per_conversation, "accepted": accepted, "cpu": _own_cpu(), **summary})


def _serve_teams(limits: Sequence[float] | None) -> None:
    from tests.teams.fake_connector import FakeConnector, teams_limits

    window = teams_limits(int(limits[0])) if limits else None
    with FakeConnector(limits=window, validate=False) as fake:
        _say({"url": fake.url})
        while sys.stdin.readline().strip() == "report":
            with fake._lock:  # the connector serves from a thread of its own
                delivered = [
                    d.conversation_id for d in fake.activities if d.operation == "send_to_conversation"
                ]
                accepted = [c.at for c in fake.calls if c.status in (200, 201)]
            summary = window.summary() if window else {"refused": 0, "early": 0, "during_pause": 0}
            per_conversation = Counter(delivered)
            _say({"per_conversation": per_conversation, "accepted": accepted, "cpu": _own_cpu(), **summary})


class FakeProcess:
    """The fake platform in a child process, talked to over its stdin and stdout."""

    def __init__(self, platform: str, limits: Sequence[float] | None) -> None:
        argv = [sys.executable, "-m", "benchmarks.fanout", "--serve-fake", platform]
        if limits:
            argv += ["--fake-limits", ",".join(str(x) for x in limits)]
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        self.process = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        self.url = str(self._read()["url"])

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the fake platform exited (status {self.process.wait()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def report(self) -> dict[str, Any]:
        """What the fake received so far."""
        assert self.process.stdin is not None
        self.process.stdin.write("report\n")
        return self._read()

    def close(self) -> None:
        """Stop the child (end of its stdin), waiting a little before killing it."""
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


# ---- the bot ----


def slack_user(n: int) -> str:
    """Person ``n``'s Slack user id; the fake names the app's DM with them ``D`` + the same digits."""
    return f"U{n:08d}"


def teams_conversation(n: int) -> str:
    """Person ``n``'s personal chat with the bot, as Teams would have given it."""
    return f"a:1bench{n:08d}"


def teams_user(n: int) -> str:
    """Person ``n``'s Entra object id."""
    return f"00000000-0000-4000-8000-{n:012d}"


def people_csv(people: int) -> str:
    """A directory of ``people``: person 0 is the manager who sends the pulse, everyone has both accounts."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["handle", "name", "time_zone", "roles", "team", "parent_team", *PLATFORM_COLUMNS])
    for n in range(people):
        handle = MANAGER if n == 0 else f"p{n:06d}"
        roles = "manager" if n == 0 else "staff"
        team = f"Team {n // TEAM_SIZE:04d}"
        accounts = (slack_user(n), WORKSPACE, teams_user(n), TENANT)
        writer.writerow([handle, f"Person {n}", "Europe/London", roles, team, "Organisation", *accounts])
    return out.getvalue()


async def load_directory(app: App, people: int) -> None:
    """Write the directory of :func:`people_csv` in bulk, row for row what ``import_directory`` makes of it
    (its one-person-at-a-time ORM session grows slower with every person: minutes for 10,000).

    Each person has a console, a Slack and a Teams identity, linked in that order (``seen`` 1, 2, 3), so the
    outbox prefers Teams, then Slack, as after an import.
    """
    teams = [{"id": 1, "name": "Organisation", "name_key": "organisation", "parent_id": None}]
    teams += [
        {"id": t + 2, "name": f"Team {t:04d}", "name_key": f"team {t:04d}", "parent_id": 1}
        for t in range((people + TEAM_SIZE - 1) // TEAM_SIZE)
    ]
    handles = [MANAGER if n == 0 else f"p{n:06d}" for n in range(people)]
    rows: list[tuple[Any, list[dict[str, Any]]]] = [
        (TeamRow, teams),
        (
            PersonRow,
            [
                {"id": n + 1, "handle": h, "handle_key": name_key(h), "display_name": f"Person {n}"}
                | {"time_zone": "Europe/London", "active": True}
                for n, h in enumerate(handles)
            ],
        ),
        (
            PersonRoleRow,  # parse_roles gives everyone "staff" too, the manager included
            [
                {"person_id": 1, "role": "manager"},
                *({"person_id": n + 1, "role": "staff"} for n in range(people)),
            ],
        ),
        (
            MembershipRow,
            [{"person_id": n + 1, "team_id": n // TEAM_SIZE + 2, "position": 0} for n in range(people)],
        ),
        (
            IdentityRow,
            [
                {"person_id": n + 1, "platform": platform, "tenant": tenant, "user_id": user_id, "seen": seen}
                for n, h in enumerate(handles)
                for seen, (platform, tenant, user_id) in enumerate(
                    (
                        ("console", "local", h),
                        (SLACK, WORKSPACE, slack_user(n)),
                        (TEAMS, TENANT, teams_user(n)),
                    ),
                    start=1,
                )
            ],
        ),
    ]
    async with app.store.engine.begin() as db:
        for table, values in rows:
            for start in range(0, len(values), 5000):
                await db.execute(insert(table), values[start : start + 5000])
        if app.store.dialect == "postgresql":  # explicit ids leave the sequences behind
            for table in ("teams", "people"):
                sequence = f"pg_get_serial_sequence('{table}', 'id')"
                await db.execute(text(f"SELECT setval({sequence}, (SELECT max(id) FROM {table}))"))


async def seed_teams_contacts(app: App, people: int, service_url: str) -> None:
    """Each person's conversation reference, as the bot keeps it once they have the app (one call a message:
    without one, a message costs a create_conversation call as well)."""
    from botbuilder.schema import ChannelAccount, ConversationAccount, ConversationReference

    async with app.store.transaction() as tx:
        for n in range(people):
            reference = ConversationReference(
                channel_id="msteams",
                service_url=service_url,
                conversation=ConversationAccount(
                    id=teams_conversation(n), tenant_id=TENANT, conversation_type="personal"
                ),
                bot=ChannelAccount(id="28:"),
                user=ChannelAccount(id=f"29:bench{n}", aad_object_id=teams_user(n)),
            )
            data = dict(reference.serialize())
            await tx.contacts.save_contact(
                Contact(TEAMS, f"user:{TENANT}:{teams_user(n)}", data), at=app.clock.now()
            )


@contextlib.asynccontextmanager
async def database(kind: str, data_dir: Path, postgres_url: str = DEFAULT_POSTGRES) -> AsyncIterator[str]:
    """A fresh database for one run: a SQLite file under ``data_dir``, or a PostgreSQL database of its own
    (created next to ``postgres_url``'s and dropped afterwards)."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{data_dir / 'bench.db'}"
        return
    from sqlalchemy import make_url

    base = make_url(postgres_url)
    name = f"nextpractice_bench_{os.getpid()}_{int(time.time() * 1000) % 1_000_000}"
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)

    async def execute(sql: str) -> None:
        connection = await asyncpg.connect(admin, timeout=5)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    await execute(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        await execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _paced_rate(platform: str, limits: str, slack_per_minute: int, teams_per_second: int) -> int | None:
    """What the bot is told to pace at: None (its published constant) when that is the fake's limit too."""
    if limits == NONE:
        return 0
    if platform == SLACK:
        published = slack_sender.MESSAGES_PER_SECOND * 60
        return None if slack_per_minute == published else max(1, round(slack_per_minute / 60))
    return None if teams_per_second == teams_sender.MESSAGES_PER_SECOND else teams_per_second


def peak_in_window(times: Sequence[float], window: float) -> int:
    """The most of ``times`` in any half-open window ``window`` seconds long (what a sliding limit sees)."""
    ordered = sorted(times)
    peak = start = 0
    for end, at in enumerate(ordered):
        while ordered[start] <= at - window:
            start += 1
        peak = max(peak, end - start + 1)
    return peak


async def run_fanout(
    *,
    platform: str,
    limits: str,
    people: int,
    database_kind: str = "sqlite",
    slack_per_minute: int = slack_sender.MESSAGES_PER_SECOND * 60,
    teams_per_second: int = teams_sender.MESSAGES_PER_SECOND,
    postgres_url: str = DEFAULT_POSTGRES,
    give_up_after: float | None = None,
    bulk_directory: bool = True,
) -> FanoutResult:
    """Send one pulse to ``people`` (the manager included) on ``platform`` and measure the fan-out."""
    if platform == SLACK:
        window: tuple[float, float] | None = (slack_per_minute, 60.0) if limits == PUBLISHED else None
    else:
        window = (teams_per_second, 1.0) if limits == PUBLISHED else None
    fake = FakeProcess(platform, window)
    try:
        with tempfile.TemporaryDirectory(prefix="fanout-") as tmp:
            async with database(database_kind, Path(tmp), postgres_url) as url:
                return await _measure(
                    fake, url, Path(tmp), platform, limits, people, database_kind, window, give_up_after,
                    _paced_rate(platform, limits, slack_per_minute, teams_per_second), bulk_directory,
                )  # fmt: skip
    finally:
        fake.close()


async def _measure(
    fake: FakeProcess,
    url: str,
    data_dir: Path,
    platform: str,
    limits: str,
    people: int,
    database_kind: str,
    window: tuple[float, float] | None,
    give_up_after: float | None,
    rate: int | None,
    bulk_directory: bool,
) -> FanoutResult:
    slack = teams = None
    if platform == SLACK:
        slack = SlackSettings(bot_token="xoxb-bench", signing_secret="bench-secret", api_url=fake.url)
    else:
        teams = TeamsSettings(tenant_id=TENANT, service_url=fake.url)
    settings = Settings(
        data_dir=data_dir,
        secret_key=b"fanout-benchmark-secret-000000",
        database_url=url,
        slack=slack,
        teams=teams,
        slack_rate=rate if platform == SLACK else None,
        teams_rate=rate if platform == TEAMS else None,
    )
    app = await build_app(settings)
    try:
        if bulk_directory:
            await load_directory(app, people)
        else:
            report = await import_directory(app.store, csv.DictReader(io.StringIO(people_csv(people))))
            assert not report.errors, report.errors[:5]
        await load_programme(app.store, tomllib.loads(PROGRAMME), check_cron=check_cron)
        if platform == TEAMS:
            await seed_teams_contacts(app, people, fake.url)
        limiter = app.worker.limiters[platform]
        stop = asyncio.Event()
        cpu_before, started = time.process_time(), time.perf_counter()
        await app.dialogue.command_as(MANAGER, f"pulse send {PULSE_NAME}")
        enqueued = time.perf_counter()
        recipients = await _recipients(app)
        worker = asyncio.create_task(app.worker.run(stop))
        app.worker.wake()
        minimum = people / (window[0] / window[1]) if window else None
        # Generous: the point is to measure, not to give up (a bot at 20 sends/s needs 500 s for 10,000).
        deadline = started + (
            give_up_after if give_up_after is not None else 600 + people / 10 + 3 * (minimum or 0)
        )
        while app.worker.stats.sent + app.worker.stats.failed < len(recipients):
            if time.perf_counter() > deadline or worker.done():
                break
            await asyncio.sleep(0.02)
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu_before
        unsettled = len(recipients) - app.worker.stats.sent - app.worker.stats.failed
        stop.set()
        await worker
        seen = await asyncio.to_thread(fake.report)
    finally:
        await app.close()
    per_conversation: dict[str, int] = seen["per_conversation"]
    conversation = (lambda n: "D" + slack_user(n)[1:]) if platform == SLACK else teams_conversation
    got = [per_conversation.get(conversation(n), 0) for n in recipients]
    count = len(recipients)
    return FanoutResult(
        platform=platform,
        limits=limits,
        database=database_kind,
        messages=count,
        wall=wall,
        enqueue=enqueued - started,
        minimum=minimum,
        window_minimum=max(0, math.ceil(count / window[0]) - 1) * window[1] if window else None,
        ratio=wall / minimum if minimum else None,
        lost=sum(1 for g in got if g == 0),
        unsettled=max(0, unsettled),
        duplicated=sum(1 for g in got if g > 1),
        refused=int(seen["refused"]),
        retried=app.worker.stats.retried,
        failed=app.worker.stats.failed,
        cpu=cpu,
        cpu_per_1000=cpu / count * 1000 if count else 0.0,
        sends_per_second=count / wall if wall else 0.0,
        fake_cpu=float(seen["cpu"]),
        bot_rate=limiter.rate,
        bot_burst=limiter.burst if limiter.rate else None,
        bot_window=limiter.window if limiter.rate else None,
        limit_calls=int(window[0]) if window else None,
        limit_window=window[1] if window else None,
        peak_in_window=peak_in_window(seen["accepted"], window[1] if window else 1.0),
        early=int(seen["early"]),
        during_pause=int(seen["during_pause"]),
    )


async def _recipients(app: App) -> list[int]:
    """The person numbers the pulse was queued for (person n has handle p{n:06d}, the manager is 0)."""
    async with app.store.engine.connect() as db:
        rows = await db.execute(
            text("SELECT p.handle FROM recipients r JOIN people p ON p.id = r.person_id ORDER BY p.handle")
        )
        return [0 if handle == MANAGER else int(handle[1:]) for (handle,) in rows]


# ---- the report ----


def pace_check(result: FanoutResult) -> str:
    """Whether the bot's pace fits the fake's window, in a sentence (empty without limits)."""
    if result.limit_calls is None or result.limit_window is None:
        return ""
    calls, window = result.limit_calls, result.limit_window
    rate = result.bot_rate or 0.0
    # A token bucket lets through `burst` at once and then `rate` a second: burst + rate * window in a window,
    # unless the bot also caps its calls in a window of the same length.
    allowed = (result.bot_burst or 0) + rate * window
    capped = ""
    if result.bot_window is not None and result.bot_window[1] == window:
        allowed = min(allowed, result.bot_window[0])
        capped = f" and at most {result.bot_window[0]} in any {window:g} s"
    verdict = "fits" if allowed <= calls else "EXCEEDS"
    return (
        f"{result.platform}: the bot paces at {rate:g}/s with a burst of {result.bot_burst}{capped}, i.e. up "
        f"to {allowed:g} calls in a {window:g} s window; the platform allows {calls}: {verdict} "
        f"({result.refused} 429s, peak {result.peak_in_window} accepted in any {window:g} s, "
        f"{result.early} early retries, {result.during_pause} calls during a Retry-After)."
    )


def table(results: Sequence[FanoutResult]) -> str:
    """The results as a fixed-width table."""
    head = (
        f"{'platform':8} {'limits':9} {'db':8} {'messages':>8} {'wall s':>8} {'minimum s':>9} {'ratio':>6} "
        f"{'window s':>8} "
        f"{'lost':>5} {'dup':>4} {'429s':>5} {'sends/s':>8} {'CPU s/1000':>10}"
    )
    rows = [head, "-" * len(head)]
    for r in results:
        minimum = f"{r.minimum:9.1f}" if r.minimum is not None else f"{'-':>9}"
        ratio = f"{r.ratio:6.3f}" if r.ratio is not None else f"{'-':>6}"
        strict = f"{r.window_minimum:8.1f}" if r.window_minimum is not None else f"{'-':>8}"
        rows.append(
            f"{r.platform:8} {r.limits:9} {r.database:8} {r.messages:8d} {r.wall:8.1f} {minimum} {ratio} "
            f"{strict} "
            f"{r.lost:5d} {r.duplicated:4d} {r.refused:5d} {r.sends_per_second:8.1f} {r.cpu_per_1000:10.3f}"
        )
    return "\n".join(rows)


def print_report(results: Sequence[FanoutResult], out: TextIO = sys.stdout) -> None:
    """Print the table, then the pacing checks and the details."""
    print(table(results), file=out)
    print(
        "minimum s: messages / the limit's sustained rate; window s: the strict sliding-window bound "
        "(a whole window's quota at once, then one quota per window); ratio = wall / minimum",
        file=out,
    )
    for r in results:
        if note := pace_check(r):
            print(note, file=out)
    for r in results:
        print(
            f"{r.platform}/{r.limits}: enqueue {r.enqueue:.2f} s, retried {r.retried}, failed {r.failed}, "
            f"{'GAVE UP WAITING with ' + str(r.unsettled) + ' unsettled, ' if r.unsettled else ''}"
            f"bot CPU {r.cpu:.1f} s, platform CPU {r.fake_cpu:.1f} s",
            file=out,
        )


def projected(people: int, slack_per_minute: int, teams_per_second: int) -> str:
    """What the published limits make a full-size run take, before it starts."""
    slack = people / slack_per_minute * 60
    teams = people / teams_per_second
    # The strict sliding windows would also let a first window's worth through at once.
    slack_window = max(0, math.ceil(people / slack_per_minute) - 1) * 60
    return (
        f"projected minimum for {people} messages: Slack at {slack_per_minute}/min {slack:.0f} s "
        f"({slack / 60:.1f} min; {slack_window} s if a full minute's quota went out at once), "
        f"Teams at {teams_per_second}/s {teams:.0f} s"
    )


async def main_async(args: argparse.Namespace, out: TextIO = sys.stdout) -> list[FanoutResult]:
    """Run every requested combination and print the report; returns the figures."""
    platforms = [SLACK, TEAMS] if args.platform == "both" else [args.platform]
    limit_modes = [PUBLISHED, NONE] if args.limits == "both" else [args.limits]
    print(projected(args.people, args.slack_per_minute, args.teams_per_second), file=out, flush=True)
    results = []
    for platform in platforms:
        for limits in limit_modes:
            result = await run_fanout(
                platform=platform,
                limits=limits,
                people=args.people,
                database_kind=args.database,
                slack_per_minute=args.slack_per_minute,
                teams_per_second=args.teams_per_second,
                postgres_url=args.postgres_url,
                bulk_directory=not args.import_directory,
            )
            print(f"done: {json.dumps(asdict(result))}", file=out, flush=True)
            results.append(result)
    print_report(results, out)
    return results


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fanout", description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--platform", choices=[SLACK, TEAMS, "both"], default="both")
    parser.add_argument("--limits", choices=[PUBLISHED, NONE, "both"], default="both")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--postgres-url", default=os.environ.get("NEXTPRACTICE_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    )
    parser.add_argument(
        "--slack-per-minute",
        type=int,
        default=slack_sender.MESSAGES_PER_SECOND * 60,
        help="the fake Slack's chat.postMessage limit per workspace a minute (default: our sender's pace)",
    )
    parser.add_argument("--teams-per-second", type=int, default=teams_sender.MESSAGES_PER_SECOND)
    parser.add_argument(
        "--import-directory",
        action="store_true",
        help="set up the people with `import_directory` (the product path; slow for thousands) not in bulk",
    )
    parser.add_argument("--serve-fake", choices=[SLACK, TEAMS], help=argparse.SUPPRESS)
    parser.add_argument("--fake-limits", default="", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> list[FanoutResult]:
    """Entry point: ``python -m benchmarks.fanout``."""
    args = parse_args(argv)
    if args.serve_fake:
        _serve_fake(
            args.serve_fake, [float(x) for x in args.fake_limits.split(",")] if args.fake_limits else None
        )
        return []
    settle()  # as `nextpractice serve` does (there after building the bot; here the code is most of it)
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
