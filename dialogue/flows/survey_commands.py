"""The ``pulse`` and ``checkin`` commands: list, send, results, close, and a check-in reply."""

from __future__ import annotations

from dataclasses import replace

from dialogue.args import Args
from dialogue.directory import Person
from dialogue.errors import Refusal
from dialogue.flows import checkins
from dialogue.flows.env import Env
from dialogue.flows.surveys import close_run, render_result, run_result, start_run, trend
from dialogue.formatting import day, plural, when
from dialogue.messages import Message, Reply
from dialogue.surveys import Occurrence, OccurrenceKind, Survey, SurveyKind
from dialogue.text import Text, lines, t, user


async def find_survey(env: Env, args: Args, kind: SurveyKind) -> Survey:
    """A survey named by the rest of the arguments (name or number)."""
    name = args.rest().strip().strip("\"'“”")
    if not name:
        raise Refusal(f"Please name the {kind.value}. `{kind.value} list` shows them.")
    survey = None
    if name.lstrip("#").isdigit():
        survey = await env.tx.surveys.get_survey(int(name.lstrip("#")))
    survey = survey or await env.tx.surveys.survey_by_name(name)
    if survey is None or survey.kind is not kind:
        raise Refusal(f"There is no {kind.value} called {name!r}. `{kind.value} list` shows them.")
    return survey


async def latest_run(env: Env, survey: Survey, *, open_only: bool = False) -> Occurrence:
    """The survey's newest run (newest open one when ``open_only``)."""
    runs = await env.tx.surveys.occurrences(
        kind=OccurrenceKind(survey.kind.value), target_id=survey.id, limit=12
    )
    if open_only:
        runs = [r for r in runs if not r.closed]
    if not runs:
        raise Refusal(f"“{survey.name}” has no {'open ' if open_only else ''}run yet.")
    return runs[0]


async def cmd_pulse(env: Env, me: Person, args: Args) -> Reply:
    """``pulse list | send NAME | results NAME | close NAME`` (managers)."""
    return await survey_command(env, me, args, SurveyKind.PULSE)


async def cmd_checkin(env: Env, me: Person, args: Args) -> Reply:
    """``checkin list | send NAME | results NAME | close NAME | reply RUN TEXT`` (senior leaders)."""
    return await survey_command(env, me, args, SurveyKind.CHECKIN)


async def survey_command(env: Env, me: Person, args: Args, kind: SurveyKind) -> Reply:
    """The shared sub-commands of ``pulse`` and ``checkin``."""
    sub = args.word(f"what to do, e.g. `{kind.value} list`").lower()
    if sub == "list":
        return await _list(env, me, kind)
    if sub == "send":
        survey = await find_survey(env, args, kind)
        started = await start_run(
            env, survey, key=f"manual:{survey.id}:{env.now.isoformat()}:{me.id}", schedule_id=None
        )
        if started is None:
            raise Refusal("That was just sent. Please wait a moment before sending again.")
        occurrence, count = started
        return Reply(
            messages=(
                Message(
                    t(
                        "Sent “",
                        user(survey.name),
                        f"” to {plural(count, 'person', 'people')}. "
                        f"It closes {when(occurrence.closes_at, me)}.",
                    )
                ),
            )
        )
    if sub == "results":
        survey = await find_survey(env, args, kind)
        run = await latest_run(env, survey)
        result = await run_result(env, survey, run)
        body = render_result(survey, run, result, me)
        history = await trend(env, survey, me, known={run.id: result})
        return Reply(
            messages=(
                Message(
                    lines(body, history) if history else body,
                    context=f"Groups under {env.settings.min_group_size} are withheld.",
                ),
            )
        )
    if sub == "close":
        survey = await find_survey(env, args, kind)
        run = await latest_run(env, survey, open_only=True)
        await finish(env, run)
        return Reply(
            messages=(
                Message(
                    t(
                        "Closed “",
                        user(survey.name),
                        f"”. `{kind.value} results {survey.name}` shows the results.",
                    )
                ),
            )
        )
    if sub == "reply" and kind is SurveyKind.CHECKIN:
        return await checkins.reply(env, me, args.number("the check-in run number"), args.rest())
    extra = ", close or reply" if kind is SurveyKind.CHECKIN else " or close"
    raise Refusal(f"I don't know `{kind.value} {sub}`. Try list, send, results{extra}.")


async def _list(env: Env, me: Person, kind: SurveyKind) -> Reply:
    surveys = await env.tx.surveys.surveys(kind)
    if not surveys:
        return Reply(messages=(Message(t(f"No {kind.value}s are set up yet.")),))
    out: list[Text | str] = [f"{kind.value.capitalize()}s:"]
    for survey in surveys:
        runs = await env.tx.surveys.occurrences(kind=OccurrenceKind(kind.value), target_id=survey.id, limit=1)
        last = (
            f"last run {day(runs[0].opens_at, me)}" + (" (closed)" if runs[0].closed else " (open)")
            if runs
            else "never run"
        )
        out.append(
            t(f"#{survey.id} ", user(survey.name), f" — {plural(len(survey.items), 'question')}, {last}")
        )
    return Reply(messages=(Message(lines(*out)),))


async def finish(env: Env, occurrence: Occurrence) -> None:
    """Close a run and, for a check-in, send its owner the digest."""
    survey = await close_run(env, occurrence)
    if survey is not None and survey.kind is SurveyKind.CHECKIN:
        await checkins.send_digest(env, survey, replace(occurrence, closed=True))
