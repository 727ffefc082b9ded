"""A running bot for transcript tests: the real core, storage, scheduler and outbox, with the console adapter.

Transcripts go through the same code as ``nextpractice console --script``: the session
turns lines into core events, the worker drains the outbox through the console sender,
and ``/clock`` moves a :class:`MovableClock` through the scheduler's ``advance``.
"""

from __future__ import annotations

import csv
import io
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from adapters.console import ConsoleSender, ConsoleSession, play_script
from bot.bootstrap import CONSOLE, App, build_app
from bot.cli import check_cron
from bot.clock import MovableClock
from bot.console_host import AppConsoleHost
from bot.settings import Settings
from dialogue.directory_import import import_directory
from dialogue.programme import load_programme

DEMO = Path(__file__).resolve().parents[2] / "bot" / "demo"
LONDON = ZoneInfo("Europe/London")
# Monday 30 November 2026, 08:00 in London: the demo's pulse comes at 09:00.
MONDAY_MORNING = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
SECRET = b"transcript-tests-secret-key-0123456789"
# A small organisation whose teams sit either side of the minimum group size (5).
ORGANISATION = """\
handle,name,time_zone,roles,team,parent_team
helen,Helen Marsh,Europe/London,senior_leader,Executive Team,
jo,Jo Adeyemi,Europe/London,senior_leader,Executive Team,
kate,Kate Morgan,Europe/London,admin,Communications,
ben,Ben Carter,Europe/London,manager,Reablement,Adult Social Care
amira,Amira Hassan,Europe/London,staff,Reablement,Adult Social Care
chloe,Chloe Price,Europe/London,staff,Reablement,Adult Social Care
dev,Dev Patel,Europe/London,staff,Reablement,Adult Social Care
ellie,Ellie Watson,Europe/London,staff,Reablement,Adult Social Care
farah,Farah Begum,Europe/London,staff,Reablement,Adult Social Care
lena,Lena Kowalski,Europe/London,manager,Housing,
priya,Priya Nair,Asia/Kolkata,staff,Housing,
sam,Sam Reid,America/New_York,staff,Housing,
"""


@dataclass
class Bot:
    """The running bot and everything it printed."""

    app: App
    clock: MovableClock
    session: ConsoleSession
    out: list[str] = field(default_factory=list)

    async def play(self, script: str) -> list[str]:
        """Play transcript lines; returns only what this call printed."""
        start = len(self.out)
        await play_script(script.strip().splitlines(), self.session)
        return self.out[start:]

    async def programme(self, toml: str) -> None:
        """Load an extra programme (campaigns, pulses, check-ins)."""
        await load_programme(self.app.store, tomllib.loads(toml), check_cron=check_cron)


async def start_bot(url: str, data_dir: Path, *, people: str | None = None, **settings: object) -> Bot:
    """Build the bot on ``url`` with :data:`ORGANISATION` (or ``people`` as CSV) and no programme."""
    out: list[str] = []
    sender = ConsoleSender(out.append)
    app = await build_app(
        Settings(data_dir=data_dir, secret_key=SECRET, database_url=url, **settings),  # type: ignore[arg-type]
        clock=MovableClock(MONDAY_MORNING),
        senders={CONSOLE: sender},
        concurrency=1,
    )
    text = people if people is not None else ORGANISATION
    report = await import_directory(app.store, csv.DictReader(io.StringIO(text)))
    assert not report.errors, report.errors
    assert isinstance(app.clock, MovableClock)
    host = AppConsoleHost(app, app.clock)
    session = ConsoleSession(host, sender, handle="amira", write=out.append, zone=LONDON)
    return Bot(app=app, clock=app.clock, session=session, out=out)


def messages(lines: list[str], to: str | None = None) -> list[str]:
    """The bot's messages in printed ``lines`` (each with its continuation lines), optionally only to ``to``.

    ``to`` is a handle or ``#channel``; a message updated in place counts as a message to its target.
    """
    found: list[tuple[str, list[str]]] = []
    for line in "\n".join(lines).splitlines():  # one printed block may hold several lines
        if line.startswith("-> "):
            target, _, text = line[3:].partition(": ")
            found.append((target.removesuffix(" (updated)"), [text]))
        elif line.startswith("    ") and found:
            found[-1][1].append(line.strip())
        elif not line.startswith("    "):
            found.append(("", []))  # inputs and notes end the message before them
    return ["\n".join(text) for target, text in found if text and (to is None or target == to)]


def recipients(lines: list[str]) -> list[str]:
    """Everyone (and every channel) the printed lines show a message to, in order, with repeats."""
    printed = "\n".join(lines).splitlines()
    return [
        line[3:].partition(": ")[0] for line in printed if line.startswith("-> ") and "(updated)" not in line
    ]
