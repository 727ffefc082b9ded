"""Ingest benchmark: pulse answer taps through our whole server, against a bare server on the same stack.

    python -m benchmarks.ingest [--platform slack|teams|both] [--seconds 20] [--rate 200]
                                [--database sqlite|postgres] [--people 2000] [--clients 32]

For each platform it sets up a directory of ``--people`` staff, sends them a two-question pulse and lets
our real server (``python -m bot serve`` in a subprocess, configured by environment variables) deliver
it to a local platform (tests' ``FakeSlack`` or ``FakeConnector``, in a subprocess too). Then it taps the
answer buttons of those very messages, as the platform would post the taps:

- Slack: signed ``block_actions`` to ``/slack/events``. Bolt checks the signature and our listener acks,
  then (after the ack, as Slack needs) stores the answer, refreshes the card with ``chat.update`` and
  queues the next question in the outbox. The baseline is a Bolt ``AsyncApp`` served the same way whose
  only listener acks.
- Teams: ``adaptiveCard/action`` invokes to ``/api/messages`` (unauthenticated local mode). Our bot
  stores the answer and answers with the refreshed card; the outbox delivers the next question. The
  baseline is botbuilder's ``CloudAdapter`` with an echo bot answering every tap with a small card.

Both servers get the same taps from the same client: a gentle warm-up, a closed loop of ``--clients``
senders for ``--seconds`` (throughput), then an open loop at ``--rate`` requests a second for
``--seconds`` (latency from each request's scheduled send time, so queueing counts). As Slack's work
happens after the ack, a Slack tap counts as handled when its ``chat.update`` reaches Slack: "handled/s"
(over the time until the last card update) and "tap->card" latency measure that, and the throughput
ratio is ours handled/s over the bare server's acks/s. "CPU ms/req" is each server's CPU time over its
closed loop a request (ours: a tap and all it causes). After each phase on our server the benchmark waits
until the platform has seen every effect (or none came for ``--settle`` seconds, counted as missing),
and at the end checks the database holds an answer for every person tapped. Progress goes to stderr,
the report to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import functools
import io
import json
import math
import os
import platform as platform_module
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
import tomllib
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any, TextIO, TypeVar

import aiohttp

from benchmarks.ingest_helpers import (
    BOT_TOKEN,
    MANAGER,
    PROGRAMME,
    PULSE_NAME,
    SECRET,
    SECRET_KEY,
    Check,
    Phase,
    Taps,
    closed_loop,
    free_port,
    open_loop,
    people_csv,
    percentile,
    serve_bare_slack,
    serve_bare_teams,
    serve_fake_slack,
    serve_fake_teams,
    slack_ok,
    slack_taps,
    teams_ok,
    teams_taps,
)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
POSTGRES_DATABASE = "nextpractice_ingest"
THROUGHPUT_GOAL = 0.5  # ours / bare
P99_GOAL_MS = 250.0
STARTUP_SECONDS = 60.0
WARMUP_RATE = 20.0  # requests/s

Json = dict[str, Any]
T = TypeVar("T")
_T0 = time.monotonic()


def say(message: str) -> None:
    """Progress on stderr, so a user sees which phase a long run is in (stdout is the report)."""
    print(f"[ingest {time.monotonic() - _T0:6.1f} s] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Options:
    """What to run: the command line's options."""

    platforms: tuple[str, ...] = ("slack", "teams")
    seconds: float = 20.0
    rate: float = 200.0
    database: str = "sqlite"
    people: int = 2000
    clients: int = 32
    warmup: float = 3.0
    settle: float = 5.0  # give up waiting for effects after this long without progress
    check_spec: bool = False  # the local platform checks every call against the API spec (CPU heavy)
    postgres_url: str = DEFAULT_POSTGRES
    work_dir: Path | None = None
    profile: Path | None = None


# ---- subprocesses ---------------------------------------------------------------------------------------


def _open_log(path: Path) -> IO[bytes]:
    return path.open("wb")


class Child:
    """A subprocess of this benchmark, its output in a log file; stopped with SIGTERM (then SIGKILL)."""

    def __init__(self, name: str, process: asyncio.subprocess.Process, log: Path, file: IO[bytes]) -> None:
        self.name = name
        self.process = process
        self.log = log
        self._file = file

    @classmethod
    async def start(
        cls, name: str, argv: Sequence[str], log: Path, env: dict[str, str] | None = None
    ) -> Child:
        """Start ``argv`` in the project root."""
        file = _open_log(log)
        process = await asyncio.create_subprocess_exec(
            *argv, cwd=ROOT, env=env, stdout=file, stderr=asyncio.subprocess.STDOUT
        )
        return cls(name, process, log, file)

    @property
    def pid(self) -> int:
        """The process id."""
        return self.process.pid

    def cpu_seconds(self) -> float:
        """The process's CPU time so far, user and system, all its threads (Linux's /proc; NaN elsewhere)."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            return math.nan
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def alive(self) -> None:
        """Raise if the process has exited, with the end of its output."""
        if self.process.returncode is not None:
            tail = self.log.read_text(errors="replace")[-3000:]
            raise RuntimeError(
                f"{self.name} exited with code {self.process.returncode}; its output ends:\n{tail}"
            )

    async def stop(self) -> None:
        """SIGTERM, and SIGKILL if it is still running 30 s later (cProfile may be writing its file)."""
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        self._file.close()


def _module(*args: str) -> list[str]:
    return [sys.executable, "-m", "benchmarks.ingest", *args]


async def _poll(child: Child, what: str, probe: Callable[[], Awaitable[T | None]], limit: float) -> T:
    """Call ``probe`` every 0.1 s until it returns something; raise if ``child`` dies or ``limit`` passes."""
    deadline = time.monotonic() + limit
    while True:
        child.alive()
        result = await probe()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            raise RuntimeError(f"{child.name}: {what} not within {limit:.0f} s")
        await asyncio.sleep(0.1)


def _read_json(path: Path) -> Json | None:
    return json.loads(path.read_text()) if path.exists() else None


async def _get(session: aiohttp.ClientSession, url: str) -> Any:
    async with session.get(url) as response:
        response.raise_for_status()
        return await response.json()


async def _healthy(session: aiohttp.ClientSession, url: str) -> bool | None:
    with contextlib.suppress(aiohttp.ClientError):
        async with session.get(url) as response:
            return True if response.status == 200 else None
    return None


def server_env(platform: str, *, database_url: str, data_dir: Path, port: int, api: str) -> dict[str, str]:
    """Our server's environment: the variables the README documents, nothing inherited that configures us."""
    ours = ("SLACK_", "MICROSOFT_", "TEAMS_", "NEXTPRACTICE_")
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(ours) and k not in ("DATABASE_URL", "PORT")
    }
    env.update(
        DATABASE_URL=database_url,
        NEXTPRACTICE_DATA_DIR=str(data_dir),
        NEXTPRACTICE_SECRET_KEY=SECRET_KEY,
        NEXTPRACTICE_HOST="127.0.0.1",
        PORT=str(port),
    )
    # No pacing: the local platform has no rate limits, and the outbox's deliveries are part of the load.
    if platform == "slack":
        env.update(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=api,
            NEXTPRACTICE_SLACK_RATE="0",
        )
    else:
        env.update(TEAMS_UNAUTHENTICATED="1", TEAMS_SERVICE_URL=api, NEXTPRACTICE_TEAMS_RATE="0")
    return env


# ---- the database and the organisation ------------------------------------------------------------------


async def prepare_database(options: Options, work: Path, platform: str) -> str:
    """An empty database for one platform's run: a fresh SQLite file, or the recreated PostgreSQL database."""
    if options.database == "sqlite":
        return f"sqlite+aiosqlite:///{work / f'{platform}.db'}"  # the work directory is fresh
    import asyncpg
    from sqlalchemy import make_url

    base = make_url(options.postgres_url)
    connection = await asyncpg.connect(
        base.set(drivername="postgresql").render_as_string(hide_password=False)
    )
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{POSTGRES_DATABASE}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{POSTGRES_DATABASE}"')
    finally:
        await connection.close()
    url = base.set(drivername="postgresql+asyncpg", database=POSTGRES_DATABASE)
    return url.render_as_string(hide_password=False)


async def setup_organisation(
    database_url: str, data_dir: Path, platform: str, people: int, team_id: str
) -> None:
    """Migrate, import the directory and programme, and send the pulse (the outbox holds it afterwards)."""
    from bot.bootstrap import build_app
    from bot.cli import check_cron
    from bot.settings import Settings
    from dialogue.directory_import import import_directory
    from dialogue.events import Command, Identity
    from dialogue.programme import load_programme

    settings = Settings(data_dir=data_dir, secret_key=SECRET_KEY.encode(), database_url=database_url)
    app = await build_app(settings)
    try:
        rows = csv.DictReader(io.StringIO(people_csv(people, platform, slack_team=team_id)))
        report = await import_directory(app.store, rows)
        if report.errors:
            raise RuntimeError(f"the directory did not import: {report.errors[:3]}")
        await load_programme(app.store, tomllib.loads(PROGRAMME), check_cron=check_cron)
        reply = await app.dialogue.handle(
            Command(Identity("console", "local", MANAGER), f"pulse send {PULSE_NAME}")
        )
        said = " ".join(message.fallback() for message in reply.messages)
        if not said.startswith("Sent"):
            raise RuntimeError(f"the pulse was not sent: {said}")
    finally:
        await app.close()


async def database_counts(database_url: str) -> tuple[int, dict[str, int]]:
    """Answers stored, and outbox rows by status."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as db:
            answers = (await db.execute(text("SELECT count(*) FROM answers"))).scalar_one()
            statuses = (
                await db.execute(text("SELECT status, count(*) FROM deliveries GROUP BY status"))
            ).all()
    finally:
        await engine.dispose()
    return int(answers), {str(status): int(count) for status, count in statuses}


# ---- one platform ---------------------------------------------------------------------------------------


@dataclass
class PlatformRun:
    """Everything measured for one platform."""

    platform: str
    bare: dict[str, Phase] = field(default_factory=dict)
    ours: dict[str, Phase] = field(default_factory=dict)
    handled_rps: float = 0.0  # our closed loop: taps fully handled a second (Slack: card updated)
    # CPU milliseconds a request in the closed loop, by server; ours counts all the work a tap causes,
    # until its effects have reached the platform. It depends far less than requests/s on how much of the
    # machine the load generator and the local platform take.
    cpu_ms: dict[str, float] = field(default_factory=dict)
    card_latencies: list[float] = field(default_factory=list)  # Slack, open loop: tap -> chat.update
    settle_seconds: dict[str, float] = field(default_factory=dict)  # after each phase on ours
    missing_effects: int = 0  # card updates or next questions the platform never saw
    people_tapped: int = 0
    answers_stored: int = 0
    deliveries: dict[str, int] = field(default_factory=dict)
    violations: int = 0  # the local platform's API spec violations
    log_errors: int = 0
    logs: dict[str, str] = field(default_factory=dict)
    profile: str | None = None

    @property
    def ratio(self) -> float:
        """Throughput ours / bare: taps fully handled by ours against taps acked by the bare server."""
        bare = self.bare["closed"].throughput
        return self.handled_rps / bare if bare else 0.0

    @property
    def p99_ms(self) -> float:
        """The open loop's p99 through the whole stack: Slack until the card update, Teams the answer."""
        latencies = self.card_latencies if self.platform == "slack" else self.ours["open"].latencies
        return percentile(latencies, 99) * 1000

    @property
    def requests(self) -> int:
        """Requests measured (closed and open loop, both servers)."""
        return sum(self.bare[name].count + self.ours[name].count for name in ("closed", "open"))

    @property
    def errors(self) -> int:
        """What went wrong: bad answers, lost effects, log errors, spec violations, failed deliveries."""
        bad = sum(phase.bad for phase in (*self.bare.values(), *self.ours.values()))
        failed = sum(count for status, count in self.deliveries.items() if status not in ("sent", "pending"))
        return bad + self.missing_effects + self.log_errors + self.violations + failed


def _effects(platform: str, stats: Json) -> tuple[int, int]:
    """Effects of taps the platform has seen so far: (card updates, messages) for Slack, (0, messages) for
    Teams, whose card is refreshed in the answer. The messages are next questions, or apologies."""
    if platform == "slack":
        return int(stats["calls"].get("chat.update", 0)), int(stats["calls"].get("chat.postMessage", 0))
    return 0, int(stats["delivered"].get("send_to_conversation", 0))


async def run_platform(options: Options, work: Path, platform: str) -> PlatformRun:
    """Set up, start the three servers, measure bare and ours, and check the database."""
    from tests.slack.fake_api import TEAM_ID

    result = PlatformRun(platform)
    data_dir = work / f"{platform}-data"
    data_dir.mkdir(parents=True, exist_ok=True)
    database_url = await prepare_database(options, work, platform)
    children: list[Child] = []
    try:
        say(f"{platform}: migrating, importing {options.people} people and sending the pulse")
        port_file = work / f"{platform}-fake.json"
        fake_argv = _module(
            "--serve-fake", platform, "--port-file", str(port_file), "--people", str(options.people)
        )
        if options.check_spec:
            fake_argv.append("--check-spec")
        fake = await Child.start(f"the local {platform}", fake_argv, work / f"{platform}-fake.log")
        children.append(fake)
        # The local platform starts up while the organisation is set up: both take seconds.
        await setup_organisation(database_url, data_dir, platform, options.people, TEAM_ID)
        say(f"{platform}: starting our server and the bare server")
        urls = await _poll(
            fake, "port file", lambda: asyncio.to_thread(_read_json, port_file), STARTUP_SECONDS
        )
        api, control = str(urls["api"]), str(urls["control"])

        our_port, bare_port = free_port(), free_port()
        env = server_env(platform, database_url=database_url, data_dir=data_dir, port=our_port, api=api)
        argv = [sys.executable, "-m", "bot", "serve"]
        if options.profile is not None:
            options.profile.parent.mkdir(parents=True, exist_ok=True)
            result.profile = str(options.profile.with_name(f"{options.profile.stem}-{platform}.prof"))
            argv = [sys.executable, "-m", "cProfile", "-o", result.profile, "-m", "bot", "serve"]
        ours = await Child.start("our server", argv, work / f"{platform}-ours.log", env)
        children.append(ours)
        bare_argv = _module("--serve-bare", platform, "--port", str(bare_port), "--api-url", api)
        bare = await Child.start(f"the bare {platform} server", bare_argv, work / f"{platform}-bare.log")
        children.append(bare)
        result.logs = {"ours": str(ours.log), "bare": str(bare.log), "fake": str(fake.log)}

        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), timeout=timeout) as session:
            for child, port in ((ours, our_port), (bare, bare_port)):
                health = functools.partial(_healthy, session, f"http://127.0.0.1:{port}/healthz")
                await _poll(child, "healthy", health, STARTUP_SECONDS)
            everyone = options.people + 1  # the manager who sends the pulse gets it too
            say(f"{platform}: servers up; waiting for the pulse to reach {everyone} people")

            async def fanned_out() -> bool | None:
                count = await _get(session, f"{control}/messages?count=1")
                if count >= everyone:
                    return True
                if time.monotonic() - progress[0] > 5:  # a big directory takes a while: show it moves
                    say(f"{platform}: the pulse reached {count} people")
                    progress[0] = time.monotonic()
                return None

            progress = [time.monotonic()]

            # The outbox sends a few hundred a second at worst; generous for big directories.
            await _poll(ours, "pulse fan-out", fanned_out, STARTUP_SECONDS + options.people / 20)
            delivered = await _get(session, f"{control}/messages")
            if platform == "slack":
                response_base = api.removesuffix("api/") + "response/"
                taps = slack_taps(delivered, options.people, team_id=TEAM_ID, response_base=response_base)
                check: Check = slack_ok
                path = "/slack/events"
            else:
                taps = teams_taps(delivered, options.people, service_url=api)
                check = teams_ok
                path = "/api/messages"
            await _measure(
                options,
                session,
                result,
                control=control,
                ours=(ours, f"http://127.0.0.1:{our_port}{path}"),
                bare=(bare, f"http://127.0.0.1:{bare_port}{path}"),
                taps=taps,
                check=check,
            )
            result.violations = int((await _get(session, f"{control}/stats"))["violations"])
        for child in (ours, bare):
            child.alive()
    finally:
        say(f"{platform}: stopping the servers")
        for child in reversed(children):
            await child.stop()
    result.log_errors = await asyncio.to_thread(_log_errors, work / f"{platform}-ours.log")
    result.answers_stored, result.deliveries = await database_counts(database_url)
    return result


async def _measure(
    options: Options,
    session: aiohttp.ClientSession,
    result: PlatformRun,
    *,
    control: str,
    ours: tuple[Child, str],
    bare: tuple[Child, str],
    taps: Taps,
    check: Check,
) -> None:
    """Warm up, then the closed and the open loop on the bare server and ours, settling ours after each."""
    platform = result.platform
    (our_server, ours_url), (bare_server, bare_url) = ours, bare
    bare_taps, our_taps = taps.again(), taps.again()  # the same taps in the same order for both
    tapped: set[int] = set()

    async def on_ours(
        phase_name: str, run: Callable[[], Awaitable[Phase]]
    ) -> tuple[Phase, list[Sequence[Any]]]:
        """Run a phase on our server and wait for its effects; returns the phase and its card update times."""
        before: Json = await _get(session, f"{control}/stats")
        say(f"{platform}: {phase_name} on our server")
        phase = await run()
        new_people = len(phase.people - tapped)
        tapped.update(phase.people)
        # A card update per acked Slack tap, and the next question to each newly tapped person. Counted
        # apart: a tap the core fails on gets a message ("not saved") instead of its card update.
        updates, messages = _effects(platform, before)
        target = (updates + (phase.ok if platform == "slack" else 0), messages + new_people)
        started, seen, last_progress = time.monotonic(), (-1, -1), time.monotonic()
        while True:
            now = _effects(platform, await _get(session, f"{control}/stats"))
            missing = sum(max(0, want - got) for want, got in zip(target, now, strict=True))
            if not missing:
                break
            if now != seen:
                seen, last_progress = now, time.monotonic()
            elif time.monotonic() - last_progress > options.settle:
                say(f"{platform}: {missing} effects of {phase_name} never came")
                result.missing_effects += missing
                break
            await asyncio.sleep(0.1)
        result.settle_seconds[phase_name] = time.monotonic() - started
        times: list[Sequence[Any]] = []
        if platform == "slack":
            times = (await _get(session, f"{control}/stats?since={before['updates']}"))["update_times"]
        return phase, times

    def on_bare(phase_name: str, run: Awaitable[Phase]) -> Awaitable[Phase]:
        say(f"{platform}: {phase_name} on the bare server")
        return run

    if options.warmup > 0:
        # A gentle warm-up (imports, connection pools): flooding ours would only queue work to wait out.
        warm: Json = {"name": "warm-up", "rate": min(options.rate, WARMUP_RATE), "seconds": options.warmup}
        await on_bare("warm-up", open_loop(session, bare_url, bare_taps, check, **warm))
        await on_ours("warm-up", lambda: open_loop(session, ours_url, our_taps, check, **warm))

    closed_args: Json = {"name": "closed", "clients": options.clients, "seconds": options.seconds}
    cpu = bare_server.cpu_seconds()
    result.bare["closed"] = await on_bare(
        "closed loop", closed_loop(session, bare_url, bare_taps, check, **closed_args)
    )
    result.cpu_ms["bare"] = _per_request(bare_server.cpu_seconds() - cpu, result.bare["closed"].ok)
    cpu = our_server.cpu_seconds()
    closed, times = await on_ours(
        "closed loop", lambda: closed_loop(session, ours_url, our_taps, check, **closed_args)
    )
    result.cpu_ms["ours"] = _per_request(our_server.cpu_seconds() - cpu, closed.ok)
    result.ours["closed"] = closed
    if platform == "slack":
        # Handled: card updates of this phase's taps, over the time until the last one reached Slack.
        end = max((float(at) for _, _, at in times), default=closed.started + closed.elapsed)
        result.handled_rps = len(times) / max(end - closed.started, closed.elapsed)
    else:
        result.handled_rps = closed.ok / closed.elapsed if closed.elapsed else 0.0

    open_args: Json = {"name": "open", "rate": options.rate, "seconds": options.seconds}
    result.bare["open"] = await on_bare(
        "open loop", open_loop(session, bare_url, bare_taps, check, **open_args)
    )
    opened, times = await on_ours(
        "open loop", lambda: open_loop(session, ours_url, our_taps, check, **open_args)
    )
    result.ours["open"] = opened
    if platform == "slack":
        result.card_latencies = _pair(opened.sent, times)
    result.people_tapped = len(tapped)


def _per_request(cpu_seconds: float, requests: int) -> float:
    return cpu_seconds * 1000 / requests if requests else math.nan


def _pair(sent: Sequence[tuple[str, float]], updates: Sequence[Sequence[Any]]) -> list[float]:
    """Tap-to-card-update latencies: the k-th tap on a message with the k-th ``chat.update`` of it."""
    arrivals: dict[str, list[float]] = defaultdict(list)
    for channel, ts, at in updates:
        arrivals[f"{channel}:{ts}"].append(float(at))
    seen: dict[str, int] = defaultdict(int)
    latencies: list[float] = []
    for key, due in sorted(sent, key=lambda item: item[1]):
        index = seen[key]
        seen[key] += 1
        if index < len(arrivals[key]):  # a missing update is counted in missing_effects
            latencies.append(max(0.0, arrivals[key][index] - due))
    return latencies


def _log_errors(path: Path) -> int:
    """Lines of our server's log that report an error or a traceback."""
    if not path.exists():
        return 0
    lines = path.read_text(errors="replace").splitlines()
    return sum(1 for line in lines if " ERROR " in line or line.startswith("Traceback"))


# ---- the whole run and its report -----------------------------------------------------------------------


@dataclass
class Report:
    """The machine, the options and each platform's run."""

    options: Options
    machine: Json
    runs: list[PlatformRun]


def _hardware() -> dict[str, str]:
    """The CPU model and the RAM, from /proc (Linux)."""
    info = {"cpu": "unknown CPU", "ram": "?"}
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.partition(":")[2].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["ram"] = f"{int(line.split()[1]) / 1024**2:.1f} GiB"
    return info


async def machine(options: Options) -> Json:
    """What the figures were measured on."""
    info = _hardware()
    database = f"SQLite {sqlite3.sqlite_version}"
    if options.database == "postgres":
        import asyncpg
        from sqlalchemy import make_url

        url = make_url(options.postgres_url).set(drivername="postgresql")
        connection = await asyncpg.connect(url.render_as_string(hide_password=False))
        try:
            database = f"PostgreSQL {await connection.fetchval('SHOW server_version')}"
        finally:
            await connection.close()
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        **info,
        "python": f"{platform_module.python_implementation()} {platform_module.python_version()}",
        "system": f"{platform_module.system()} {platform_module.release()}",
        "database": database,
    }


async def run(options: Options) -> Report:
    """Run the benchmark for each platform in turn."""
    info = await machine(options)
    with _work_dir(options.work_dir) as work:
        runs = [await run_platform(options, work, platform) for platform in options.platforms]
    return Report(options, info, runs)


@contextlib.contextmanager
def _work_dir(path: Path | None) -> Iterator[Path]:
    if path is not None:
        shutil.rmtree(path, ignore_errors=True)  # databases and logs of an earlier run would mix in
        path.mkdir(parents=True)
        yield path
        return
    temporary = Path(tempfile.mkdtemp(prefix="nextpractice-ingest-"))
    try:
        yield temporary
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def render(report: Report) -> str:
    """The table of figures, with the machine, the settings, the goals and the checks."""
    options, m = report.options, report.machine
    lines = [
        "nextpractice ingest benchmark: pulse taps, our server against a bare one on the same stack",
        f"machine: nproc {m['nproc']}, {m['cpu']}, RAM {m['ram']}; {m['python']}, {m['system']}",
        f"database: {m['database']}; {options.people} people; closed loop {options.clients} clients x "
        f"{options.seconds:g} s; open loop {options.rate:g} req/s x {options.seconds:g} s; "
        f"warm-up {options.warmup:g} s; API spec checks {'on' if options.check_spec else 'off'}",
    ]
    if options.profile is not None:
        lines.append("NOTE: our server ran under cProfile: its figures are slower than without the profiler")
    lines += [
        "",
        f"{'platform':<9}{'server':<7}{'closed req/s':>13}{'handled/s':>11}"
        f"{'open p50 ms':>13}{'open p99 ms':>13}"
        f"{'tap->card p50/p99 ms':>23}{'CPU ms/req':>11}{'non-OK':>8}",
    ]
    lines.append("-" * len(lines[-1]))
    for run_ in report.runs:
        for server, phases in (("bare", run_.bare), ("ours", run_.ours)):
            closed, opened = phases["closed"], phases["open"]
            handled, card = "-", "-"
            if server == "ours":
                handled = f"{run_.handled_rps:.1f}"
                card = "(in the answer)"
                if run_.platform == "slack":
                    p50, p99 = (percentile(run_.card_latencies, p) for p in (50, 99))
                    card = f"{_ms(p50)} / {_ms(p99)}"
            lines.append(
                f"{run_.platform:<9}{server:<7}{closed.throughput:>13.1f}{handled:>11}"
                f"{_ms(opened.percentile(50)):>13}{_ms(opened.percentile(99)):>13}{card:>23}"
                f"{run_.cpu_ms.get(server, math.nan):>11.2f}{closed.bad + opened.bad:>8}"
            )
    lines += ["", "goals (ours through the whole stack: Slack until the card update reaches Slack)"]
    for run_ in report.runs:
        met = "met" if run_.ratio >= THROUGHPUT_GOAL else "MISSED"
        acked = (
            run_.ours["closed"].throughput / run_.bare["closed"].throughput
            if run_.bare["closed"].throughput
            else 0
        )
        lines.append(
            f"  {run_.platform:<6} throughput ours/bare {run_.ratio:.2f} (acks alone {acked:.2f}): "
            f"goal >= {THROUGHPUT_GOAL}: {met}"
        )
        ours, bare = run_.cpu_ms.get("ours", math.nan), run_.cpu_ms.get("bare", math.nan)
        lines.append(
            f"  {run_.platform:<6} CPU a request: ours {ours:.2f} ms (a tap and all it causes), "
            f"bare {bare:.2f} ms: {ours / bare if bare else math.nan:.1f} times the work"
        )
        met = "met" if run_.p99_ms < P99_GOAL_MS else "MISSED"
        lines.append(
            f"  {run_.platform:<6} p99 at {options.rate:g} req/s {run_.p99_ms:.1f} ms: "
            f"goal < {P99_GOAL_MS:g} ms: {met}"
        )
    lines += ["", "checks"]
    for run_ in report.runs:
        kept = f" ({run_.logs['ours']})" if options.work_dir is not None else " (keep logs: --work-dir)"
        settled = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in run_.settle_seconds.items())
        lines += [
            f"  {run_.platform:<6} {run_.requests} measured requests; answers stored {run_.answers_stored} "
            f"(people tapped {run_.people_tapped}); outbox {run_.deliveries}",
            f"  {run_.platform:<6} effects missing {run_.missing_effects}, "
            f"spec violations {run_.violations if options.check_spec else '(not checked)'}, "
            f"errors in our log {run_.log_errors}{kept}; settled after: {settled}",
            f"  {run_.platform:<6} errors in all: {run_.errors}",
        ]
    return "\n".join(lines) + "\n"


def print_profile(path: str, out: TextIO, limit: int = 30) -> None:
    """The profile's top functions by own time, and our own code's by cumulative time."""
    import pstats

    stats = pstats.Stats(path, stream=out)
    out.write(f"\n==== profile {path}: top {limit} by own time ====\n")
    stats.sort_stats("tottime").print_stats(limit)
    out.write(f"\n==== profile {path}: our code by cumulative time ====\n")
    stats.sort_stats("cumulative").print_stats(r"/(bot|adapters|dialogue|storage)/", limit)


# ---- command line ---------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line (and the hidden one of the subprocesses the benchmark starts itself)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ingest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--platform", choices=["slack", "teams", "both"], default="both")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each measured phase")
    parser.add_argument("--rate", type=float, default=200.0, help="arrival rate of the open loop, requests/s")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--people", type=int, default=2000, help="people in the directory, each with a pulse")
    parser.add_argument("--clients", type=int, default=32, help="concurrent senders of the closed loop")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load on each server first")
    parser.add_argument("--settle", type=float, default=5.0, help="give up on effects after this long idle")
    parser.add_argument("--check-spec", action="store_true", help="the local platform checks each call (CPU)")
    parser.add_argument(
        "--postgres-url", default=DEFAULT_POSTGRES, help=f"server to create {POSTGRES_DATABASE} on"
    )
    parser.add_argument("--work-dir", type=Path, help="keep databases and logs here (emptied first)")
    parser.add_argument("--profile", type=Path, help="run our server under cProfile: PROFILE-<platform>.prof")
    parser.add_argument("--serve-fake", choices=["slack", "teams"], help=argparse.SUPPRESS)
    parser.add_argument("--serve-bare", choices=["slack", "teams"], help=argparse.SUPPRESS)
    parser.add_argument("--port-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--api-url", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _terminate(_signum: int, _frame: FrameType | None) -> None:
    # SIGTERM (timeout, kill) unwinds like Ctrl-C, so the servers this run started are stopped too;
    # once: timeout(1) signals the process and then its group, which must not interrupt the clean-up.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Run a subprocess's server, or the benchmark."""
    args = parse_args(argv)
    if args.serve_fake == "slack":
        asyncio.run(serve_fake_slack(args.port_file, args.people, validate=args.check_spec))
    elif args.serve_fake == "teams":
        asyncio.run(serve_fake_teams(args.port_file, validate=args.check_spec))
    elif args.serve_bare == "slack":
        asyncio.run(serve_bare_slack(args.port, args.api_url))
    elif args.serve_bare == "teams":
        asyncio.run(serve_bare_teams(args.port))
    else:
        signal.signal(signal.SIGTERM, _terminate)
        options = Options(
            platforms=("slack", "teams") if args.platform == "both" else (args.platform,),
            seconds=args.seconds,
            rate=args.rate,
            database=args.database,
            people=args.people,
            clients=args.clients,
            warmup=args.warmup,
            settle=args.settle,
            check_spec=args.check_spec,
            postgres_url=args.postgres_url,
            work_dir=args.work_dir,
            profile=args.profile.resolve() if args.profile else None,
        )
        report = asyncio.run(run(options))
        print(render(report), flush=True)
        for run_ in report.runs:
            if run_.profile is not None and Path(run_.profile).exists():
                print_profile(run_.profile, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
