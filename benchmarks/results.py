"""Results benchmark: ``pulse results`` (per-team figures under the k rule, and the trend) over many answers.

    python -m benchmarks.results [--answers 100000] [--database sqlite|postgres|both] [--repeat 5]

It builds a directory of teams of varied sizes (some under the minimum group size, so withholding and
complementary suppression both happen), a two-question pulse (a 1-5 scale and eNPS) and several runs of it,
each sent to everyone and answered by most; the answers are written straight into the tables in bulk.
Then it times the ``pulse results`` command exactly as a manager runs it (``Dialogue.command_as``: the
latest run's per-team figures, and the trend across runs, counted in the database), ``--repeat``
times after one warm-up, and prints the median and the worst. Last, it times what closing the latest run
adds: its answers written again at once, in keyed-hash order (``SurveyRepo.settle_answers``).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import statistics
import sys
import tempfile
import time
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import func, insert, select, update

from benchmarks.fanout import DEFAULT_POSTGRES, database
from bot.bootstrap import App, build_app
from bot.cli import check_cron
from bot.settings import Settings
from dialogue.programme import load_programme
from dialogue.surveys import OccurrenceKind, SurveyKind
from storage.directory import name_key
from storage.models import (
    AnswerRow,
    MembershipRow,
    OccurrenceRow,
    PersonRoleRow,
    PersonRow,
    RecipientRow,
    TeamRow,
)

MANAGER = "boss"
PULSE_NAME = "Results pulse"
PROGRAMME = f"""
[[pulse]]
name = "{PULSE_NAME}"
open_hours = 48

[[pulse.question]]
kind = "scale"
text = "I can suggest improvements."

[[pulse.question]]
kind = "enps"
text = "How likely are you to recommend working here?"
"""
ITEMS = 2  # questions in the pulse: every respondent answers both
RESPONSE_RATE = 0.8
# Team sizes, repeated: a few under k=5 (withheld), a few just over (protecting them), most comfortably over.
TEAM_SIZES = (3, 8, 25, 40, 4, 12, 60, 30, 6, 45, 2, 20)
FIRST_RUN = datetime(2026, 9, 7, 9, 0, tzinfo=UTC)
CHUNK = 5_000  # rows per executemany


@dataclass
class ResultsFigures:
    """What one engine measured."""

    database: str
    answers: int
    runs: int
    people: int
    teams: int
    load_seconds: float  # writing the directory, runs and answers
    timings: list[float]  # seconds of each timed `pulse results`
    median: float
    worst: float
    best: float
    withheld_lines: int  # group lines the reply withholds (the k rule at work)
    team_lines: int  # group lines in the reply (shown or withheld)
    has_trend: bool
    reply: str
    settle_seconds: float  # the latest run's answers written again, as its close does
    settled: int  # how many answers that was


def plan(answers: int, runs: int) -> tuple[int, int]:
    """``(people, respondents per run)`` so the runs hold exactly ``answers`` answers (rounded down to whole
    respondents), with about ``RESPONSE_RATE`` of the people answering each run."""
    per_run = max(1, answers // (runs * ITEMS))
    return max(per_run + 1, math.ceil(per_run / RESPONSE_RATE)), per_run


async def _bulk(app: App, table: Any, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` with executemany, in chunks, each chunk its own transaction."""
    for start in range(0, len(rows), CHUNK):
        async with app.store.engine.begin() as db:
            await db.execute(insert(table), rows[start : start + CHUNK])


async def load(app: App, *, answers: int, runs: int, seed: int = 7) -> tuple[int, int, int]:
    """Write the directory, the pulse, its runs, recipients and answers; returns (people, teams, answers)."""
    rng = random.Random(seed)
    people, per_run = plan(answers, runs)
    sizes: list[int] = []
    while sum(sizes) < people - 1:
        sizes.append(TEAM_SIZES[len(sizes) % len(TEAM_SIZES)])
    team_rows = [
        {"id": i + 1, "name": f"Team {i + 1:04d}", "name_key": f"team {i + 1:04d}"}
        for i in sizes and range(len(sizes))
    ]
    await _bulk(app, TeamRow, team_rows)
    team_of = [t + 1 for t, size in enumerate(sizes) for _ in range(size)][: people - 1]
    person_rows = [
        {
            "id": 1,
            "handle": MANAGER,
            "handle_key": name_key(MANAGER),
            "display_name": "The Manager",
            "time_zone": "Europe/London",
            "active": True,
        }
    ] + [
        {
            "id": n + 2,
            "handle": f"p{n:06d}",
            "handle_key": f"p{n:06d}",
            "display_name": f"Person {n}",
            "time_zone": "Europe/London",
            "active": True,
        }
        for n in range(len(team_of))
    ]
    await _bulk(app, PersonRow, person_rows)
    await _bulk(
        app,
        PersonRoleRow,
        [{"person_id": 1, "role": "manager"}]
        + [{"person_id": n + 2, "role": "staff"} for n in range(len(team_of))],
    )
    await _bulk(
        app,
        MembershipRow,
        [{"person_id": n + 2, "team_id": team, "position": 0} for n, team in enumerate(team_of)],
    )
    await load_programme(app.store, tomllib.loads(PROGRAMME), check_cron=check_cron)
    async with app.store.transaction() as tx:
        survey = next(s for s in await tx.surveys.surveys(SurveyKind.PULSE) if s.name == PULSE_NAME)
        occurrences = []
        for run in range(runs):
            opens = FIRST_RUN + timedelta(weeks=run)
            occurrence = await tx.surveys.add_occurrence(
                key=f"bench:{run}",
                kind=OccurrenceKind.PULSE,
                target_id=survey.id,
                opens_at=opens,
                closes_at=opens + timedelta(hours=48),
                remind_at=None,
                schedule_id=None,
            )
            assert occurrence is not None
            occurrences.append(occurrence.id)
    async with app.store.engine.begin() as db:
        await db.execute(update(OccurrenceRow).values(closed=True))
    everyone = [(n + 2, team) for n, team in enumerate(team_of)]
    written = 0
    for occurrence_id in occurrences:
        await _bulk(
            app,
            RecipientRow,
            [{"occurrence_id": occurrence_id, "person_id": p, "team_id": team} for p, team in everyone],
        )
        rows = []
        for person_id, team in rng.sample(everyone, per_run):
            respondent = app.pseudonymiser.respondent(occurrence_id, person_id)
            for item, top in zip(survey.items, (5, 10), strict=True):
                low = 1 if top == 5 else 0
                rows.append(
                    {
                        "occurrence_id": occurrence_id,
                        "item_id": item.id,
                        "respondent": respondent,
                        "team_id": team,
                        "number": rng.randint(low, top),
                        "text": None,
                    }
                )
        await _bulk(app, AnswerRow, rows)
        written += len(rows)
    for occurrence_id in occurrences:  # as each run's close did: answers settled, respondents kept
        async with app.store.transaction() as tx:
            await tx.surveys.settle_answers(occurrence_id)
    return len(person_rows), len(team_rows), written


async def measure(
    kind: str,
    *,
    answers: int = 100_000,
    runs: int = 5,
    repeat: int = 5,
    postgres_url: str = DEFAULT_POSTGRES,
) -> ResultsFigures:
    """Load ``answers`` answers over ``runs`` runs on a fresh ``kind`` database and time ``pulse results``."""
    with tempfile.TemporaryDirectory(prefix="results-") as tmp:
        async with database(kind, Path(tmp), postgres_url) as url:
            settings = Settings(
                data_dir=Path(tmp), secret_key=b"results-benchmark-secret-0000", database_url=url
            )
            app = await build_app(settings)
            try:
                started = time.perf_counter()
                people, teams, written = await load(app, answers=answers, runs=runs)
                loaded = time.perf_counter() - started
                command = f"pulse results {PULSE_NAME}"
                await app.dialogue.command_as(MANAGER, command)  # warm-up: connections, statement caches
                timings = []
                reply = None
                for _ in range(repeat):
                    started = time.perf_counter()
                    reply = await app.dialogue.command_as(MANAGER, command)
                    timings.append(time.perf_counter() - started)
                async with app.store.engine.connect() as db:
                    latest = (await db.execute(select(func.max(OccurrenceRow.id)))).scalar_one()
                started = time.perf_counter()
                async with app.store.transaction() as tx:
                    settled = await tx.surveys.settle_answers(latest)
                settle_seconds = time.perf_counter() - started
            finally:
                await app.close()
    assert reply is not None
    shown = "\n".join(message.fallback() for message in reply.messages)
    # Per-team figures of each question: a line each ("  Team 0001: n=8, ..."), and those withheld named
    # together, a line a reason ("  Withheld, fewer than 5 answers: Team 0002, Team 0003").
    lines = [
        line for line in shown.splitlines() if line.startswith("  ") and not line.startswith("  Everyone:")
    ]
    withheld = sum(
        len(line.split(": ", 1)[1].split(", ")) for line in lines if line.startswith("  Withheld, ")
    )
    shown_teams = sum(1 for line in lines if ": n=" in line)
    return ResultsFigures(
        database=kind,
        answers=written,
        runs=runs,
        people=people,
        teams=teams,
        load_seconds=loaded,
        timings=timings,
        median=statistics.median(timings),
        worst=max(timings),
        best=min(timings),
        withheld_lines=withheld,
        team_lines=shown_teams + withheld,
        has_trend="Trend across runs" in shown,
        reply=shown,
        settle_seconds=settle_seconds,
        settled=settled,
    )


def print_report(figures: Sequence[ResultsFigures], out: TextIO = sys.stdout) -> None:
    """The figures as a table."""
    head = (
        f"{'database':9} {'answers':>8} {'runs':>4} {'people':>7} {'teams':>6} {'load s':>7} "
        f"{'median ms':>9} {'max ms':>7} {'min ms':>7} {'withheld':>8} {'trend':>5} "
        f"{'close: answers, ms':>19}"
    )
    print(head, file=out)
    print("-" * len(head), file=out)
    for f in figures:
        print(
            f"{f.database:9} {f.answers:8d} {f.runs:4d} {f.people:7d} {f.teams:6d} {f.load_seconds:7.1f} "
            f"{f.median * 1000:9.1f} {f.worst * 1000:7.1f} {f.best * 1000:7.1f} "
            f"{f.withheld_lines:>3}/{f.team_lines:<4} {'yes' if f.has_trend else 'no':>5} "
            f"{f.settled:>10d}, {f.settle_seconds * 1000:6.0f}",
            file=out,
        )


async def main_async(args: argparse.Namespace, out: TextIO = sys.stdout) -> list[ResultsFigures]:
    """Measure each requested engine and print the report; returns the figures."""
    kinds = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    figures = []
    for kind in kinds:
        figures.append(
            await measure(
                kind, answers=args.answers, runs=args.runs, repeat=args.repeat, postgres_url=args.postgres_url
            )
        )
    print_report(figures, out)
    if args.show_reply and figures:
        print(figures[-1].reply, file=out)
    return figures


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.results", description=__doc__.split("\n")[0])
    parser.add_argument("--answers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5, help="runs of the pulse (the trend shows up to 6)")
    parser.add_argument(
        "--repeat", type=int, default=5, help="timed `pulse results` calls, after one warm-up"
    )
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument(
        "--postgres-url", default=os.environ.get("NEXTPRACTICE_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    )
    parser.add_argument(
        "--show-reply", action="store_true", help="print the last reply, to see what was timed"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> list[ResultsFigures]:
    """Entry point: ``python -m benchmarks.results``."""
    return asyncio.run(main_async(parse_args(argv)))


if __name__ == "__main__":
    main()
