"""The ``nextpractice`` command: try the bot, set up an organisation, run it.

Every problem a person can fix (a missing file, a bad setting, an unknown handle) is
reported in one plain line on stderr with a non-zero exit code, never as a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import itertools
import json
import logging
import signal
import sys
import time as timer
import tomllib
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from datetime import UTC, date, datetime, time, timedelta
from difflib import get_close_matches
from importlib import metadata, resources
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from adapters.console import (
    ConsoleSender,
    ConsoleSession,
    ScriptError,
    parse_script,
    play_script,
    run_interactive,
    script_handles,
)
from adapters.teams import TEAMS_PATH, messages_route
from bot.bootstrap import CONSOLE, SLACK, TEAMS, App, KeyMismatch, build_app, database_url, migrate, settle
from bot.clock import MovableClock, SystemClock
from bot.console_host import AppConsoleHost
from bot.delivery import PROGRESS_SECONDS, Progress, duration
from bot.logs import configure as configure_logging
from bot.scheduler import Scheduler, catch_up, cron_trigger, next_fire
from bot.server import SLACK_PATH, Readiness, start, web_app
from bot.settings import Settings
from bot.slack_sync import SyncReport, sync_slack_directory
from bot.teams_sync import sync_teams_directory
from dialogue.directory import Role
from dialogue.directory_import import COLUMNS, ImportReport, import_directory
from dialogue.errors import Refusal
from dialogue.ports import Clock, Sender, Store
from dialogue.privacy import FORMER, forget_person, person_data
from dialogue.programme import ProgrammeError, load_programme
from dialogue.schedules import Schedule, firing_zone
from dialogue.surveys import OccurrenceKind
from storage import migration_status

OK, FAILED, BAD_CONFIG = 0, 1, 2

# The console shows times in the organisation's home zone; the demo council is in England.
CONSOLE_ZONE = ZoneInfo("Europe/London")
DEMO_HANDLE = "amira"
CLOCK_FILE = "console-clock.txt"  # where the console's moved clock is kept between runs
SEEN_FILE = "console-seen.json"  # how far each person's messages were shown, for the next run
REPORT_SECONDS = 15  # how often serve looks at the outbox to report progress

log = logging.getLogger("nextpractice")

Command = Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]]


class CliError(Exception):
    """A problem the person can fix, reported in one line with exit code ``code``."""

    def __init__(self, message: str, code: int = FAILED) -> None:
        super().__init__(message)
        self.code = code


# -- the parser ----------------------------------------------------------------------------

DESCRIPTION = """\
nextpractice is a chat bot for two-way dialogue between staff and senior managers:
ideas, pulse surveys, questions answered in the open, and check-ins.

Try it:
  nextpractice demo                           chat with a sample council, in this window

Set up your organisation:
  nextpractice directory import people.csv    add or update people and teams
  nextpractice directory sync slack           the same, from your Slack workspace
  nextpractice directory sync teams           the same, from the Teams teams the app is in
  nextpractice teams package --app-id GUID    build the Teams app zip to upload
  nextpractice programme load programme.toml  add or update campaigns, pulses and check-ins
  nextpractice console --as HANDLE            chat as one of your people to try things out

Run it:
  nextpractice serve                          answer Slack and Teams; send pulses, check-ins, reminders
  nextpractice pulse send NAME                send a pulse now and watch it go out
  nextpractice pulse close NAME               close its open run, so its results can be read
  nextpractice pulse results NAME             its latest results (pulse list: all pulses)
  nextpractice db upgrade                     update the database (also done on every start)
  nextpractice outbox retry                   send failed messages again (after fixing a token)
  nextpractice outbox prune --days 90         delete messages older than your retention period

People's rights over their data:
  nextpractice directory export HANDLE        everything kept that names them, as JSON
  nextpractice directory forget HANDLE --yes  erase who they are (their words stay, unnamed)
"""

EPILOG = """\
Settings come from environment variables, e.g. DATABASE_URL and NEXTPRACTICE_DATA_DIR
(see the README). Add --help after any command for more, e.g. nextpractice demo --help."""

CSV_HELP = """\
The file is a spreadsheet saved as CSV (UTF-8), one row per person, with these columns:

  handle          short name people are known by, e.g. amira (lower case, no spaces)
  name            full name, e.g. Amira Hassan
  time_zone       where they work, e.g. Europe/London (blank means UTC)
  roles           staff, manager, senior_leader, admin; several separated by ; (blank: staff)
  team            their team, e.g. Reablement
  parent_team     the team above it, e.g. Adult Social Care (optional)
  slack_user_id, slack_team_id   their Slack account and workspace (optional; both or neither)
  teams_user_id, teams_tenant    their Teams (Entra ID) account and tenant (optional; both or neither)

Importing again updates people and teams; rows with mistakes are listed and skipped. For someone
already known, a blank time_zone, roles or team (or a file without that column) keeps what is
known. Give --complete when the file lists everyone: people it leaves out (leavers) are then
switched off and get no more messages (nobody is while any row is refused). If that would switch
off more than 10% of the active people (and more than 5), as a filtered export would, nothing is
changed unless you also give --allow-many-leavers. A row giving someone in the
directory another name (a handle given to someone new, or a new surname: the file cannot tell
which) is refused unless you give --allow-renames, as the handle carries its person's questions,
ideas and settings. --dry-run says what the import would change, and changes nothing.
Blank rows, and rows the same as an earlier one, are skipped with a note.
See bot/demo/organisation.csv for a complete example.

Exit codes, for a scheduled job (a dry run exits as the import would):
  0  every row was imported (notes to check may have been printed)
  1  some rows were refused and are listed; the others were imported
  2  nothing was imported: the file could not be read, every row was refused, --complete would
     switch off too many, or the database could not be used"""

TOML_HELP = """\
The file lists [[campaign]], [[pulse]] and [[checkin]] entries with their questions and
schedules. Loading is all-or-nothing: if anything is wrong nothing changes and every
mistake is listed. See bot/demo/programme.toml for a complete, commented example."""

CONSOLE_HELP = """\
In the console, type to the bot as you would in chat (try "help"), answer buttons by
typing their number, and use /as HANDLE to become someone else, /clock +7d to move time
on (scheduled messages are sent as time passes), /help for all console controls."""


def build_parser() -> argparse.ArgumentParser:
    """The command-line grammar, with help written for the people who run the programme."""
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="nextpractice",
        usage="nextpractice COMMAND [options]",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=raw,
    )
    parser.add_argument(
        "--version", action="version", version=f"nextpractice {metadata.version('nextpractice')}"
    )
    # The description lists the commands in plain words; argparse's own list would repeat it
    # (and misaligns nested command names).
    commands = parser.add_subparsers(metavar="COMMAND", help=argparse.SUPPRESS, prog="nextpractice")

    demo = commands.add_parser(
        "demo",
        help="try the bot with a sample council (Riverside Council)",
        description="Load a sample council with teams, managers, directors and staff, then chat\n"
        "with the bot as a support worker. Without --fresh, an earlier demo carries on.\n\n" + CONSOLE_HELP,
        formatter_class=raw,
    )
    demo.add_argument("--fresh", action="store_true", help="start again from an empty demo database")
    demo.set_defaults(run=demo_command)

    console = commands.add_parser(
        "console",
        help="chat with the bot in this window as one of your people",
        description="Chat with the bot in this window, as someone in the directory.\n\n"
        + CONSOLE_HELP
        + "\n\nWith --script, play a transcript instead: one 'handle: text' line per message,\n"
        "plus /as and /clock lines; every message the bot sends is printed.",
        formatter_class=raw,
    )
    console.add_argument(
        "--as", dest="handle", required=True, metavar="HANDLE", help="who you are, e.g. amira"
    )
    console.add_argument("--script", metavar="FILE", type=Path, help="play this transcript and exit")
    console.add_argument(
        "--start",
        metavar="'YYYY-MM-DD HH:MM'",
        type=_london_time,
        help="set the clock to this London time first, so a transcript plays the same every time",
    )
    console.set_defaults(run=console_command)

    directory = commands.add_parser(
        "directory", help="manage people and teams", description="Manage people and teams."
    ).add_subparsers(title="directory commands", metavar="COMMAND", required=True)
    directory_import = directory.add_parser(
        "import",
        help="add or update people and teams from a CSV file",
        description=CSV_HELP,
        formatter_class=raw,
    )
    directory_import.add_argument("file", type=Path, metavar="FILE.csv", help="the spreadsheet, saved as CSV")
    directory_import.add_argument(
        "--complete",
        action="store_true",
        help="the file lists everyone: switch off people it leaves out (leavers); refused if that is more "
        "than 10%% of the active people and more than 5, unless --allow-many-leavers",
    )
    directory_import.add_argument(
        "--allow-many-leavers",
        action="store_true",
        help="with --complete (and refused without it), switch off the people the file leaves out however "
        "many they are",
    )
    directory_import.add_argument(
        "--allow-renames",
        action="store_true",
        help="give people in the directory the new names the file has for them (without it, such a row is "
        "refused: a new starter given a leaver's handle would get the leaver's questions and ideas)",
    )
    directory_import.add_argument(
        "--dry-run", action="store_true", help="say what the import would change, and change nothing"
    )
    directory_import.set_defaults(run=directory_import_command)
    directory_sync = directory.add_parser(
        "sync",
        help="add or update people and teams from Slack or Teams",
        description="slack: read the Slack workspace's members (names and time zones; deactivated accounts\n"
        "are switched off) and its user groups (each becomes a team). Needs SLACK_BOT_TOKEN.\n\n"
        "teams: read the roster of every Teams team the app has been added to (each becomes a team\n"
        "of the same name). Needs MICROSOFT_APP_ID and the app added to those teams.\n\n"
        "Roles stay as the CSV set them; people new to the directory join as staff.",
        formatter_class=raw,
    )
    directory_sync.add_argument(
        "platform", choices=["slack", "teams"], help="where to read the directory from"
    )
    directory_sync.set_defaults(run=directory_sync_command)
    directory_export = directory.add_parser(
        "export",
        help="everything kept that names one person, as JSON (a subject access request)",
        description="Print, as JSON, everything the database keeps that names the person with HANDLE\n"
        "(switched off or not): their record, accounts, named ideas, comments, votes, questions,\n"
        "upvotes, answers, named pulse answers, and the messages the bot sent them. Anonymous ideas,\n"
        "questions and answers are linked to nobody, so no export can include them.",
        formatter_class=raw,
    )
    directory_export.add_argument("handle", metavar="HANDLE", help="whose data")
    directory_export.add_argument(
        "--out", type=Path, metavar="FILE.json", help="write it here, not to the screen"
    )
    directory_export.set_defaults(run=directory_export_command)
    directory_forget = directory.add_parser(
        "forget",
        help="erase who one person is, on their request (cannot be undone)",
        description="Erase who the person with HANDLE is: their name, handle, roles, teams and platform\n"
        "accounts go, messages sent to them keep no words, and their name is taken out of every message\n"
        "kept for anyone else. What they wrote in their name (ideas, questions, comments, answers) stays,\n"
        'shown as "Former colleague"\'s, and so do their votes, as counts. Take them out of your directory\n'
        "file first, or the next import adds them again as someone new. Export first if they asked for\n"
        "a copy. Needs --yes.",
        formatter_class=raw,
    )
    directory_forget.add_argument("handle", metavar="HANDLE", help="whom to forget")
    directory_forget.add_argument("--yes", action="store_true", help="yes, erase them: this cannot be undone")
    directory_forget.set_defaults(run=directory_forget_command)

    programme = commands.add_parser(
        "programme",
        help="manage campaigns, pulses and check-ins",
        description="Manage campaigns, pulses and check-ins.",
    ).add_subparsers(title="programme commands", metavar="COMMAND", required=True)
    programme_load = programme.add_parser(
        "load",
        help="add or update the programme from a TOML file",
        description=TOML_HELP,
        formatter_class=raw,
    )
    programme_load.add_argument("file", type=Path, metavar="FILE.toml", help="the programme file")
    programme_load.set_defaults(run=programme_load_command)

    db = commands.add_parser(
        "db", help="database maintenance", description="Database maintenance."
    ).add_subparsers(title="db commands", metavar="COMMAND", required=True)
    db.add_parser(
        "upgrade",
        help="bring the database up to date (also done on every start)",
        description="Apply any database changes this version needs. Safe to run more than once.",
    ).set_defaults(run=db_upgrade_command)

    outbox = commands.add_parser(
        "outbox", help="messages waiting or failed", description="The outbox of messages to send."
    ).add_subparsers(title="outbox commands", metavar="COMMAND", required=True)
    outbox_retry = outbox.add_parser(
        "retry",
        help="send failed messages again (after fixing a token, say)",
        description=(
            "Queue the messages that failed in the last --hours to be sent again by nextpractice serve, e.g. "
            "after a wrong or revoked SLACK_BOT_TOKEN was fixed. Questions of pulses and check-ins closed "
            "since are left out: they can no longer be answered."
        ),
    )
    outbox_retry.add_argument("--hours", type=_positive_hours, default=24, help="how far back (default 24)")
    outbox_retry.add_argument(
        "--error",
        default="",
        metavar="TEXT",
        help="only failures whose error contains TEXT, e.g. invalid_auth",
    )
    outbox_retry.set_defaults(run=outbox_retry_command)
    outbox_prune = outbox.add_parser(
        "prune",
        help="delete sent and failed messages older than --days (your retention period)",
        description=(
            "Delete the messages sent (or failed) more than --days ago: the outbox keeps each message's full "
            "text, which can quote what people wrote and name them. The first message of each question's "
            "channel thread is kept (replies and updates still need it), and so are the messages of runs "
            "still open. Run it from a daily job with your organisation's retention period, or set "
            "NEXTPRACTICE_RETENTION_DAYS and serve does it every hour."
        ),
    )
    outbox_prune.add_argument(
        "--days", type=_retention_days, required=True, help="keep this many days of messages, e.g. 90"
    )
    outbox_prune.set_defaults(run=outbox_prune_command)

    pulse = commands.add_parser("pulse", help="pulse surveys: list, send, results, close").add_subparsers(
        title="pulse commands", metavar="COMMAND", required=True
    )
    as_help = "as whom: a manager or senior leader (default: the first senior leader, else manager)"
    pulse_list = pulse.add_parser(
        "list", help="the pulses and their latest runs", description="List the pulses and their latest runs."
    )
    pulse_list.add_argument("--as", dest="handle", metavar="HANDLE", help=as_help)
    pulse_list.set_defaults(run=pulse_report_command, words=["pulse", "list"])
    pulse_results = pulse.add_parser(
        "results",
        help="a pulse's latest results, per team, small groups withheld",
        description="Show a pulse's results, as the chat command 'pulse results NAME' does: those of "
        "its newest closed run, per team and overall, with groups under the minimum group size withheld "
        "(of a run still open, only how many have answered).",
    )
    pulse_results.add_argument("name", nargs="+", metavar="NAME", help="the pulse's name (or #number)")
    pulse_results.add_argument("--as", dest="handle", metavar="HANDLE", help=as_help)
    pulse_results.set_defaults(run=pulse_report_command, words=["pulse", "results"])
    pulse_send = pulse.add_parser(
        "send",
        help="send a pulse now and deliver it, showing progress",
        description=PULSE_SEND_HELP,
        formatter_class=raw,
    )
    pulse_send.add_argument("name", nargs="+", metavar="NAME", help="the pulse's name (or #number)")
    pulse_send.add_argument("--as", dest="handle", metavar="HANDLE", help=as_help)
    pulse_send.add_argument(
        "--no-wait", action="store_true", help="only queue it; nextpractice serve delivers it"
    )
    pulse_send.add_argument(
        "--every",
        type=float,
        default=PROGRESS_SECONDS,
        metavar="SECONDS",
        help=f"how often to show progress (default {PROGRESS_SECONDS:g})",
    )
    pulse_send.set_defaults(run=pulse_send_command, verb="send")
    pulse_close = pulse.add_parser(
        "close",
        help="close a pulse's open run now: its results can then be read",
        description="Close a pulse's open run now, as the chat command 'pulse close NAME' does: its "
        "questions lose their buttons (delivered here, showing progress) and its results can be read.",
    )
    pulse_close.add_argument("name", nargs="+", metavar="NAME", help="the pulse's name (or #number)")
    pulse_close.add_argument("--as", dest="handle", metavar="HANDLE", help=as_help)
    pulse_close.add_argument(
        "--no-wait", action="store_true", help="only queue the updates; nextpractice serve delivers them"
    )
    pulse_close.set_defaults(run=pulse_send_command, verb="close", every=PROGRESS_SECONDS)

    serve = commands.add_parser(
        "serve",
        help="run the bot: send scheduled messages until stopped with Ctrl-C",
        description="Run the scheduler and the delivery worker: campaigns, pulses, check-ins and reminders "
        "go out when due, and answer Slack (SLACK_* settings) and Teams (MICROSOFT_APP_*) on one web server. "
        "Several replicas may share one PostgreSQL database. Stop with Ctrl-C.",
    )
    serve.add_argument(
        "--console",
        action="store_true",
        help="with no Slack or Teams settings, print messages here (they count as sent): for trying it out",
    )
    serve.set_defaults(run=serve_command)

    teams = commands.add_parser(
        "teams", help="Microsoft Teams app", description="The Microsoft Teams app."
    ).add_subparsers(title="teams commands", metavar="COMMAND", required=True)
    teams_package = teams.add_parser(
        "package",
        help="build the app package (a zip) an admin uploads to Teams",
        description="Build the zip an admin uploads to Microsoft Teams: the manifest in manifest/teams,\n"
        "with the bot's Microsoft App ID and this version filled in, and its two icons. It is checked\n"
        "against Teams' rules first; nothing is written if something is wrong. The App ID is on the\n"
        "Azure Bot resource's Configuration page. Needs no database.",
        formatter_class=raw,
    )
    teams_package.add_argument(
        "--app-id", metavar="GUID", help="the bot's Microsoft App ID (default: MICROSOFT_APP_ID)"
    )
    teams_package.add_argument(
        "--out",
        type=Path,
        default=Path("nextpractice-teams.zip"),
        metavar="FILE.zip",
        help="where to write the zip (default: nextpractice-teams.zip)",
    )
    teams_package.add_argument("--version", help="the app version, x.y.z (default: this nextpractice's)")
    teams_package.add_argument(
        "--manifest-dir", type=Path, metavar="DIR", help="the manifest files (default: manifest/teams)"
    )
    teams_package.set_defaults(offline=teams_package_command)
    return parser


TEAMS_NEXT_STEPS = """\
Next steps:
  1. Upload it: Teams admin centre > Teams apps > Manage apps > Upload new app
     (or in Teams: Apps > Manage your apps > Upload an app > Upload a custom app).
  2. In the Azure Bot resource's Configuration, set the messaging endpoint to
     https://<your host>{path}
  3. Add the app to the team whose channel shows questions, and set TEAMS_QA_CHANNEL_ID."""


def teams_package_command(args: argparse.Namespace) -> int:
    """``nextpractice teams package``: the Teams app zip. Reads no settings and opens no database."""
    import os  # here, not at the top: only this command reads the environment itself

    from adapters.teams import package  # here, not at the top: only this command builds the package

    app_id = (args.app_id or os.environ.get("MICROSOFT_APP_ID", "")).strip()
    if not app_id:
        raise CliError("give the bot's Microsoft App ID with --app-id, or set MICROSOFT_APP_ID", BAD_CONFIG)
    manifest_dir: Path = args.manifest_dir or package.default_manifest_dir()
    if not (manifest_dir / package.TEMPLATE).is_file():
        raise CliError(f"there is no Teams manifest in {manifest_dir}; use --manifest-dir", BAD_CONFIG)
    version = args.version or package.package_version()
    try:
        out = package.build_package(manifest_dir, app_id=app_id, version=version, out=args.out)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot write {args.out}: {exc.strerror}") from None
    print(f"Built the Teams app package {out.resolve()} (version {version}, app {app_id}).")
    print(TEAMS_NEXT_STEPS.format(path=TEAMS_PATH))
    if links := package.project_links(manifest_dir):
        print(
            f"Before staff see it: {', '.join(links)} in {manifest_dir / package.TEMPLATE} still point at "
            "this project's pages; give your organisation's (its privacy notice above all) and build again."
        )
    return OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``nextpractice`` command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    offline: Callable[[argparse.Namespace], int] | None = getattr(args, "offline", None)
    if offline is not None:  # a command that needs no settings, database or data directory
        try:
            return offline(args)
        except CliError as exc:
            return _fail(str(exc), exc.code)
    command: Command | None = getattr(args, "run", None)
    if command is None:
        parser.print_help()
        return BAD_CONFIG
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        return _fail(f"configuration problem: {exc}", BAD_CONFIG)
    configure_logging(
        logging.WARNING if command in (demo_command, console_command) else settings.log_level,
        settings.log_format,
    )
    try:
        return asyncio.run(command(settings, args))
    except CliError as exc:
        return _fail(str(exc), exc.code)
    except KeyboardInterrupt:  # Ctrl-C: everything was closed on the way out
        print("\nStopped.")
        return OK


def _fail(message: str, code: int) -> int:
    print(f"nextpractice: {message}", file=sys.stderr)
    return code


# -- opening the bot -----------------------------------------------------------------------


def _safe_url(url: str) -> str:
    """The database URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except SQLAlchemyError:
        return url.split("://", 1)[0] + "://..."


@asynccontextmanager
async def _open(
    settings: Settings,
    *,
    clock: Clock | None = None,
    senders: Mapping[str, Sender] | None = None,
    concurrency: int = 16,
) -> AsyncIterator[App]:
    """The built bot, closed afterwards; a database that cannot be opened is a configuration problem."""
    try:
        app = await build_app(settings, clock=clock, senders=senders, concurrency=concurrency)
    except (SQLAlchemyError, OSError) as exc:
        url = _safe_url(database_url(settings))
        # SQLite's own words ("unable to open database file") do not say which setting to change.
        hint = (
            ""
            if settings.database_url
            else (f"; NEXTPRACTICE_DATA_DIR ({settings.data_dir}) must be a folder the bot may write")
        )
        raise CliError(f"cannot open the database {url}: {exc}{hint}", BAD_CONFIG) from exc
    except KeyMismatch as exc:
        raise CliError(str(exc), BAD_CONFIG) from None
    try:
        yield app
    finally:
        await app.close()


async def _read_text(path: Path, what: str) -> str:
    """A text file's contents (a byte-order mark, as Excel writes, is dropped)."""
    try:
        return await asyncio.to_thread(path.read_text, encoding="utf-8-sig")
    except FileNotFoundError:
        raise CliError(f"there is no {what} file {path}") from None
    except UnicodeDecodeError:
        raise CliError(f"{path} is not UTF-8 text (in Excel, save it as 'CSV UTF-8')") from None
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None


# -- demo and console ----------------------------------------------------------------------


def _london_time(text: str) -> datetime:
    """``YYYY-MM-DD HH:MM`` read as a London wall-clock time, in UTC."""
    try:
        return datetime.strptime(text.strip(), "%Y-%m-%d %H:%M").replace(tzinfo=CONSOLE_ZONE).astimezone(UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time like '2026-11-30 08:00'") from None


def next_monday_morning(after: datetime) -> datetime:
    """The first Monday 08:00 in England at or after ``after`` (UTC)."""
    local = after.astimezone(CONSOLE_ZONE)
    monday: date = local.date() + timedelta(days=-local.weekday() % 7)
    start = datetime.combine(monday, time(8, 0), CONSOLE_ZONE)
    if start < after:
        start = datetime.combine(monday + timedelta(weeks=1), time(8, 0), CONSOLE_ZONE)
    return start.astimezone(UTC)


async def _saved_clock(data_dir: Path) -> datetime | None:
    """Where an earlier console run left its clock, so time never runs backwards in a reused database."""
    try:
        text = await asyncio.to_thread((data_dir / CLOCK_FILE).read_text, encoding="utf-8")
        return datetime.fromisoformat(text.strip()).astimezone(UTC)
    except (OSError, ValueError):
        return None


async def _save_clock(data_dir: Path, clock: MovableClock) -> None:
    def save() -> None:
        data_dir.mkdir(parents=True, exist_ok=True)  # with DATABASE_URL set, nothing else made it
        (data_dir / CLOCK_FILE).write_text(clock.now().isoformat(), encoding="utf-8")

    await asyncio.to_thread(save)


async def _console_start(data_dir: Path) -> datetime:
    now = SystemClock().now()
    saved = await _saved_clock(data_dir)
    return max(now, saved) if saved else now


async def _knows(store: Store, handle: str) -> bool:
    async with store.transaction() as tx:
        return await tx.directory.person_by_handle(handle) is not None


async def _known(app: App, handles: Iterable[str]) -> None:
    """Refuse to start as someone who is not in the directory, naming the database looked in (run from
    another folder, the default ``./data`` is another, empty database)."""
    missing = [h for h in dict.fromkeys(handles) if not await _knows(app.store, h)]
    if missing:
        names = ", ".join(f'"{h}"' for h in missing)
        raise CliError(
            f"nobody in {_safe_url(app.database_url)} has the handle {names}; add people with: "
            "nextpractice directory import FILE.csv (or set NEXTPRACTICE_DATA_DIR or DATABASE_URL to the "
            "database you set up)"
        )


def _session(
    app: App, sender: ConsoleSender, clock: MovableClock, handle: str, *, seen: dict[str, int] | None = None
) -> ConsoleSession:
    host = AppConsoleHost(app, clock)
    return ConsoleSession(host, sender, handle=handle, write=print, zone=CONSOLE_ZONE, seen=seen)


async def _saved_seen(data_dir: Path) -> dict[str, int]:
    """How far each person's messages were shown in earlier console runs (see ConsoleSession.seen)."""
    try:
        text = await asyncio.to_thread((data_dir / SEEN_FILE).read_text, encoding="utf-8")
        saved = json.loads(text)
    except (OSError, ValueError):
        return {}
    return {str(k): int(v) for k, v in saved.items()} if isinstance(saved, dict) else {}


async def _save_seen(data_dir: Path, session: ConsoleSession) -> None:
    await session.leave()
    text = json.dumps(session.seen or {}, sort_keys=True)
    await asyncio.to_thread((data_dir / SEEN_FILE).write_text, text, encoding="utf-8")


def _console_sender(*, focus: bool) -> ConsoleSender:
    # A per-run tag in the refs: a later run sharing the database never mistakes our messages for its own.
    return ConsoleSender(print, session=format(int(timer.time()), "x"), focus=focus)


async def console_command(settings: Settings, args: argparse.Namespace) -> int:
    """``nextpractice console --as HANDLE [--script FILE]``."""
    script: list[str] | None = None
    handles = [args.handle.lower().lstrip("@")]
    if args.script is not None:
        script = (await _read_text(args.script, "script")).splitlines()
        try:
            handles += script_handles(parse_script(script))
        except ScriptError as exc:
            raise CliError(f"{args.script}: {exc}") from None
    data_dir = Path(settings.data_dir)
    start = await _console_start(data_dir)
    if args.start is not None:
        saved = await _saved_clock(data_dir)
        if saved is not None and args.start < saved:
            raise CliError(
                f"this database's clock already stands at {saved.astimezone(CONSOLE_ZONE):%Y-%m-%d %H:%M} "
                "and cannot go back; use a later --start or a fresh NEXTPRACTICE_DATA_DIR"
            )
        start = args.start
    clock = MovableClock(start)
    # A transcript shows every message; a person at the keyboard sees their own (and channels).
    sender = _console_sender(focus=script is None)
    async with _open(settings, clock=clock, senders={CONSOLE: sender}, concurrency=1) as app:
        await _known(app, handles)
        # At the keyboard, messages earlier runs held for someone are shown when they are next become.
        seen = None if script is not None else await _saved_seen(data_dir)
        session = _session(app, sender, clock, handles[0], seen=seen)
        try:
            await session.begin()  # before catch_up: what it sends belongs to this run
            await catch_up(app.dialogue, app.store, clock.now())  # as serve does at start
            await session.host.settle()
            await session.switch(handles[0])  # with what an earlier run left waiting for them
            if script is not None:
                await play_script(script, session)
            else:
                print(CONSOLE_HELP + "\n")
                await run_interactive(session, report=print)
        finally:
            await _save_clock(data_dir, clock)
            if seen is not None:
                await _save_seen(data_dir, session)
    return OK


DEMO_WELCOME = """\
Welcome to Riverside Council, a sample council of 40 people in 9 teams (bot/demo/ has them all).
You are Amira Hassan (amira), a support worker in Reablement, part of Adult Social Care.

The clock stands at {start} (London time) and moves only when you say, so you can
live through a week in a few minutes. You see your own messages and the #qa channel;
become someone else with /as to see theirs.
"""
DEMO_BACK = """\
Welcome back to Riverside Council. You are Amira Hassan (amira) again.
The clock stands at {start} (London time), where you left it. The steps below are those
of the first week, for reference; nextpractice demo --fresh starts again from its Monday.
"""
DEMO_GUIDE = """\
Things to try, in this order:
  help                 what you can do here
  idea Text people when a visit will be late
                       share an idea; you will hear whenever it moves on
  ask Will weekend rotas be published a month ahead?
                       ask senior managers; the question is posted in #qa for all to see
  /clock +1h           09:00: the Monday pulse and Jo's weekly check-in arrive (the check-in comes at
                       09:00 in each person's own time zone: try /as priya, in Kolkata);
                       answer by typing a number, e.g. 4
  /others              the rest of the staff answer too, with made-up answers, so there are
                       results to read (a team's figures show once five in it answer)
  /as jo               become Jo Adeyemi, Director of Adults & Health
  answer 1 Yes, from January
                       answer question 1 (use your question's number); Amira is told
  /as ben              become Ben Carter, Amira's manager; try: todo (what waits for him), ideas
  status 1 review Let's try this on the east patch
                       as Ben, move idea 1 on; Amira hears why
  pulse close Monday pulse
                       as Ben, close the pulse early (results show only once a run closes);
  pulse results Monday pulse
                       its figures by team; then pulse reply <run> <what you will do> shows
                       back, then sends everyone asked the overall figures and your words
                       ("you said, we did")
  /as amira            back to Amira
  /clock +1d1h         Tuesday 10:00: the "Fewer missed visits" campaign asks for ideas
  /clock +6d           next Monday 10:00: the week's pulse and check-in again; as Jo,
                       checkin results Director's weekly check-in reads the first (closed Wednesday)
  away until Friday    on leave: left out of pulses, check-ins and campaigns until then
  quiet 09:00-16:00    after night shifts: what you did not ask for waits until 16:00

/help lists the console controls; quit (or Ctrl-D) leaves. The demo is kept for next time;
nextpractice demo --fresh starts again.
"""


async def _seed_demo(store: Store) -> None:
    demo = resources.files("bot") / "demo"
    people = await asyncio.to_thread((demo / "organisation.csv").read_text, encoding="utf-8")
    programme = await asyncio.to_thread((demo / "programme.toml").read_text, encoding="utf-8")
    imported = await import_directory(store, csv.DictReader(io.StringIO(people)))
    if imported.errors:
        raise CliError("the sample organisation did not load: " + "; ".join(imported.errors))
    await load_programme(store, tomllib.loads(programme), check_cron=check_cron)


def check_cron(cron: str, zone: str) -> str | None:
    """A problem with a five-field cron expression, as APScheduler (which runs it) reads it; None if fine."""
    try:
        trigger = cron_trigger(cron, "UTC")
    except ValueError as exc:
        return f"schedule cron {cron!r} is not valid: {exc}"
    fields = cron.split()
    if len(fields) == 5 and "/" in fields[2]:  # read as "every 14 days", it restarts on each month's 1st
        return (
            f"schedule cron {cron!r}: a step in the day of the month starts again each month (*/14 runs on "
            "the 1st, 15th and 29th, then the 1st again); for every other week, write the day (MON) and add "
            "`every_weeks = 2` to the schedule; or name the days of the month (1,15)"
        )
    if trigger.get_next_fire_time(None, datetime.now(UTC)) is None:  # e.g. 30 February
        return f"schedule cron {cron!r} never fires: no date matches it"
    return None


GAP_FIRES = 12  # runs looked at for the shortest gap: enough for a weekday schedule's Friday to Monday


def cron_gap(cron: str, zone: str, every_weeks: int = 1) -> float | None:
    """The fewest hours between two of the schedule's next few runs (None if it runs less than twice)."""
    now = datetime.now(UTC)
    schedule = Schedule(
        id=0,
        kind=OccurrenceKind.PULSE,
        target_id=0,
        cron=cron,
        time_zone=zone,
        since=now,
        every_weeks=every_weeks,
    )
    fires: list[datetime] = []
    at: datetime | None = now
    while at is not None and len(fires) < GAP_FIRES:
        at = next_fire(schedule, at)
        if at is not None:
            fires.append(at)
    gaps = [(later - earlier).total_seconds() / 3600 for earlier, later in itertools.pairwise(fires)]
    return min(gaps) if gaps else None


async def _has_people(store: Store) -> bool:
    async with store.transaction() as tx:
        return bool(await tx.directory.people())


def _delete_sqlite(url: str) -> None:
    """Delete the SQLite database file (and its journal files); refuse anything else."""
    parsed = make_url(url)
    if not parsed.get_backend_name() == "sqlite" or not parsed.database or parsed.database == ":memory:":
        raise CliError(
            f"--fresh only deletes a local SQLite demo database, and DATABASE_URL points to {_safe_url(url)}",
            BAD_CONFIG,
        )
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(parsed.database + suffix).unlink(missing_ok=True)


async def demo_command(settings: Settings, args: argparse.Namespace) -> int:
    """``nextpractice demo [--fresh]``: seed the sample council if needed, then chat as Amira."""
    data_dir = Path(settings.data_dir)
    url = database_url(settings)
    if args.fresh:
        await asyncio.to_thread(_delete_sqlite, url)
        await asyncio.to_thread((data_dir / CLOCK_FILE).unlink, missing_ok=True)
        await asyncio.to_thread((data_dir / SEEN_FILE).unlink, missing_ok=True)
    # A new demo starts on Monday 08:00, so that the guide's "/clock +1h" reliably brings the Monday pulse;
    # an earlier one carries on where its clock stopped (a jump to the next Monday would skip a week).
    saved = await _saved_clock(data_dir)
    clock = MovableClock(saved or next_monday_morning(SystemClock().now()))
    sender = _console_sender(focus=True)
    async with _open(settings, clock=clock, senders={CONSOLE: sender}, concurrency=1) as app:
        if not await _has_people(app.store):
            print("Setting up Riverside Council...")
            await _seed_demo(app.store)
        if not await _knows(app.store, DEMO_HANDLE):
            raise CliError(
                "this database already holds another organisation, so the demo cannot use it; "
                "set NEXTPRACTICE_DATA_DIR to an empty folder to try the demo"
            )
        session = _session(app, sender, clock, DEMO_HANDLE, seen=await _saved_seen(data_dir))
        start = clock.now().astimezone(CONSOLE_ZONE)
        print((DEMO_BACK if saved else DEMO_WELCOME).format(start=f"{start:%A} {start.day} {start:%B %H:%M}"))
        print(DEMO_GUIDE)
        try:
            await session.begin()  # before catch_up: what it sends belongs to this run
            await catch_up(app.dialogue, app.store, clock.now())  # as serve does at start
            await session.host.settle()
            await session.switch(DEMO_HANDLE)  # with what an earlier run left waiting, as console does
            await run_interactive(session, report=print)
        finally:
            await _save_clock(data_dir, clock)
            await _save_seen(data_dir, session)
    return OK


# -- setting up ----------------------------------------------------------------------------


NOTES_SHOWN = 30  # of an import's rows to check: enough to see the pattern in a file of thousands
# Other names spreadsheets give the directory's columns.
_COLUMN_ALIASES = {
    "role": "roles",
    "timezone": "time_zone",
    "zone": "time_zone",
    "full_name": "name",
    "display_name": "name",
    "team_name": "team",
    "parent": "parent_team",
}


def _csv_rows(text: str, path: Path) -> list[dict[str, str]]:
    """Rows keyed by column names in lower case with ``_`` between words ("Time Zone" is time_zone:
    spreadsheets vary; "Role" is roles, see ``_COLUMN_ALIASES``). A column named close to one of ours
    ("rols") is refused, as leaving it out would change everyone; other columns are named on stderr and
    left out."""
    reader = csv.reader(io.StringIO(text))
    columns = ["_".join(c.strip().lower().replace("-", " ").split()) for c in next(reader, [])]
    columns = [_COLUMN_ALIASES.get(c, c) for c in columns]
    near = {
        c: close[0] for c in columns if c not in COLUMNS and (close := get_close_matches(c, COLUMNS, 1, 0.8))
    }
    if near:  # "rols" left out would make everyone staff
        raise CliError(
            f"{path}: "
            + "; ".join(
                f"column {c!r} is not one I know: did you mean {known!r}?" for c, known in near.items()
            )
        )
    if "handle" not in columns and any(";" in column for column in columns):  # as Excel saves it in Europe
        raise CliError(f"{path}: the file is separated by semicolons: save it as CSV UTF-8 (comma delimited)")
    missing = [c for c in ("handle", "name") if c not in columns]
    if missing:
        found = ", ".join(c for c in columns if c) or "none"
        raise CliError(f"{path} needs the columns handle and name (found: {found})")
    unused = [c for c in columns if c and c not in COLUMNS]
    if unused:
        print(
            f"Left out columns this does not use: {', '.join(unused)} (it uses {', '.join(COLUMNS)}).",
            file=sys.stderr,
        )
    rows = [{col: cell.strip() for col, cell in zip(columns, row, strict=False) if col} for row in reader]
    # Spreadsheets often save empty rows at the end; blank rows elsewhere keep their line numbers.
    while rows and not any(rows[-1].values()):
        rows.pop()
    return rows


DRY_RUN = "Dry run: nothing was changed."
SHOWN = 20  # names listed of one kind of change; a big organisation's weekly file is summed up in counts


def _some(names: list[str]) -> str:
    """The first few ``names``, and how many more there are."""
    return ", ".join(names[:SHOWN]) + (f" and {len(names) - SHOWN} more" if len(names) > SHOWN else "")


def _print_changes(report: ImportReport, min_group_size: int) -> None:
    """What an import changed, a line for each kind of change: how many always, who when few."""
    for told, changes in (
        ("Added {}", report.added),
        ("Renamed {}", report.renamed),
        ("Moved {} to another team", report.moved),
        ("Changed the roles of {}", report.roles_changed),
        ("Changed the time zone of {}", report.zone_changed),
        ("Gave a new Slack or Teams account to {}", report.accounts_linked),
        ("Switched back on {}", report.switched_on),
    ):
        if changes:
            print(f"{told.format(_count(len(changes), 'person', 'people'))}: {_some(changes)}")
    if report.switched_off:
        print(
            f"Switched off {_count(len(report.switched_off), 'person', 'people')} the file leaves out "
            f"(they get no more messages): {_some(report.switched_off)}"
        )
        for undone in report.open_work[:SHOWN]:
            print(f"  {undone}")
        if len(report.open_work) > SHOWN:
            print(f"  ... and {len(report.open_work) - SHOWN} more who leave work open")
    if report.new_teams:  # a misspelt team or parent team shows here
        print(f"New teams ({len(report.new_teams)}): {_some(report.new_teams)}")
    if report.regrouped:
        print(f"Put under another parent team ({len(report.regrouped)}): {_some(report.regrouped)}")
    if not report.changed:
        print("No changes.")
    for small in report.small_teams[:NOTES_SHOWN]:  # the report puts the teams it made small first
        print(f"Note: {small}.")
    if len(report.small_teams) > NOTES_SHOWN:
        print(f"Note: ... and {len(report.small_teams) - NOTES_SHOWN} more teams under {min_group_size}.")
    if report.held_back:
        print(f"{report.held_back}.")
    if report.left_out:
        n = len(report.left_out)
        then = (
            "they are switched off once every row imports"
            if report.held_back
            else "--complete switches them off"
        )
        print(
            f"{_count(n, 'person', 'people')} in the directory {'is' if n == 1 else 'are'} not in this file "
            f"({_some(report.left_out)}): {then}."
        )


async def directory_import_command(settings: Settings, args: argparse.Namespace) -> int:
    """``nextpractice directory import FILE.csv``."""
    if args.allow_many_leavers and not args.complete:  # a job's author may think it does something alone
        raise CliError("--allow-many-leavers only means something with --complete", BAD_CONFIG)
    try:
        rows = _csv_rows(await _read_text(args.file, "directory"), args.file)
    except CliError as exc:  # nothing imported: said by the exit code, as the help says
        raise CliError(str(exc), BAD_CONFIG) from None
    line = ProgressLine()
    async with _open(settings) as app:
        try:
            report = await import_directory(
                app.store,
                rows,
                ImportProgress(len(rows), line),
                complete=args.complete,
                min_group_size=settings.min_group_size,
                dry_run=args.dry_run,
                allow_many_leavers=args.allow_many_leavers,
                allow_renames=args.allow_renames,
            )
        except SQLAlchemyError as exc:  # the import is one transaction: none of it was written
            raise CliError(f"nothing was imported: the database failed: {exc}", BAD_CONFIG) from exc
        finally:
            line.end()
    if report.refused:
        raise CliError(report.refused, BAD_CONFIG)
    if args.dry_run:
        print(DRY_RUN)
    if report.errors and not report.people:
        print(f"Nothing was imported: {_count(len(report.errors), 'row')} could not be.")
    elif report.errors:  # said first: the list of them comes last, and may be long
        print(
            f"{_count(len(report.errors), 'row')} could not be imported; the other {report.people} "
            f"{'was' if report.people == 1 else 'were'}, in {_count(report.teams, 'team')}."
        )
    else:
        print(f"Imported {_count(report.people, 'person', 'people')} in {_count(report.teams, 'team')}.")
    _print_changes(report, settings.min_group_size)
    for unowned in report.unowned:
        print(f"Please give a new owner: {unowned}.", file=sys.stderr)
    if report.notes:
        print(f"Imported, but please check {_count(len(report.notes), 'row')}:", file=sys.stderr)
        for note in report.notes[:NOTES_SHOWN]:
            print(f"  {note}", file=sys.stderr)
        if len(report.notes) > NOTES_SHOWN:
            print(f"  ... and {len(report.notes) - NOTES_SHOWN} more like these", file=sys.stderr)
    if report.errors:
        print(f"{_count(len(report.errors), 'row')} not imported:", file=sys.stderr)
        for error in report.errors:
            print(f"  {error}", file=sys.stderr)
    if args.dry_run:  # at the end too: a long report's first line has scrolled away
        print(DRY_RUN)
    if report.errors:
        return FAILED if report.people else BAD_CONFIG
    return OK


async def directory_sync_command(settings: Settings, args: argparse.Namespace) -> int:
    """``nextpractice directory sync slack|teams``."""
    if args.platform == "teams":
        return await _sync_teams(settings)
    if settings.slack is None:
        raise CliError(
            "set SLACK_BOT_TOKEN (and SLACK_SIGNING_SECRET or SLACK_APP_TOKEN) to sync from Slack", BAD_CONFIG
        )
    async with _open(settings) as app:
        assert app.slack is not None
        try:
            report = await sync_slack_directory(app.slack.client, app.store)
        except SlackApiError as exc:
            raise CliError(f"Slack refused the directory sync: {exc.response.get('error')}") from exc
    print(
        f"From Slack: {_count(report.added, 'person', 'people')} added, {report.updated} updated, "
        f"{report.deactivated} switched off; {_count(report.teams, 'team')} from user groups."
    )
    _print_linked(report)
    return OK


def _print_linked(report: SyncReport) -> None:
    """The accounts given to people from the directory file by their full name, to check."""
    if report.linked:
        print(f"Linked by full name to people from the directory file ({len(report.linked)}; check them):")
        for line in report.linked:
            print(f"  {line}")


async def _sync_teams(settings: Settings) -> int:
    if settings.teams is None:
        raise CliError("set MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD to sync from Teams", BAD_CONFIG)
    async with _open(settings) as app:
        assert app.teams is not None
        try:
            report = await sync_teams_directory(app.teams, app.store, app_id=settings.teams.app_id)
        except Exception as exc:  # the connector's and botbuilder's errors have no common base
            raise CliError(f"Teams refused the directory sync: {type(exc).__name__}: {exc}") from exc
    if not report.teams:
        print(
            "No Teams team has the app yet: add it to a team (Apps > NextPractice > Add to a team) while "
            "nextpractice serve is running. A team it was added to while the bot was down is not known: "
            "remove the app from that team and add it again."
        )
        return OK
    print(
        f"From Teams: {_count(report.added, 'person', 'people')} added, {report.updated} updated; "
        f"{_count(report.teams, 'team')} read."
    )
    _print_linked(report)
    return OK


async def programme_load_command(settings: Settings, args: argparse.Namespace) -> int:
    """``nextpractice programme load FILE.toml``."""
    text = await _read_text(args.file, "programme")
    try:
        data: Mapping[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CliError(f"{args.file} is not a valid programme file: {exc}") from None
    async with _open(settings) as app:
        try:
            report = await load_programme(
                app.store, data, check_cron=check_cron, cron_gap=cron_gap, now=app.clock.now()
            )
        except ProgrammeError as exc:
            print(f"Nothing was loaded. Please fix {args.file}:", file=sys.stderr)
            for problem in exc.problems:
                print(f"  {problem}", file=sys.stderr)
            return FAILED
        # A slot that passed before loading waits for its next time: saying when avoids a surprise either way.
        schedules = await _schedules(app.store, app.clock.now())
    for label, names in (
        ("Campaigns", report.campaigns),
        ("Pulses", report.pulses),
        ("Check-ins", report.checkins),
    ):
        print(f"{label}: {', '.join(names) if names else 'none'}")
    print(f"{_count(report.schedules, 'schedule')} set.")
    for line in schedules:
        print(f"Schedule: {line}")
    return OK


async def db_upgrade_command(settings: Settings, args: argparse.Namespace) -> int:
    """``nextpractice db upgrade``."""
    url = database_url(settings)
    try:
        before, newest = await asyncio.to_thread(migration_status, url)
        revision = await migrate(url)
    except (SQLAlchemyError, OSError) as exc:
        raise CliError(f"cannot upgrade the database {_safe_url(url)}: {exc}", BAD_CONFIG) from exc
    if revision != newest:
        print(
            f"The database {_safe_url(url)} is at revision {revision}, newer than this version's {newest}: a "
            "newer version of nextpractice upgraded it. Nothing to do here; upgrade this installation."
        )
    elif before == revision:
        print(f"The database {_safe_url(url)} was already up to date (revision {revision}).")
    else:
        print(f"Upgraded the database {_safe_url(url)} from revision {before or 'none'} to {revision}.")
    return OK


async def directory_export_command(settings: Settings, args: argparse.Namespace) -> int:
    """``nextpractice directory export HANDLE [--out FILE]``: a subject access request's data, as JSON."""
    async with _open(settings) as app:
        try:
            held = await person_data(app.store, args.handle)
        except Refusal as refusal:
            raise CliError(refusal.message) from None
    text = json.dumps(held, indent=2, ensure_ascii=False, default=str) + "\n"
    if args.out is None:
        print(text, end="")
        return OK
    try:
        await asyncio.to_thread(args.out.write_text, text, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write {args.out}: {exc}") from exc
    kinds = [what for what in held if what != "person"]
    print(f"Wrote {args.out}: {args.handle}'s record and {_count(len(kinds), 'kind')} of data about them.")
    return OK


async def directory_forget_command(settings: Settings, args: argparse.Namespace) -> int:
    """``nextpractice directory forget HANDLE --yes``: erasure on request."""
    if not args.yes:
        raise CliError(
            f"this erases who {args.handle} is and cannot be undone; run it again with --yes "
            f"(`nextpractice directory export {args.handle}` first if they asked for a copy)"
        )
    async with _open(settings) as app:
        try:
            done = await forget_person(app.store, args.handle)
        except Refusal as refusal:
            raise CliError(refusal.message) from None
    print(
        f"Forgot {args.handle}: what they wrote in their name now shows as “{FORMER}”'s. "
        + "; ".join(f"{what}: {count}" for what, count in done.items())
        + ". Take them out of your directory file, or the next import adds them again as someone new."
    )
    return OK


def _positive_hours(text: str) -> float:
    try:
        hours = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of hours") from None
    if not 0 < hours <= 24 * 366:
        raise argparse.ArgumentTypeError("give between 0 and 8784 hours (a year)")
    return hours


async def outbox_retry_command(settings: Settings, args: argparse.Namespace) -> int:
    """``nextpractice outbox retry``: failed messages back in the queue, for ``serve`` to send."""
    async with _open(settings) as app:
        now = app.clock.now()
        async with app.store.transaction() as tx:
            count = await tx.outbox.requeue_failed(
                since=now - timedelta(hours=args.hours), now=now, error=args.error
            )
    which = f" whose error mentions {args.error!r}" if args.error else ""
    print(
        f"Queued {_count(count, 'failed message')}{which} from the last {args.hours:g} hours to send again; "
        "nextpractice serve sends them."
    )
    return OK


def _retention_days(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 3660:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number of days from 1 to 3660")
    return int(text)


async def outbox_prune_command(settings: Settings, args: argparse.Namespace) -> int:
    """``nextpractice outbox prune --days N``: the outbox's old messages deleted (a retention period)."""
    async with _open(settings) as app:
        before = app.clock.now() - timedelta(days=args.days)
        async with app.store.transaction() as tx:
            count = await tx.outbox.prune(before=before)
    print(f"Deleted {_count(count, 'message')} sent or failed more than {args.days} days ago.")
    return OK


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


PULSE_SEND_HELP = """\
Send a pulse survey now, as the chat command "pulse send NAME" does: its first question
goes into the outbox for everyone in its audience. Then, unless --no-wait, deliver it from
here until nothing is left to send, showing progress every 5 seconds, e.g.

  delivery progress: sent 1200 / 10000 (12%), 48.0/s, ETA 3m03s

(on a terminal the line updates in place), and finally how many were sent, how many failed
and how long it took. Stopping early with Ctrl-C is safe: nextpractice serve, or running
this again, sends the rest, and nobody gets it twice. Messages the platform asked us to
retry later are left to nextpractice serve.

The pulse is sent in the name of --as HANDLE, a manager or senior leader (by default the
first senior leader in the directory, else the first manager)."""


class ProgressLine:
    """Shows progress reports: redrawn in place on a terminal, one line per report otherwise."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty()
        self._width = 0

    def __call__(self, progress: Progress | ImportProgress) -> None:
        """Show one report."""
        line = str(progress)
        if self.tty:
            self.stream.write("\r" + line.ljust(self._width))
            self._width = len(line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def end(self) -> None:
        """Finish a line drawn in place, so what follows starts on a line of its own."""
        if self._width:
            self.stream.write("\n")
            self.stream.flush()
            self._width = 0


class ImportProgress:
    """How far a directory import has read, shown on ``line`` every ``every`` seconds (none for an import
    quicker than that)."""

    def __init__(
        self, total: int, line: Callable[[ImportProgress], None], every: float = PROGRESS_SECONDS
    ) -> None:
        self.total, self.done = total, 0
        self._line, self._every = line, every
        self._started = self._shown = timer.monotonic()

    def __call__(self, done: int) -> None:
        """``done`` rows are read; show it if the last report is ``every`` seconds old."""
        self.done = done
        now = timer.monotonic()
        if now - self._shown >= self._every:
            self._shown = now
            self._line(self)

    def __str__(self) -> str:
        seconds = timer.monotonic() - self._started
        rate = self.done / seconds if seconds > 0 else 0.0
        eta = duration((self.total - self.done) / rate) if rate > 0 else "?"
        percent = self.done * 100 // self.total if self.total else 100
        return f"import progress: {self.done} / {self.total} rows ({percent}%), {rate:.0f}/s, ETA {eta}"


async def _pulse_sender(store: Store, handle: str | None) -> str:
    """Who runs pulse commands: the handle given, else the first senior leader, else the first manager."""
    if handle:
        return handle.lower().lstrip("@")
    async with store.transaction() as tx:
        for role in (Role.SENIOR_LEADER, Role.MANAGER):
            people = await tx.directory.people_with_role(role)
            if people:
                return people[0].handle
    raise CliError(
        "nobody in the directory may run pulses (a manager or senior leader); "
        "add them with: nextpractice directory import FILE.csv"
    )


async def _pulse_command(app: App, args: argparse.Namespace, line: str) -> None:
    """Run the chat command ``line`` as ``--as`` (or the default sender) and print its answer."""
    handle = await _pulse_sender(app.store, args.handle)
    try:
        reply = await app.dialogue.command_as(handle, line)
    except Refusal as refusal:
        raise CliError(refusal.message) from None
    for message in reply.messages:
        print(message.fallback(), flush=True)


async def pulse_report_command(settings: Settings, args: argparse.Namespace) -> int:
    """``nextpractice pulse list`` and ``nextpractice pulse results NAME`` (each ``[--as HANDLE]``)."""
    async with _open(settings, senders=_terminal(settings)) as app:
        await _pulse_command(app, args, " ".join([*args.words, *getattr(args, "name", [])]))
    return OK


async def pulse_send_command(settings: Settings, args: argparse.Namespace) -> int:
    """``nextpractice pulse send NAME [--as HANDLE] [--no-wait] [--every SECONDS]``, and ``pulse close NAME``
    (the messages it queues are delivered here too)."""
    async with _open(settings, senders=_terminal(settings)) as app:
        await _pulse_command(app, args, f"pulse {args.verb} " + " ".join(args.name))
        if args.verb == "send" and settings.has_platform:
            await _say_who_cannot_be_reached(app)
        if not settings.has_platform:
            # A shell without the platform's settings (or a trial with none) must not "send" to itself.
            print(
                "Queued, not sent: there are no Slack or Teams settings here. nextpractice serve, with the "
                "platform's settings, sends it (on a trial, nextpractice console --as HANDLE shows it)."
            )
            return OK
        if args.no_wait:
            print("Queued: nextpractice serve delivers it.")
            return OK
        sent, failed = await _deliver_with_progress(app, every=args.every)
    if failed and not sent:
        print(
            "Nothing was delivered from here: the warnings above say why (people without an account on the "
            "platform, or its settings wrong?). Replicas of nextpractice serve may have sent some.",
            file=sys.stderr,
        )
        return FAILED
    return OK


async def _say_who_cannot_be_reached(app: App) -> None:
    """Before a send, how many people have no account on the configured platforms: on a first install the
    directory is often imported without Slack or Teams ids, and every message to them would fail."""
    names = {SLACK: "Slack", TEAMS: "Teams"}
    platforms = {
        key for key, on in ((SLACK, app.settings.slack), (TEAMS, app.settings.teams)) if on is not None
    }
    async with app.store.transaction(read_only=True) as tx:
        people = await tx.directory.people()
        reach = await tx.directory.reachable([person.id for person in people])
    missing = sum(not any(i.platform in platforms for i in reach.get(p.id, [])) for p in people)
    if missing:
        accounts = " or ".join(names[key] for key in sorted(platforms))
        has = "has" if missing == 1 else "have"
        print(
            f"Note: {missing} of the {len(people)} people in the directory {has} no {accounts} account "
            "recorded, so messages to them fail. Add their ids to the directory file (slack_user_id, "
            "teams_user_id) and import it again, or run nextpractice directory sync slack (or teams).",
            file=sys.stderr,
            flush=True,
        )


def _terminal(settings: Settings) -> dict[str, Sender]:
    """The console's sender for a command run on the embedded default (no Slack or Teams): its messages are
    kept, not printed, as a pulse to the whole organisation must not flood the terminal. With a platform
    configured, messages go to it only."""
    if not settings.has_platform:
        return {CONSOLE: _console_sender(focus=True)}
    return {}


async def _deliver_with_progress(app: App, *, every: float) -> tuple[int, int]:
    """Drain the outbox here, showing the worker's progress, then a summary; returns (sent, failed) here
    (other replicas may send some of the same run)."""
    worker, stats = app.worker, app.worker.stats
    line = ProgressLine()
    worker.progress_seconds, worker.on_progress = every, line
    sent, failed, started = stats.sent + stats.updated, stats.failed, timer.monotonic()
    try:
        await worker.drain()
    finally:
        line.end()
    sent, failed = stats.sent + stats.updated - sent, stats.failed - failed
    print(f"Done: {sent} sent, {failed} failed, took {duration(timer.monotonic() - started)}.", flush=True)
    waiting = (await _outbox_counts(app.store)).get("pending", 0)
    if waiting:
        print(f"{_count(waiting, 'message')} wait for a later time (retries); nextpractice serve sends them.")
    return sent, failed


# -- running -------------------------------------------------------------------------------


async def _schedules(store: Store, now: datetime) -> list[str]:
    """Each active schedule as a readable line with its next run, e.g.
    ``pulse "Monday pulse": 0 9 * * MON (Europe/London), next Mon 30 Nov 09:00``."""
    async with store.transaction() as tx:
        lines = []
        for schedule in await tx.schedules.schedules():
            if schedule.kind is OccurrenceKind.CAMPAIGN:
                campaign = await tx.ideas.get_campaign(schedule.target_id)
                name = campaign.name if campaign else "?"
            else:
                survey = await tx.surveys.get_survey(schedule.target_id)
                name = survey.name if survey else "?"
            zone = "each person's own time" if schedule.local_time else schedule.time_zone
            if schedule.every_weeks > 1:
                zone += f", every {schedule.every_weeks} weeks"
            upcoming = next_fire(schedule, now)
            shown = "none"
            if upcoming is not None:
                # A local-time run starts in the earliest zone, at the wall time everyone then gets it at.
                local = upcoming.astimezone(ZoneInfo(firing_zone(schedule)))
                shown = f"{local:%a %d %b}{f' {local.year}' if local.year != now.year else ''} {local:%H:%M}"
            lines.append(f'{schedule.kind.value} "{name}": {schedule.cron} ({zone}), next {shown}')
    return lines


async def _outbox_counts(store: Store) -> dict[str, int]:
    async with store.transaction() as tx:
        return await tx.outbox.counts()


async def _report_outbox(store: Store, stop: asyncio.Event) -> None:
    """Print the outbox's counts whenever they change, so the person running the bot sees it work."""
    reported: dict[str, int] = {}
    while not stop.is_set():
        try:
            counts = await _outbox_counts(store)
        except SQLAlchemyError as exc:
            log.warning("cannot read the outbox: %s", exc)
            counts = reported
        if counts != reported:
            summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
            print(f"{datetime.now(CONSOLE_ZONE):%H:%M:%S} messages: {summary}", flush=True)
            reported = counts
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), REPORT_SECONDS)


async def _start_http(app: App, *, slack_http: bool) -> web.AppRunner:
    """Health checks always; Slack's request URL in HTTP mode; Teams' messaging endpoint."""
    settings = app.settings
    slack = app.slack.app if app.slack is not None and slack_http else None
    teams = messages_route(app.teams.adapter, app.teams.bot) if app.teams is not None else None
    readiness = Readiness(app.store.engine, app.head_revision)
    try:
        runner = await start(
            web_app(slack=slack, teams=teams, readiness=readiness, metrics=app.metrics),
            host=settings.host,
            port=settings.port,
        )
    except OSError as exc:
        raise CliError(
            f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}", BAD_CONFIG
        ) from exc
    where = f"http://{settings.host}:{settings.port}"
    print(f"Health check: {where}/healthz (liveness), {where}/readyz (readiness); metrics: {where}/metrics")
    if slack is not None:
        print(f"Slack request URL: {where}{SLACK_PATH} (behind your HTTPS ingress)")
    if teams is not None:
        print(f"Teams messaging endpoint: {where}{TEAMS_PATH} (behind your HTTPS ingress)")
    return runner


def _socket_mode(app: App) -> AsyncSocketModeHandler | None:
    """A Socket Mode handler when an app-level token is set (no public URL needed), not yet connected."""
    if app.slack is None or app.settings.slack is None or not app.settings.slack.app_token:
        return None
    return AsyncSocketModeHandler(app.slack.app, app.settings.slack.app_token)


async def _connect(handler: AsyncSocketModeHandler) -> None:
    # Run beside delivery, not before it: while Slack cannot be reached this keeps trying, and the outbox
    # (Teams, other workspaces) and a stop signal must not wait for it.
    await handler.connect_async()  # type: ignore[no-untyped-call]  # slack_bolt leaves it unannotated
    print("Slack: connected in Socket Mode", flush=True)


NO_PLATFORM = (
    "No Slack or Teams settings: messages would only be printed here, and count as sent. Set SLACK_BOT_TOKEN "
    "(Slack) or MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD (Teams) as the README says; to try the bot "
    "without them, run nextpractice demo, or nextpractice serve --console to print messages here."
)


async def serve_command(settings: Settings, args: argparse.Namespace) -> int:
    """``nextpractice serve``: fire schedules and deliver the outbox in real time, until Ctrl-C or SIGTERM.

    With no platform configured it refuses, unless ``--console``: a server started before its credentials
    were set would print a whole campaign to its log and record it as sent, and nobody would get it."""
    if not settings.has_platform and not args.console:
        raise CliError(NO_PLATFORM, BAD_CONFIG)
    async with _open(settings) as app:
        print(f"Database: {_safe_url(app.database_url)}")
        print(f"Sending through: {', '.join(sorted(app.senders))}")
        settle()
        for line in await _schedules(app.store, app.clock.now()) or [
            "none yet (load them with: nextpractice programme load)"
        ]:
            print(f"Schedule: {line}")
        days = app.settings.retention_days
        kept = f"{days} days" if days else "until deleted (set NEXTPRACTICE_RETENTION_DAYS)"
        print(f"Messages kept: {kept}")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        scheduler = Scheduler(
            dialogue=app.dialogue,
            store=app.store,
            clock=app.clock,
            on_fired=app.worker.wake,
            metrics=app.metrics,
            retention=timedelta(days=app.settings.retention_days) if app.settings.retention_days else None,
        )
        # Listening first: a port that cannot be had stops the bot before any schedule fires.
        slack_http = app.settings.slack is not None and not app.settings.slack.app_token
        runner = await _start_http(app, slack_http=slack_http)
        await scheduler.start()
        socket_mode = _socket_mode(app)
        connecting = asyncio.create_task(_connect(socket_mode)) if socket_mode is not None else None
        print("Running. Stop with Ctrl-C.", flush=True)
        reporter = asyncio.create_task(_report_outbox(app.store, stop))
        try:
            await app.worker.run(stop)
        finally:
            scheduler.shutdown()
            stop.set()
            await reporter
            if connecting is not None and socket_mode is not None:
                connecting.cancel()
                await asyncio.gather(connecting, return_exceptions=True)
                await socket_mode.close_async()  # type: ignore[no-untyped-call]
            await runner.cleanup()
    print("Stopped.")
    return OK
