"""The ``pulse`` and ``checkin`` commands: list, send, results, close, and a check-in reply."""

from __future__ import annotations

import re
from dataclasses import replace

from dialogue.args import Args
from dialogue.directory import Person
from dialogue.errors import Refusal
from dialogue.flows import checkins, replies
from dialogue.flows.env import Env
from dialogue.flows.surveys import close_run, kind_word, render_result, run_result, start_run, trend
from dialogue.formatting import plural, run_day, when
from dialogue.messages import Message, Reply
from dialogue.names import best_match
from dialogue.surveys import Occurrence, OccurrenceKind, Survey, SurveyKind
from dialogue.text import Text, lines, t, user


async def _owner_runs_it(env: Env, me: Person, survey: Survey, verb: str) -> None:
    """A check-in is its owner's conversation with staff: another leader sending it, or closing it early (its
    digest then withholds nearly everything), speaks for them. Admins may, and anyone once it has no owner."""
    acting = await checkins.acting(env, survey)
    if survey.kind is not SurveyKind.CHECKIN or acting.owner_id in (None, me.id) or me.is_admin:
        return
    owner = await env.name(acting.owner_id)
    raise Refusal(
        f"“{survey.name}” is {owner}'s check-in: only they can {verb} it (or an admin). "
        f"`checkin results {survey.name}` reads its latest results."
    )


async def find_survey(env: Env, args: Args, kind: SurveyKind) -> Survey:
    """A survey named by the rest of the arguments (name or number)."""
    name = args.rest().strip().strip("\"'“”")
    if not name:
        raise Refusal(f"Please name the {kind_word(kind)}. `{kind.value} list` shows them.")
    survey = None
    if name.lstrip("#").isdigit():
        survey = await env.tx.surveys.get_survey(int(name.lstrip("#")))
    survey = survey or await env.tx.surveys.survey_by_name(name)
    if survey is None or survey.kind is not kind:
        survey = best_match(name, await env.tx.surveys.surveys(kind), lambda each: each.name, kind_word(kind))
    if survey is None or survey.kind is not kind:
        raise Refusal(f"There is no {kind_word(kind)} called {name!r}. `{kind.value} list` shows them.")
    return survey


async def _runs(env: Env, survey: Survey) -> list[Occurrence]:
    """The survey's latest runs, newest first."""
    return await env.tx.surveys.occurrences(kind=OccurrenceKind(survey.kind.value), target_id=survey.id)


async def open_run(env: Env, survey: Survey) -> Occurrence:
    """The survey's newest open run."""
    run = next((run for run in await _runs(env, survey) if not run.closed), None)
    if run is None:
        raise Refusal(f"“{survey.name}” has no open run.")
    return run


async def _run_of(env: Env, run_id: int, kind: SurveyKind) -> tuple[Occurrence, Survey]:
    """Run ``run_id`` of a survey of ``kind`` (the number `pulse list` gives), and its survey."""
    run = await env.tx.surveys.get_occurrence(run_id)
    survey = await env.tx.surveys.get_survey(run.target_id) if run is not None else None
    if run is None or survey is None or run.kind is not OccurrenceKind(kind.value):
        raise Refusal(f"There is no {kind_word(kind)} run #{run_id}. `{kind.value} list` gives the latest.")
    return run, survey


async def _results(env: Env, me: Person, survey: Survey, *, run: Occurrence | None = None) -> Reply:
    """The newest closed run's results and trend (or those of ``run``, an earlier one named by number); of a
    run still open, only how many have answered.

    Figures that change while a run is open would give away one person's answer to anyone comparing
    them before and after that person answered, however large the groups.
    """
    runs = [run] if run is not None else await _runs(env, survey)
    if not runs:
        raise Refusal(f"“{survey.name}” has no run yet.")
    parts: list[Text | str] = []
    if not runs[0].closed:
        parts.append(await _progress(env, me, survey, runs[0]))
    closed = next((each for each in runs if each.closed), None)
    if closed is not None:
        result = await run_result(env, survey, closed)
        parts.append(render_result(survey, closed, result, me))
        history = await trend(env, survey, me, known={closed.id: result})
        if history:
            parts.append(history)
        if closed.reply_text:  # what everyone asked was told, beside what they said
            parts.append(t("Reply sent to everyone asked (“you said, we did”): ", user(closed.reply_text)))
        if (
            not closed.reply_text
            and result.responded
            and await replies.may_reply(env, me, closed, await checkins.acting(env, survey))
        ):
            parts.append(_reply_hint(closed))
    return Reply(messages=(Message(lines(*parts), context=checkins.withheld(env.settings.min_group_size)),))


async def _progress(env: Env, me: Person, survey: Survey, run: Occurrence) -> Text:
    # Counted only: an open run's figures, and its written answers, are not read at all. The count goes up in
    # steps of the group size, and never says "all": one that moved with each answer let a manager asking
    # after each conversation see who had answered, and chase the rest (or the last) by name.
    k = env.settings.min_group_size
    answered = (await env.tx.surveys.counts(run.id)).respondents
    invited = await env.tx.surveys.invited(run.id)
    if invited <= k:
        so_far = f"shown when it closes, as it went to {invited}, no more than {k}"
    elif answered < k:
        so_far = f"fewer than {k} of {invited}"
    else:
        so_far = f"at least {answered // k * k} of {invited}"
    return lines(
        t(user(survey.name), f" — run of {run_day(run, me)} (open until {when(run.closes_at, me)})"),
        f"Responses so far: {so_far}",
        t(
            f"While it is open the count goes up in steps of {k}, so that asking after each conversation "
            "does not show who has answered; its answers are shown when it closes, so that nobody can work "
            f"out one person's answer by comparing the figures before and after. `{survey.kind.value} close ",
            user(survey.name),
            "` closes it now.",
        ),
    )


async def cmd_pulse(env: Env, me: Person, args: Args) -> Reply:
    """``pulse list | send NAME | results NAME | close NAME | reply RUN TEXT`` (managers)."""
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
        await _owner_runs_it(env, me, survey, "send")
        current = next((run for run in await _runs(env, survey) if not run.closed), None)
        if current is not None:  # a second run would ask everyone the same questions again
            raise Refusal(
                f"“{survey.name}” is already out, open until {when(current.closes_at, me)}. "
                f"`{kind.value} close {survey.name}` closes it; then you can send it again."
            )
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
        named = args.rest()
        if picked := re.fullmatch(r"run\s+#?(\d+)", named.strip(), flags=re.IGNORECASE):
            run, survey = await _run_of(env, int(picked[1]), kind)
            return await _results(env, me, survey, run=run)
        return await _results(env, me, await find_survey(env, Args(named), kind))
    if sub == "close":
        survey = await find_survey(env, args, kind)
        await _owner_runs_it(env, me, survey, "close")
        run = await open_run(env, survey)
        await finish(env, run, by=me)
        closed = t("Closed “", user(survey.name), f"”. `{kind.value} results {survey.name}` shows them.")
        # An owner is invited by the digest; a run nobody answered has nothing to reply to.
        if survey.owner_id is None and await env.tx.surveys.respondent_count(run.id):
            closed = lines(closed, _reply_hint(replace(run, closed=True)))
        return Reply(messages=(Message(closed),))
    if sub == "reply":
        number = args.number(f"the run number (`{kind.value} list` gives it)")
        if args.empty:
            raise Refusal(f"Please add what you will do: `{kind.value} reply {number} <what you will do>`.")
        target = await env.tx.surveys.get_occurrence(number)
        if target and target.kind.value != kind.value and target.kind is not OccurrenceKind.CAMPAIGN:
            # Pulses and check-ins share run numbers: "only its owner can reply" would puzzle.
            other = replies.command_for(target)
            raise Refusal(
                f"Run #{number} is a {kind_word(target.kind)}, not a {kind_word(kind)}: `{other} <text>`."
            )
        return await replies.draft(env, me, number, args.rest())
    raise Refusal(f"I don't know `{kind.value} {sub}`. Try list, send, results, close or reply.")


async def _list(env: Env, me: Person, kind: SurveyKind) -> Reply:
    surveys = await env.tx.surveys.surveys(kind)
    if not surveys:
        return Reply(messages=(Message(t(f"No {kind_word(kind)}s are set up yet.")),))
    out: list[Text | str] = [f"{kind_word(kind).capitalize()}s:"]
    for survey in surveys:
        runs = await env.tx.surveys.occurrences(kind=OccurrenceKind(kind.value), target_id=survey.id, limit=1)
        last = "never run"
        if runs:
            run = runs[0]  # its number is what `pulse reply` and `checkin reply` take
            last = f"last run #{run.id} of {run_day(run, me)} ({'closed' if run.closed else 'open'})"
            acting = await checkins.acting(env, survey)
            if (
                run.closed
                and not run.reply_text
                and await replies.may_reply(env, me, run, acting)
                and await env.tx.surveys.respondent_count(run.id)  # nothing said: nothing to reply to
            ):
                last += f"; reply with `{replies.command_for(run)} <what you will do>`"
        out.append(
            t(f"#{survey.id} ", user(survey.name), f" — {plural(len(survey.items), 'question')}, {last}")
        )
    return Reply(messages=(Message(lines(*out)),))


def _reply_hint(run: Occurrence) -> str:
    return (
        f"`{replies.command_for(run)} <what you will do>` sends everyone it went to the overall figures "
        "and your reply (“you said, we did”); you see it first."
    )


async def finish(env: Env, occurrence: Occurrence, *, by: Person | None = None) -> None:
    """Close a run (by hand, if ``by``) and send its owner, if it has one (every check-in does), the
    digest."""
    survey = await close_run(env, occurrence, by=by)
    if survey is not None and (survey.owner_id is not None or survey.kind is SurveyKind.CHECKIN):
        await checkins.send_digest(env, survey, replace(occurrence, closed=True))
