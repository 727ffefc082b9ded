"""Loading people and teams from rows (a CSV file, read by the CLI)."""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections import Counter
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dialogue.directory import Person, Role, Team, is_entra_id, parse_roles
from dialogue.events import Identity
from dialogue.formatting import plural
from dialogue.ideas import OPEN_STATUSES
from dialogue.ports import DirectoryRepo, Repositories, Store
from dialogue.results import OTHER_TEAMS
from dialogue.settings import DialogueSettings
from dialogue.surveys import SurveyKind, fit_owner, owner_role

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
MANY = 1000  # open ideas a leaver's are counted up to: more than anyone owns
# --complete with a file that leaves out more than this percentage and number of the active people is
# refused: a filtered export (one department) would otherwise switch off the rest of the organisation. A
# week's leavers are rarely a tenth, and an export missing a fifth of 5,575 people got through a quarter.
LEAVERS_PERCENT, LEAVERS_FEW = 10, 5


class _Undo(Exception):
    """Raised inside the import's transaction to roll it back: a dry run, or too many leavers."""


@contextlib.asynccontextmanager
async def _undoable() -> AsyncIterator[None]:
    """Around a transaction: an :class:`_Undo` raised in it rolls it back and goes no further."""
    with contextlib.suppress(_Undo):
        yield


@dataclass
class ImportReport:
    """What an import did, and the rows it could not take (by line number)."""

    people: int = 0
    teams: int = 0
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # rows taken that look like a mistake, to check
    switched_off: list[str] = field(default_factory=list)  # handles of people the file no longer lists
    unowned: list[str] = field(default_factory=list)  # pulses and check-ins whose owner is gone, and what now
    new_teams: list[str] = field(default_factory=list)  # as first written: a misspelt parent shows here
    # What changed, one entry a person or team: "handle" or "handle (before -> after)".
    added: list[str] = field(default_factory=list)
    renamed: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)  # people put in another team
    roles_changed: list[str] = field(default_factory=list)
    zone_changed: list[str] = field(default_factory=list)
    accounts_linked: list[str] = field(default_factory=list)  # people known before, given a new account
    switched_on: list[str] = field(default_factory=list)
    regrouped: list[str] = field(default_factory=list)  # teams put under another parent team
    left_out: list[str] = field(default_factory=list)  # active people not in a file that is not complete
    open_work: list[str] = field(default_factory=list)  # what the people switched off leave undone
    # Teams named whose results are now withheld: first those the import made small (or made, small).
    small_teams: list[str] = field(default_factory=list)
    refused: str | None = None  # why nothing was changed (too many leavers)
    held_back: str | None = None  # why a complete file switched nobody off (rows refused); ``left_out`` who

    @property
    def changed(self) -> bool:
        """Whether the import changed anything in the directory."""
        return any(
            (
                self.new_teams,
                self.added,
                self.renamed,
                self.moved,
                self.roles_changed,
                self.zone_changed,
                self.accounts_linked,
                self.switched_on,
                self.switched_off,
                self.regrouped,
            )
        )


def _cell(row: Mapping[str, str], column: str) -> str:
    return (row.get(column) or "").strip()


def _zone_note(line: int, handle: str, zone_name: str, known: bool) -> str | None:
    """Why a row's time zone may not be what was meant: none given for someone new (UTC is used), or an
    abbreviation or fixed offset, which never follows the summer time of the place its people are in."""
    if not zone_name:
        if known:
            return None
        return f"line {line}: {handle} has no time_zone, so UTC is used; give one such as Europe/London"
    if "/" not in zone_name or zone_name.startswith("Etc/"):
        if zone_name.upper() in ("UTC", "ETC/UTC"):
            return None
        return (
            f"line {line}: {handle}'s time zone {zone_name!r} is a fixed offset and will not follow summer "
            "time; give the place, such as Europe/London"
        )
    return None


def _same_name(name: str) -> str:
    """A person's name as compared: "Sam  rivera" is Sam Rivera."""
    return " ".join(name.casefold().split())


def _own_handle(handle: str, name: str) -> str:
    """A new starter's handle when theirs was a leaver's: the old one and their last name (sam.oneill)."""
    words = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower().split()
    last = re.sub(r"[^a-z0-9]", "", words[-1]) if words else ""
    return f"{handle}.{last}"[:40] if last else f"{handle}2"


def _same_team(name: str) -> str:
    """A team name as people mean it: "Revenues & Benefits" and "Revenues and benefits" are one team."""
    return " ".join(re.sub(r"[^\w]+", " ", name.casefold().replace("&", " and ")).split())


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
    team, parent = _cell(row, "team"), _cell(row, "parent_team")
    if team and team.lower() == parent.lower():
        return f"line {line}: {handle}: team {team!r} cannot be its own parent team"
    for user, tenant, names in (
        ("slack_user_id", "slack_team_id", "workspace"),
        ("teams_user_id", "teams_tenant", "tenant"),
    ):
        if _cell(row, user) and not _cell(row, tenant):
            return f"line {line}: {handle} has a {user} but no {tenant} (the {names} id that goes with it)"
    # Teams names people by their Entra object id and tenant id, both GUIDs: an email address or a domain
    # would match nobody, and whoever it was would come in as someone new the first time they wrote.
    for column, what in (("teams_user_id", "Object Id"), ("teams_tenant", "tenant id")):
        value = _cell(row, column)
        if value and not is_entra_id(value):
            return (
                f"line {line}: {handle}'s {column} {value!r} is not a Microsoft Entra {what} (a GUID like "
                "5a0c1d9e-0000-4000-8000-000000000000, in the Entra admin centre); `nextpractice directory "
                "sync teams` fills both in from the teams the app is in"
            )
    return None


async def import_directory(
    store: Store,
    rows: Iterable[Mapping[str, str]],
    progress: Callable[[int], None] | None = None,
    *,
    complete: bool = False,
    min_group_size: int = DialogueSettings.min_group_size,
    dry_run: bool = False,
    allow_many_leavers: bool = False,
    allow_renames: bool = False,
) -> ImportReport:
    """Create or update people and their teams; each person also gets a console identity.

    Rows with problems are skipped and reported; the others are imported, all in one transaction. Blank
    rows and rows the same as an earlier one are skipped with a note, as there is nothing in them to fix.
    For someone already known, an empty ``time_zone``, ``roles`` or ``team`` (or a file without that
    column) leaves what is known: a file of handles and names must not make everyone staff in UTC.
    ``complete``: the rows list everyone, so anyone active who is not among them (a leaver) is switched
    off and gets no more messages; someone switched off who is listed again is switched back on; but if
    any row is refused, nobody is switched off (``held_back`` says so), as its person may be among them.
    Line numbers count the header as line 1. ``progress`` is told how many rows have been read so far,
    after each row (to show progress on a long import). The report says what changed, and which teams
    the file names have fewer active people than ``min_group_size`` (their results are withheld).
    ``dry_run``: report all the same, but change nothing. With ``complete``, a file that would switch off
    more than ``LEAVERS_PERCENT``% of the active people (and more than ``LEAVERS_FEW``) changes nothing,
    and ``refused`` says so, unless ``allow_many_leavers``. A row that gives someone in the directory
    (switched off or not) another name is refused unless ``allow_renames``: a reused handle would hand a
    new starter a leaver's anonymous questions and ideas, and a name change looks the same.
    """
    report = ImportReport()
    seen_teams: set[str] = set()
    first_line: dict[str, int] = {}  # handle -> the line that imported it
    listed: set[str] = set()  # every handle the file names, its row taken or not
    accounts: dict[Identity, int] = {}  # a platform account -> the line that gave it
    copies: dict[tuple[tuple[str, str], ...], int] = {}  # a row's cells -> the line they were first on
    table = list(rows)  # read twice: first for the parent each team is given most
    placed: set[str] = set()  # teams whose move under their parent a row has made (or checked)
    # What each team was last written with, and the result: thousands of rows name the same few hundred
    # teams, and writing a team again just as it was written last changes nothing.
    written: dict[str, tuple[tuple[str, ...], Team]] = {}
    spelt: dict[str, tuple[str, str]] = {}  # a team name as meant -> how it was first written, and where
    team_names: dict[int, str] = {}  # by id, for saying what moved
    homes: set[int] = set()  # the teams the file puts people in

    async def team(directory: DirectoryRepo, write: tuple[str, ...], name: str, parent: Team | None) -> Team:
        key = name.lower()
        last = written.get(key)
        if last is not None and last[0] == write:
            return last[1]
        existing = await directory.team_by_name(name)
        if existing is None:
            report.new_teams.append(name)
        if existing is not None and (write[0] == "parent" or parent is None):
            made = existing  # named as a parent, or with no parent given: a team keeps the parent it has
        else:
            made = await directory.upsert_team(name=name, parent_id=parent.id if parent else None)
            if existing is not None and existing.parent_id != made.parent_id:
                report.regrouped.append(
                    f"{made.name} ({team_names.get(existing.parent_id or 0, 'no parent')} -> "
                    f"{team_names.get(made.parent_id or 0, 'no parent')})"
                )
        team_names[made.id] = made.name
        written[key] = (write, made)
        return made

    async with _undoable(), store.transaction() as tx:  # rolled back, not written, on _Undo
        directory = tx.directory
        known_teams = await directory.teams()
        for known_team in known_teams:
            spelt.setdefault(_same_team(known_team.name), (known_team.name, "already in the directory"))
            team_names[known_team.id] = known_team.name
        # Everyone before the import, to say what each row changes: read at once, not a query a row.
        held = {person.handle.lower(): person for person in await directory.everyone()}
        parent_of = _parents(
            table,
            {
                known_team.name.lower(): team_names[known_team.parent_id].lower()
                for known_team in known_teams
                if known_team.parent_id is not None
            },
        )
        identities = await directory.all_identities()
        holders = {account: person_id for person_id, owned in identities.items() for account in owned}
        by_id = {person.id: person for person in held.values()}
        gives: dict[str, set[Identity]] = {}  # a handle -> the accounts its (first) row gives
        for row in table:
            gives.setdefault(_cell(row, "handle").lower().lstrip("@"), set(_accounts(row)))
        active = [person for person in held.values() if person.active]
        for line, row in enumerate(table, start=2):
            if progress is not None:
                progress(line - 2)
            cells = tuple(sorted((str(column), str(value or "").strip()) for column, value in row.items()))
            if not any(value for _, value in cells):  # a row deleted in the spreadsheet: nothing to import
                report.notes.append(f"line {line} is blank, so it was skipped")
                continue
            if (copied := copies.setdefault(cells, line)) != line:  # pasted twice: the first row says it all
                report.notes.append(f"line {line} is the same as line {copied}, so it was skipped")
                continue
            listed.add(_cell(row, "handle").lower().lstrip("@"))
            problem = _check(line, row)
            team_key, parent_key = _cell(row, "team").lower(), _cell(row, "parent_team").lower()
            chosen = parent_of.get(team_key)
            if problem is None and chosen is not None and parent_key not in ("", chosen.key):
                # One row's slip would otherwise move the whole team, and everyone in it, elsewhere.
                who, name, parent_name = (
                    _cell(row, "handle").lower().lstrip("@"),
                    _cell(row, "team"),
                    _cell(row, "parent_team"),
                )
                problem = (
                    f"line {line}: {who}: team {name!r} is under {parent_name!r} here but under "
                    f"{chosen.written!r} on {_lines(chosen.lines)}"
                    f"{' and in the directory' if chosen.held else ''}; a team has one parent"
                )
            elif problem is None and team_key and parent_key and team_key not in placed:  # a move: check it
                problem = await _moves_team_under_itself(directory, line, row)
            if problem:
                report.errors.append(problem)
                continue
            handle = row["handle"].strip().lower().lstrip("@")
            if handle in first_line:  # the later row would silently overwrite the earlier one
                report.errors.append(f"line {line}: {handle} is already on line {first_line[handle]}")
                continue
            own = _accounts(row)
            taken = next((a for a in own if a in accounts), None)
            if taken is not None:  # the later row would silently take the account from the earlier one
                report.errors.append(
                    f"line {line}: {handle}'s {taken.platform} account {taken.user_id} is already on line "
                    f"{accounts[taken]}"
                )
                continue
            known = held.get(handle)
            if (held_by := _held_elsewhere(own, known, holders, by_id, gives)) is not None:
                # A copy-paste slip would silently take the account from its holder, who would be lost.
                account, holder = held_by
                report.errors.append(
                    f"line {line}: {handle}'s {account.platform} account {account.user_id} belongs to "
                    f"{holder}; remove it from {holder}'s row first if it is now {handle}'s"
                )
                continue
            display = row["name"].strip()
            if (
                known is not None
                and not allow_renames
                and _same_name(known.display_name) != _same_name(display)
            ):
                # A new starter given a leaver's handle (even in the file that leaves the leaver out) would
                # get their questions, ideas and settings; the file cannot tell that from a new surname.
                report.errors.append(_renamed(line, handle, known.display_name, display, taken=held))
                continue
            first_line[handle] = line
            if parent_key:
                placed.add(team_key)
            accounts.update(dict.fromkeys(own, line))
            zone, roles, team_name = _cell(row, "time_zone"), _cell(row, "roles"), _cell(row, "team")
            if note := _zone_note(line, handle, zone, known is not None):
                report.notes.append(note)
            if known is None and not team_name:
                report.notes.append(
                    f"line {line}: {handle} has no team, so their pulse answers count within "
                    f"{OTHER_TEAMS!r}; give the team they work in"
                )
            for name in filter(None, (team_name, _cell(row, "parent_team"))):
                first, where = spelt.setdefault(_same_team(name), (name, f"line {line}"))
                if first.lower() != name.lower():  # team names match in any case: 'reablement' is Reablement
                    report.notes.append(
                        f"line {line}: team {name!r} looks like {first!r} ({where}) written another way; "
                        "they are two teams unless written the same"
                    )
            team_ids: list[int] | None = None if known is not None else []  # None: keep the person's teams
            if team_name:
                parent_name = _cell(row, "parent_team")
                parent = (
                    await team(directory, ("parent", parent_name), parent_name, None) if parent_name else None
                )
                if parent:
                    seen_teams.add(parent_name.lower())
                home = await team(directory, ("team", team_name, parent_name), team_name, parent)
                seen_teams.add(team_name.lower())
                homes.add(home.id)
                team_ids = [home.id]
            person = await directory.upsert_person(
                handle=handle,
                display_name=display,
                time_zone=zone or (known.time_zone if known is not None else "UTC"),
                roles=parse_roles(roles) if roles or known is None else known.roles,
            )
            if team_ids is not None:
                await directory.set_teams(person.id, team_ids)
            if known is None:
                report.added.append(handle)
            else:
                _compare(report, known, person, team_ids, team_names)
                if not set(own) <= identities.get(known.id, set()):
                    report.accounts_linked.append(handle)
            if complete and not person.active:  # back, after a complete file had left them out
                await directory.set_active(person.id, True)
                report.switched_on.append(handle)
            elif not person.active:
                report.notes.append(
                    f"line {line}: {handle} is switched off; --complete switches them back on"
                )
            await directory.add_identity(person.id, Identity("console", "local", handle))
            for account in own:
                await directory.add_identity(person.id, account)
            report.people += 1
        leavers = [person for person in active if person.handle.lower() not in listed]
        many = len(leavers) > LEAVERS_FEW and len(leavers) * 100 > LEAVERS_PERCENT * len(active)
        if complete and many and not allow_many_leavers:
            report.refused = _too_many_leavers([person.handle for person in leavers], len(active))
            raise _Undo
        if complete and leavers and report.errors:
            # A refused row (an email for a handle, say) leaves its person out of the file as a leaver would.
            report.held_back = (
                f"{plural(len(report.errors), 'row')} could not be imported, so nobody was switched off: fix "
                "them and import again"
            )
            report.left_out = [person.handle for person in leavers]
        elif complete:
            for person in leavers:
                await directory.set_active(person.id, False)
                report.switched_off.append(person.handle)
                if undone := await _open_work(tx, person):
                    report.open_work.append(undone)
        else:
            report.left_out = [person.handle for person in leavers]
        sizes = Counter(
            p.team_ids[0] for p in await directory.people() if p.team_ids and p.team_ids[0] in homes
        )
        before = Counter(p.team_ids[0] for p in active if p.team_ids)
        existed = {known_team.id for known_team in known_teams}
        small = [team_id for team_id, n in sizes.items() if n < min_group_size]
        # Those already small before are last: a new small team is the one the reader has not seen.
        small.sort(key=lambda team_id: team_id in existed and 0 < before[team_id] < min_group_size)
        report.small_teams = [
            _small_team(
                team_names[team_id],
                sizes[team_id],
                before[team_id] if team_id in existed else None,
                min_group_size,
            )
            for team_id in small
        ]
        for survey in await tx.surveys.surveys():
            owner = await directory.get_person(survey.owner_id) if survey.owner_id is not None else None
            if owner is not None and not fit_owner(owner, survey.kind):
                gone = "is switched off" if not owner.active else f"is no longer a {owner_role(survey.kind)}"
                falls = (
                    "its digests go to every senior leader"
                    if survey.kind is SurveyKind.CHECKIN
                    else "nobody gets its results at close (any manager may read them; a senior leader may "
                    "reply)"
                )
                report.unowned.append(
                    f"{survey.kind.value} {survey.name!r}: its owner {owner.handle} {gone}, so {falls} until "
                    "you name a new `owner` in the programme file and load it again"
                )
        if dry_run:
            raise _Undo
    report.teams = len(seen_teams)
    return report


@dataclass(frozen=True)
class _Parent:
    """The parent team a file gives a team: lower-cased, as first written, and the lines that give it."""

    key: str
    written: str
    lines: list[int]
    held: bool  # the team's parent in the directory already


def _parents(rows: list[Mapping[str, str]], held: Mapping[str, str]) -> dict[str, _Parent]:
    """The parent each team is put under, by lower-cased team name, when the ``rows`` give a team
    several: the one it has in the directory (``held``, lower-cased) if any row gives it, else the one
    most rows give (on a tie, the first). Rows are sorted by handle, so which comes first is chance."""
    given: dict[str, dict[str, list[int]]] = {}
    written: dict[str, str] = {}
    for line, row in enumerate(rows, start=2):
        team, parent = _cell(row, "team").lower(), _cell(row, "parent_team").lower()
        if team and parent and team != parent:
            given.setdefault(team, {}).setdefault(parent, []).append(line)
            written.setdefault(parent, _cell(row, "parent_team"))
    chosen = {}
    for team, parents in given.items():
        kept = held.get(team)
        parent = kept if kept in parents else max(parents, key=lambda key: len(parents[key]))
        chosen[team] = _Parent(parent, written[parent], parents[parent], parent == kept)
    return chosen


def _lines(numbers: list[int]) -> str:
    """Line numbers as read: "line 4", "lines 2-7 and 9", "lines 2-7, 9, 12 and 30 others"."""
    runs: list[list[int]] = []
    for number in numbers:
        if runs and runs[-1][-1] == number - 1:
            runs[-1].append(number)
        else:
            runs.append([number])
    if len(numbers) == 1:
        return f"line {numbers[0]}"
    said = [f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]) for run in runs[:3]]
    if len(runs) > 3:
        return f"lines {', '.join(said)} and {len(numbers) - sum(len(run) for run in runs[:3])} others"
    return f"lines {', '.join(said[:-1])} and {said[-1]}" if len(said) > 1 else f"lines {said[0]}"


def _small_team(name: str, n: int, before: int | None, min_group_size: int) -> str:
    """Why a team's results are withheld, and (if it was not small before) what it was: ``before`` is
    its people before the import, None for a team the import made."""
    if before is None:
        said = f"{name}, a new team, has {plural(n, 'person', 'people')}"
    elif 0 < before < min_group_size:
        said = f"{name} has {plural(n, 'person', 'people')}"
    else:
        said = f"{name} has {plural(n, 'person', 'people')}, {before or 'none'} before this import"
    return f"{said}: under {min_group_size}, its pulse results are withheld (shown within {OTHER_TEAMS!r})"


def _too_many_leavers(handles: list[str], active: int) -> str:
    """Why a complete file that leaves out many of the active people changes nothing."""
    shown = ", ".join(handles[:10]) + (f" and {len(handles) - 10} more" if len(handles) > 10 else "")
    share = -(-len(handles) * 100 // active)  # rounded up: 10.2% is over the limit, not "10%"
    return (
        f"--complete would switch off {len(handles)} of the {active} active people ({share}%), as this file "
        f"leaves them out ({shown}), so nothing was changed: more than {LEAVERS_FEW} people and "
        f"{LEAVERS_PERCENT}% of the active people at once is too many to take without asking. Is it the "
        "whole organisation's export, not a filtered one? If they have all left, run it again with "
        "--allow-many-leavers"
    )


def _compare(
    report: ImportReport,
    known: Person,
    person: Person,
    team_ids: list[int] | None,
    team_names: Mapping[int, str],
) -> None:
    """Add to ``report`` what a row changed of someone ``known`` before it (``person`` after it)."""
    handle = person.handle
    if known.display_name != person.display_name:
        report.renamed.append(f"{handle} ({known.display_name} -> {person.display_name})")
    if team_ids is not None and tuple(team_ids) != known.team_ids:
        before = ", ".join(team_names.get(team_id, "?") for team_id in known.team_ids) or "no team"
        report.moved.append(f"{handle} ({before} -> {', '.join(team_names[t] for t in team_ids)})")
    if known.roles != person.roles:
        report.roles_changed.append(f"{handle} ({_roles(known.roles)} -> {_roles(person.roles)})")
    if known.time_zone != person.time_zone:
        report.zone_changed.append(f"{handle} ({known.time_zone} -> {person.time_zone})")


def _roles(roles: Collection[Role]) -> str:
    return ", ".join(sorted(role.value for role in roles))


async def _open_work(tx: Repositories, person: Person) -> str | None:
    """What someone switched off leaves open: ideas they own, questions put to them; None if nothing."""
    ideas = await tx.ideas.ideas(owner_id=person.id, statuses=OPEN_STATUSES, limit=MANY)
    questions = await tx.questions.put_to(person.id)
    left, what_now = [], []
    if ideas:
        numbers = ", ".join(f"#{idea.id}" for idea in sorted(ideas, key=lambda idea: idea.id))
        left.append(f"{plural(len(ideas), 'open idea')} they own ({numbers})")
        each = "it" if len(ideas) == 1 else "each"
        what_now.append(f"`owner {min(idea.id for idea in ideas)} @someone` passes {each} on")
    if questions:
        numbers = ", ".join(f"#{question.id}" for question in questions)
        left.append(f"{plural(len(questions), 'unanswered question')} put to them ({numbers})")
        what_now.append(f"any senior leader may answer {'it' if len(questions) == 1 else 'them'}")
    if not left:
        return None
    return f"{person.handle} leaves {' and '.join(left)}: {'; '.join(what_now)}"


def _renamed(line: int, handle: str, was: str, name: str, *, taken: Collection[str]) -> str:
    """Why a row that gives someone in the directory another name is refused without ``allow_renames``
    (``taken``: the handles in the directory, read once for the import)."""
    own = _own_handle(handle, name)
    such = f" (such as {own})" if own not in taken else ""
    return (
        f"line {line}: {handle} is {was} in the directory but {name} here. If this is the same person under "
        "a new name, import again with --allow-renames; if it is someone new, give them a handle of their "
        f"own{such}: the old one carries {was}'s questions, ideas and settings"
    )


def _held_elsewhere(
    own: list[Identity],
    known: Person | None,
    holders: Mapping[Identity, int],
    by_id: Mapping[int, Person],
    gives: Mapping[str, set[Identity]],
) -> tuple[Identity, str] | None:
    """An account of ``own`` that someone else in the directory holds, and their handle, unless the file
    has a row for them without it (so the file itself moves it); None if there is none."""
    for account in own:
        holder = by_id.get(holders.get(account, -1))
        if holder is None or (known is not None and holder.id == known.id):
            continue
        theirs = gives.get(holder.handle.lower())
        if theirs is None or account in theirs:
            return account, holder.handle
    return None


def _accounts(row: Mapping[str, str]) -> list[Identity]:
    """The Slack and Teams accounts a row gives (``_check`` made sure each has its workspace or tenant)."""
    found = []
    if _cell(row, "slack_user_id"):
        found.append(Identity("slack", _cell(row, "slack_team_id"), _cell(row, "slack_user_id")))
    if _cell(row, "teams_user_id"):  # GUIDs: Teams sends them in lower case, an export may not
        tenant, user = _cell(row, "teams_tenant").lower(), _cell(row, "teams_user_id").lower()
        found.append(Identity("teams", tenant, user))
    return found


async def _moves_team_under_itself(directory: DirectoryRepo, line: int, row: Mapping[str, str]) -> str | None:
    """The mistake in putting the row's team under its parent team when the parent is inside that team."""
    name, parent_name = _cell(row, "team"), _cell(row, "parent_team")
    above = await directory.team_by_name(parent_name) if name and parent_name else None
    while above is not None:
        if above.name.lower() == name.lower():
            handle = _cell(row, "handle").lower().lstrip("@")
            return f"line {line}: {handle}: team {name!r} cannot go under {parent_name!r}, which is inside it"
        above = await directory.get_team(above.parent_id) if above.parent_id is not None else None
    return None
