"""Loading people and teams from rows (a CSV file, read by the CLI)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dialogue.directory import Team, parse_roles
from dialogue.events import Identity
from dialogue.ports import DirectoryRepo, Store

COLUMNS = (
    "handle",
    "name",
    "time_zone",
    "roles",
    "team",
    "parent_team",
    "slack_user_id",
    "slack_team_id",
    "teams_user_id",
    "teams_tenant",
)
HANDLE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")


@dataclass
class ImportReport:
    """What an import did, and the rows it could not take (by line number)."""

    people: int = 0
    teams: int = 0
    errors: list[str] = field(default_factory=list)


def _check(line: int, row: Mapping[str, str]) -> str | None:
    handle = (row.get("handle") or "").strip().lower().lstrip("@")
    if not HANDLE.match(handle):
        return f"line {line}: handle {handle!r} must be 1-40 lower-case letters, digits, '.', '_' or '-'"
    if not (row.get("name") or "").strip():
        return f"line {line}: {handle} has no name"
    zone_name = (row.get("time_zone") or "").strip()
    if zone_name:
        try:
            ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            return f"line {line}: {handle} has an unknown time zone {zone_name!r} (use e.g. Europe/London)"
    try:
        parse_roles(row.get("roles") or "")
    except ValueError as exc:
        return f"line {line}: {handle}: {exc}"
    return None


async def import_directory(
    store: Store, rows: Iterable[Mapping[str, str]], progress: Callable[[int], None] | None = None
) -> ImportReport:
    """Create or update people and their teams; each person also gets a console identity.

    Rows with problems are skipped and reported; the others are imported, all in one transaction.
    Line numbers count the header as line 1. ``progress`` is told how many rows have been read so far,
    after each row (to show progress on a long import).
    """
    report = ImportReport()
    seen_teams: set[str] = set()
    first_line: dict[str, int] = {}  # handle -> the line that imported it
    # What each team was last written with, and the result: thousands of rows name the same few hundred
    # teams, and writing a team again just as it was written last changes nothing.
    written: dict[str, tuple[tuple[str, ...], Team]] = {}

    async def team(directory: DirectoryRepo, write: tuple[str, ...], name: str, parent: Team | None) -> Team:
        key = name.lower()
        last = written.get(key)
        if last is not None and last[0] == write:
            return last[1]
        existing = await directory.team_by_name(name)
        if existing is not None and (write[0] == "parent" or parent is None):
            made = existing  # named as a parent, or with no parent given: a team keeps the parent it has
        else:
            made = await directory.upsert_team(name=name, parent_id=parent.id if parent else None)
        written[key] = (write, made)
        return made

    async with store.transaction() as tx:
        directory = tx.directory
        for line, row in enumerate(rows, start=2):
            if progress is not None:
                progress(line - 2)
            problem = _check(line, row)
            if problem:
                report.errors.append(problem)
                continue
            handle = row["handle"].strip().lower().lstrip("@")
            if handle in first_line:  # the later row would silently overwrite the earlier one
                report.errors.append(f"line {line}: {handle} is already on line {first_line[handle]}")
                continue
            first_line[handle] = line
            team_ids = []
            team_name = (row.get("team") or "").strip()
            if team_name:
                parent_name = (row.get("parent_team") or "").strip()
                parent = (
                    await team(directory, ("parent", parent_name), parent_name, None) if parent_name else None
                )
                if parent:
                    seen_teams.add(parent_name.lower())
                home = await team(directory, ("team", team_name, parent_name), team_name, parent)
                seen_teams.add(team_name.lower())
                team_ids.append(home.id)
            person = await directory.upsert_person(
                handle=handle,
                display_name=row["name"].strip(),
                time_zone=(row.get("time_zone") or "").strip() or "UTC",
                roles=parse_roles(row.get("roles") or ""),
            )
            await directory.set_teams(person.id, team_ids)
            await directory.add_identity(person.id, Identity("console", "local", handle))
            if (row.get("slack_user_id") or "").strip():
                slack = Identity(
                    "slack", (row.get("slack_team_id") or "").strip(), row["slack_user_id"].strip()
                )
                await directory.add_identity(person.id, slack)
            if (row.get("teams_user_id") or "").strip():
                teams = Identity(
                    "teams", (row.get("teams_tenant") or "").strip(), row["teams_user_id"].strip()
                )
                await directory.add_identity(person.id, teams)
            report.people += 1
    report.teams = len(seen_teams)
    return report
