"""Made-up answers from the rest of the staff, so the demo and the console have results to show.

At the console one person answers at a time, and results are withheld from any team where fewer than five
answered, so without this a demo never shows any. The answers go through the core as the people's own taps
and words would: nothing here writes to the database itself.
"""

from __future__ import annotations

import math
import random
from collections import Counter

from adapters.console import Answered, console_identity
from adapters.console.sender import PLATFORM
from dialogue.directory import Person
from dialogue.events import Chose, Said
from dialogue.flows.surveys import ANSWER_ACTION
from dialogue.ports import Store
from dialogue.service import Dialogue
from dialogue.surveys import ItemKind, Survey, SurveyItem

REAL_PEOPLE = (
    "/others makes up answers, so it runs only where nobody is on Slack or Teams (the demo, or a trial "
    "database): here real people are, and their results would never be told apart from made-up ones"
)
RESPONSE_RATE = 0.8  # of the staff asked, as many answer as in a pulse people trust
SKIP_RATE = 0.3  # written questions left blank
STEPS = 60  # answers one person gives at most: every question of every open run, with room to spare
# Short, as people write on a phone; few enough that some come twice, as they do in real answers.
WRITTEN = (
    "Fewer last-minute rota changes",
    "Laptops that work in the van",
    "More time between visits",
    "Parking near the flats",
    "A quicker answer from IT",
    "Team meetings that don't clash with visits",
    "Being told about changes before they happen",
    "Cover for sickness on weekends",
    "Less paperwork after each visit",
    "Thanks from managers when it goes well",
)


async def others_answer(dialogue: Dialogue, store: Store, *, but: str) -> Answered:
    """Have every staff member but ``but`` (a handle) who has pulse or check-in questions waiting answer
    them, or leave them, as people do: in each team about four in five answer, and each team leans its own
    way, so results differ between teams. The same run always gets the same answers."""
    async with store.transaction(read_only=True) as tx:
        staff = [p for p in await tx.directory.people() if not p.is_manager and p.handle != but.lower()]
        reached = await tx.directory.reachable([p.id for p in staff])
    if any(identity.platform != PLATFORM for found in reached.values() for identity in found):
        # Made-up answers among real ones could never be told apart again (anonymous answers name nobody).
        return Answered((), 0, (), refused=REAL_PEOPLE)
    teams: dict[int, list[str]] = {}
    for person in staff:
        teams.setdefault(_team(person), []).append(person.handle)
    answered: list[str] = []
    surveys: Counter[str] = Counter()
    asked = 0
    for person in staff:
        names = await _answer_for(dialogue, store, person, teams[_team(person)])
        if names is None:
            continue
        asked += 1
        if names:
            answered.append(person.handle)
            surveys.update(names)
    return Answered(tuple(answered), asked, tuple(sorted(surveys.items())))


async def _answer_for(dialogue: Dialogue, store: Store, person: Person, mates: list[str]) -> set[str] | None:
    """Answer what waits for one person; the names of the surveys answered (empty when they chose not to
    answer), or None when nothing waited."""
    who = console_identity(person.handle)
    runs: dict[int, Survey | None] = {}  # None: this person leaves that run unanswered
    waited = False
    for _ in range(STEPS):
        waiting = [ref for ref in sorted(await dialogue.unanswered(person.id)) if runs.get(_run(ref), True)]
        async with store.transaction(read_only=True) as tx:
            awaiting = await tx.conversations.awaiting(person.id)
        written = awaiting if awaiting and awaiting.startswith("item:") else None
        if not waiting and written is None:
            break
        waited = True
        ref = waiting[0] if waiting else written.removeprefix("item:") if written else ""
        run_id, item_id = (int(part) for part in ref.split(":"))
        if run_id not in runs:
            runs[run_id] = await _survey(store, run_id) if _answers(person.handle, mates, run_id) else None
        survey = runs[run_id]
        if survey is None:
            if waiting:
                continue
            break  # a written question of a run left unanswered: nothing else can come before it
        item = next(i for i in survey.items if i.id == item_id)
        # Each team leans its own way, and drifts a little from run to run (a swing of 100 eNPS points in a
        # week, made up, would have a director asking what happened).
        team = _team(person)
        leaning = random.Random(f"team:{team}").uniform(-0.9, 0.9)
        mood = leaning + random.Random(f"{team}:{run_id}").uniform(-0.2, 0.2)
        rng = random.Random(f"{person.handle}:{run_id}:{item_id}")
        if waiting:
            await dialogue.handle(Chose(who, ANSWER_ACTION, ref, _pick(item, mood, rng)))
        else:
            words = "skip" if rng.random() < SKIP_RATE else rng.choice(WRITTEN)
            await dialogue.handle(Said(who, words))
    if not waited:
        return None
    return {survey.name for survey in runs.values() if survey is not None}


def _team(person: Person) -> int:
    return person.team_ids[0] if person.team_ids else 0


def _run(ref: str) -> int:
    return int(ref.partition(":")[0])


def _answers(handle: str, mates: list[str], run_id: int) -> bool:
    """Whether ``handle`` answers run ``run_id``: the same share in every team does (a team of six has five
    answers, so its figures show; one of five has four, so they are withheld)."""
    ranked = sorted(mates, key=lambda mate: random.Random(f"{mate}:{run_id}").random())
    return ranked.index(handle) < math.ceil(RESPONSE_RATE * len(mates))


async def _survey(store: Store, run_id: int) -> Survey | None:
    async with store.transaction(read_only=True) as tx:
        run = await tx.surveys.get_occurrence(run_id)
        return None if run is None else await tx.surveys.get_survey(run.target_id)


def _pick(item: SurveyItem, mood: float, rng: random.Random) -> str:
    """A button's value for ``item``: ``mood`` (-1.1 to 1.1) is how well the person's team feels it goes."""
    if item.kind is ItemKind.SCALE:
        return str(round(min(5.0, max(1.0, rng.gauss(3.6 + mood, 0.8)))))
    if item.kind is ItemKind.ENPS:
        return str(round(min(10.0, max(0.0, rng.gauss(7.5 + 1.5 * mood, 1.5)))))
    if item.kind is ItemKind.YES_NO:
        return "yes" if rng.random() < 0.65 + 0.2 * mood else "no"
    favourite = int((mood + 1.1) / 2.2 * len(item.options)) % len(item.options)
    weights = [3 if n == favourite else 1 for n in range(len(item.options))]
    return str(rng.choices(range(len(item.options)), weights)[0])
