"""Loading the programme (campaigns, pulses and check-ins with their schedules) from plain data.

The CLI reads a TOML file into this shape; loading is all-or-nothing, so a file with a
mistake changes nothing and every mistake is reported at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from dialogue.directory import Audience, Person
from dialogue.formatting import shorten
from dialogue.ports import Repositories, Store
from dialogue.schedules import LOCAL_TIME
from dialogue.surveys import ItemKind, OccurrenceKind, Survey, SurveyKind, fit_owner, owner_role

CronCheck = Callable[[str, str], str | None]  # (cron, zone) -> problem or None
CronGap = Callable[[str, str, int], float | None]  # (cron, zone, weeks) -> fewest hours between two runs
WEEKS_MAX = 8  # every_weeks: a run every other week up to every eighth (a quarterly one is a cron's months)
Item = tuple[ItemKind, str, tuple[str, ...]]  # a question as the programme gives it: kind, text, options


class ProgrammeError(Exception):
    """The programme has mistakes; nothing was changed."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


@dataclass
class ProgrammeReport:
    """What was loaded."""

    campaigns: list[str] = field(default_factory=list)
    pulses: list[str] = field(default_factory=list)
    checkins: list[str] = field(default_factory=list)
    schedules: int = 0


# The longest texts a programme may hold, in characters: what reads on a phone, and what every part of a
# pulse question (its intro, text and buttons) fits in one message, updated in place once answered.
LONGEST = {"name": 80, "priority": 200, "prompt": 500, "intro": 1000, "text": 300, "owner": 80}
# A choice's words are its button: Slack shows 75 characters of one.
OPTION_MAX = 75


def _text(
    entry: Mapping[str, Any], key: str, where: str, problems: list[str], *, required: bool = True
) -> str:
    value = entry.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()):
        problems.append(f"{where}: `{key}` must be {'a non-empty ' if required else 'a '}text")
        return ""
    if len(value.strip()) > LONGEST[key]:
        problems.append(
            f"{where}: `{key}` is {len(value.strip())} characters long; keep it to {LONGEST[key]} "
            "(people read it on a phone)"
        )
    return value.strip()


def _int(
    entry: Mapping[str, Any], key: str, default: int | None, where: str, problems: list[str]
) -> int | None:
    value = entry.get(key, default)
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 24 * 60):
        return value
    problems.append(f"{where}: `{key}` must be a whole number of hours between 1 and 1440")
    return default


async def _audience(tx: Repositories, entry: Mapping[str, Any], where: str, problems: list[str]) -> Audience:
    names = entry.get("audience", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        problems.append(f"{where}: `audience` must be a list of team names (or left out for everyone)")
        return Audience()
    ids = []
    for name in names:
        team = await tx.directory.team_by_name(name)
        if team is None:
            problems.append(f"{where}: unknown team {name!r} in `audience` (import the directory first)")
        else:
            ids.append(team.id)
    return Audience(tuple(ids))


def _schedule(
    entry: Mapping[str, Any], where: str, problems: list[str], check: CronCheck | None
) -> tuple[str, str, int] | None:
    """The entry's schedule as (cron, zone, every_weeks), or None (none, or wrong: then ``problems`` says
    why)."""
    schedule = entry.get("schedule")
    if schedule is None:
        return None
    if not isinstance(schedule, Mapping):
        problems.append(
            f'{where}: `schedule` must look like {{ cron = "0 9 * * MON", time_zone = "Europe/London" }}'
        )
        return None
    _known_keys(schedule, "schedule", f"{where} schedule", problems)
    cron = str(schedule.get("cron", "")).strip()
    zone_name = str(schedule.get("time_zone", "")).strip()
    # Every mistake in it is listed at once (a wrong zone must not hide a wrong cron until it is fixed).
    found = len(problems)
    zone_ok = True
    if not zone_name:
        problems.append(
            f'{where}: `schedule` needs a `time_zone`: an IANA name such as "Europe/London", or "local"'
        )
        zone_ok = False
    elif zone_name != LOCAL_TIME:
        try:
            ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(
                f'{where}: unknown time zone {zone_name!r} (an IANA name or "local"){_meant(zone_name)}'
            )
            zone_ok = False
        if zone_ok and _fixed_offset(zone_name):
            problems.append(
                f"{where}: time zone {zone_name!r} never follows summer time, so the schedule would run an "
                'hour off for half the year; give the place, such as "Europe/London" or "America/New_York" '
                '(or "UTC" if that is what you mean)'
            )
    if len(cron.split()) != 5:
        problems.append(f"{where}: schedule cron {cron!r} needs five fields: minute hour day month weekday")
    elif check is not None and (problem := check(cron, zone_name if zone_ok else "UTC")):
        problems.append(f"{where}: {problem}")
    weeks = schedule.get("every_weeks", 1)
    if not (isinstance(weeks, int) and not isinstance(weeks, bool) and 1 <= weeks <= WEEKS_MAX):
        problems.append(
            f"{where}: schedule `every_weeks` must be a whole number from 1 to {WEEKS_MAX} (2: every other "
            "week its cron matches)"
        )
    return (cron, zone_name, weeks) if len(problems) == found else None


def _fixed_offset(zone_name: str) -> bool:
    """Whether a zone reads as a place's time but is a fixed offset: "GMT" meant as UK time sent a 09:00 pulse
    at 10:00 all summer."""
    fixed = {"GMT", "GMT0", "GMT+0", "GMT-0", "GREENWICH", "EST", "MST", "HST", "UCT"}
    return zone_name.upper() in fixed or (zone_name.startswith("Etc/") and zone_name != "Etc/UTC")


def _meant(zone_name: str) -> str:
    """ "; did you mean 'Europe/London'?" for "London" or "europe/london", when one zone fits."""
    typed = zone_name.strip().casefold().replace(" ", "_")
    fits = sorted(
        zone
        for zone in available_timezones()
        if zone.casefold() == typed or zone.casefold().endswith("/" + typed)
    )
    return f"; did you mean {fits[0]!r}?" if len(fits) == 1 else ""


_SURVEY_KEYS = {
    "name",
    "intro",
    "audience",
    "schedule",
    "question",
    "open_hours",
    "remind_after_hours",
    "anonymous",
}
_KEYS = {
    "campaign": {"name", "priority", "prompt", "audience", "schedule"},
    "pulse": _SURVEY_KEYS | {"owner"},
    "checkin": _SURVEY_KEYS | {"owner"},
    "question": {"kind", "text", "options"},
    "schedule": {"cron", "time_zone", "every_weeks"},
}


def _known_keys(entry: object, kind: str, where: str, problems: list[str]) -> None:
    """A key the bot does not read is most likely misspelt: silently ignored, its setting would be lost."""
    if isinstance(entry, Mapping) and (unknown := sorted(set(entry) - _KEYS[kind])):
        known = ", ".join(sorted(_KEYS[kind]))
        problems.append(f"{where}: unknown {', '.join(f'`{key}`' for key in unknown)} (known: {known})")


def _tables(value: Any, section: str, where: str, problems: list[str]) -> list[Mapping[str, Any]]:
    """The tables of an array of tables (``[[pulse]]``); a plain ``[pulse]`` table or a value is a mistake."""
    if value is None or value == []:
        return []
    if isinstance(value, list) and all(isinstance(table, Mapping) for table in value):
        return value
    problems.append(f"{where}`{section}` must be written [[{section}]], once for each, its keys below it")
    return []


def _items(entry: Mapping[str, Any], section: str, where: str, problems: list[str]) -> list[Item]:
    raw = _tables(entry.get("question"), f"{section}.question", f"{where}: ", problems)
    if not raw:
        problems.append(f"{where}: add at least one [[{section}.question]] with a kind and text")
        return []
    items = []
    for n, question in enumerate(raw, start=1):
        at = f"{where} question {n}"
        _known_keys(question, "question", at, problems)
        try:
            kind = ItemKind(str(question.get("kind", "")))
        except ValueError:
            kinds = ", ".join(k.value for k in ItemKind)
            problems.append(f"{at}: `kind` must be one of {kinds}")
            continue
        text = _text(question, "text", at, problems)
        options = question.get("options", [])
        if kind is ItemKind.CHOICE and (
            not isinstance(options, list)
            or not 2 <= len(options) <= 10
            or not all(isinstance(o, str) for o in options)
        ):
            problems.append(f"{at}: a choice question needs 2 to 10 text `options`")
            continue
        if kind is ItemKind.CHOICE:
            labels = [option.strip() for option in options]
            if any(not label or len(label) > OPTION_MAX for label in labels):
                problems.append(
                    f"{at}: each option must be 1 to {OPTION_MAX} characters (it is a button's words)"
                )
            elif len({label.casefold() for label in labels}) < len(labels):
                problems.append(f"{at}: two options read the same; people could not tell them apart")
        if kind is not ItemKind.CHOICE and "options" in question:
            problems.append(f"{at}: `options` are only for choice questions (this one is {kind.value})")
            continue
        items.append((kind, text, tuple(o.strip() for o in options) if kind is ItemKind.CHOICE else ()))
    return items


async def load_programme(
    store: Store,
    data: Mapping[str, Any],
    *,
    check_cron: CronCheck | None = None,
    cron_gap: CronGap | None = None,
    now: datetime | None = None,
) -> ProgrammeReport:
    """Create or update every campaign, pulse and check-in in ``data`` and set their schedules.

    ``now``: a schedule set or changed now never fires for an earlier time (see ``Schedule.since``).

    Raises :class:`ProgrammeError` listing every problem; then nothing is changed.
    """
    problems: list[str] = []
    report = ProgrammeReport()
    unknown = set(data) - {"campaign", "pulse", "checkin"}
    if unknown:
        problems.append(
            f"unknown section(s) {', '.join(sorted(unknown))}: use [[campaign]], [[pulse]], [[checkin]]"
        )
    # Names are unique case-insensitively (pulses and check-ins share theirs): a second entry of the same
    # name would silently replace the first.
    named: dict[tuple[str, str], str] = {}

    def once(space: str, name: str, where: str) -> None:
        if not name.strip():
            return  # already reported as missing
        first = named.setdefault((space, name.strip().casefold()), where)
        if first != where:
            problems.append(f"{where}: the name {name.strip()!r} is already used by {first}")

    async with store.transaction() as tx:
        for n, entry in enumerate(_tables(data.get("campaign"), "campaign", "", problems), start=1):
            where = _where("campaign", n, entry)
            _known_keys(entry, "campaign", where, problems)
            name = _text(entry, "name", where, problems)
            once("campaign", name, where)
            priority = _text(entry, "priority", where, problems)
            prompt = _text(entry, "prompt", where, problems)
            audience = await _audience(tx, entry, where, problems)
            schedule = _schedule(entry, where, problems, check_cron)
            if problems:
                continue
            campaign = await tx.ideas.add_campaign(
                name=name, priority=priority, prompt=prompt, audience=audience
            )
            report.campaigns.append(name)
            report.schedules += await _set_schedule(tx, OccurrenceKind.CAMPAIGN, campaign.id, schedule, now)
        for kind in (SurveyKind.PULSE, SurveyKind.CHECKIN):
            for n, entry in enumerate(_tables(data.get(kind.value), kind.value, "", problems), start=1):
                where = _where(kind.value, n, entry)
                _known_keys(entry, kind.value, where, problems)
                name = _text(entry, "name", where, problems)
                once("survey", name, where)
                intro = _text(entry, "intro", where, problems, required=False)
                audience = await _audience(tx, entry, where, problems)
                schedule = _schedule(entry, where, problems, check_cron)
                items = _items(entry, kind.value, where, problems)
                before = len(problems)
                open_hours = _int(entry, "open_hours", 72, where, problems) or 72
                hours_ok = len(problems) == before  # else the checks below would quote the default as theirs
                # 0: no reminder at all (a short pulse to a team that answers anyway)
                remind = (
                    None
                    if entry.get("remind_after_hours") == 0
                    else _int(entry, "remind_after_hours", 24, where, problems)
                )
                gap = cron_gap(*schedule) if schedule and cron_gap else None
                if (
                    hours_ok and gap is not None and open_hours >= gap
                ):  # the next run would find it open, and not start
                    problems.append(
                        f"{where}: `open_hours` ({open_hours}) must be less than the {gap:g} hours between "
                        "its runs: a run still open when the next is due makes that one skip"
                    )
                if hours_ok and remind is not None and remind >= open_hours and "remind_after_hours" in entry:
                    problems.append(
                        f"{where}: `remind_after_hours` ({remind}) must be less than `open_hours` "
                        f"({open_hours}): the run closes before the reminder would go"
                    )
                anonymous = entry.get("anonymous", True)
                if not isinstance(anonymous, bool):
                    problems.append(f"{where}: `anonymous` must be true or false")
                owner_id = None
                # A check-in's owner is required; a pulse's is optional: who gets its results at close
                # and writes its "you said, we did" (without one, any manager may).
                checkin = kind is SurveyKind.CHECKIN
                if (checkin or "owner" in entry) and (handle := _text(entry, "owner", where, problems)):
                    owner = await tx.directory.person_by_handle(handle.lstrip("@"))
                    role = owner_role(kind)
                    if owner is None or not fit_owner(owner, kind):
                        problems.append(
                            f"{where}: `owner` must be the handle of a {role} ({handle!r} is "
                            f"{_unfit(owner, role)})"
                        )
                    else:
                        owner_id = owner.id
                if problems:
                    continue
                existing = await tx.surveys.survey_by_name(name)
                if existing is not None:
                    answered = await tx.surveys.answered_items(existing.id)
                    problems += _answers_kept(existing, kind, items, answered, where)
                    problems += await _not_while_open(tx, existing, items, where)
                    if problems:
                        continue
                survey = await tx.surveys.add_survey(
                    name=name,
                    kind=kind,
                    items=items,
                    audience=audience,
                    anonymous=bool(anonymous),
                    owner_id=owner_id,
                    open_hours=open_hours,
                    remind_after_hours=remind,
                    intro=intro,
                )
                (report.pulses if kind is SurveyKind.PULSE else report.checkins).append(name)
                report.schedules += await _set_schedule(
                    tx, OccurrenceKind(kind.value), survey.id, schedule, now
                )
        if problems:
            raise ProgrammeError(problems)  # rolls the transaction back
    return report


def _where(kind: str, n: int, entry: object) -> str:
    """How a problem names the entry: ``pulse 4 (“Staff wellbeing”)``, so nobody counts blocks by hand."""
    name = entry.get("name") if isinstance(entry, dict) else None
    return f"{kind} {n} (“{shorten(name, 40)}”)" if isinstance(name, str) and name.strip() else f"{kind} {n}"


async def _not_while_open(tx: Repositories, existing: Survey, items: Sequence[Item], where: str) -> list[str]:
    """A run still open keeps its questions: those who finished would never get one added, yet `todo` would
    list the run as theirs to finish, and results would count it only from those still part way."""
    kind = OccurrenceKind(existing.kind.value)
    runs = await tx.surveys.occurrences(kind=kind, target_id=existing.id, limit=1)
    if not runs or runs[0].closed:
        return []
    if [(item.kind, item.text, item.options) for item in existing.items] == list(items):
        return []
    return [
        f"{where}: a run of {existing.name!r} is open until {runs[0].closes_at:%a %d %b %H:%M} UTC, so its "
        f"questions cannot change while people answer them; load this once it closes (`{kind.value} close "
        f"{existing.name}` in the chat closes it now)"
    ]


def _answers_kept(
    existing: Survey, kind: SurveyKind, items: Sequence[Item], answered: set[int], where: str
) -> list[str]:
    """Mistakes in reloading ``existing`` as ``kind`` with ``items``: answers from earlier runs must stay with
    the questions they answered. Questions are kept by position, so a changed question with answers would
    have them count for what it asks now, and a dropped one would take them with it."""
    if existing.kind is not kind:
        return [f"{where}: {existing.name!r} is a {existing.kind.value} already; give this one another name"]
    problems: list[str] = []
    for item in existing.items:
        if item.id not in answered:
            continue  # nobody answered it yet: it may change freely
        asked = f"question {item.position} (“{shorten(item.text, 60)}”) has answers from earlier runs"
        if item.position > len(items):
            problems.append(f"{where}: {asked}; leaving it out would delete them")
        elif items[item.position - 1] != (item.kind, item.text, item.options):
            problems.append(f"{where}: {asked}, which would count for the changed question")
    if problems:
        problems.append(
            f"{where}: keep answered questions as they are (new ones can go after them), or load the changed "
            f"{kind.value} under a new name"
        )
    return problems


async def _set_schedule(
    tx: Repositories,
    kind: OccurrenceKind,
    target_id: int,
    schedule: tuple[str, str, int] | None,
    now: datetime | None,
) -> int:
    if schedule is None:
        await tx.schedules.remove_schedule(kind, target_id)
        return 0
    await tx.schedules.set_schedule(
        kind=kind,
        target_id=target_id,
        cron=schedule[0],
        time_zone=schedule[1],
        since=now,
        every_weeks=schedule[2],
    )
    return 1


def _unfit(owner: Person | None, role: str) -> str:
    """Why someone named as an owner cannot be one."""
    if owner is None:
        return "nobody in the directory"
    if not owner.active:
        return "switched off: the last complete directory import left them out"
    return f"not a {role}"
