"""A person's overview (Slack's App Home, a Teams tab): their ideas, what waits for them, open questions."""

from __future__ import annotations

from datetime import timedelta

from dialogue.args import Args
from dialogue.directory import Person, descendants
from dialogue.flows import ideas, questions
from dialogue.flows.away import is_away
from dialogue.flows.checkins import acting
from dialogue.flows.env import Env
from dialogue.flows.replies import command_for, may_reply
from dialogue.flows.surveys import answered_items, item_key, kind_word, prompt_key
from dialogue.formatting import day, plural, run_day, shorten, when
from dialogue.ideas import OPEN_STATUSES, IdeaStatus
from dialogue.messages import Message, Reply
from dialogue.qa import QuestionStatus
from dialogue.surveys import OccurrenceKind
from dialogue.text import Text, lines, t, user


async def overview(env: Env, me: Person) -> tuple[Message, ...]:
    """What the person sees on opening the bot: each part is one message, so adapters can lay them out."""
    parts = [
        *(await ideas.cmd_ideas(env, me, Args("mine", usage="ideas"))).messages,
        await _to_answer(env, me),
        *(await questions.cmd_questions(env, me, Args("", usage="questions"))).messages,
    ]
    if me.is_manager or me.is_senior_leader or me.is_admin:
        parts.append(await _queue(env, me))
    return tuple(parts)


async def _to_answer(env: Env, me: Person) -> Message:
    """Open pulses and check-ins sent to the person that they have not finished."""
    rows: list[Text | str] = []
    coming: list[Text | str] = []
    campaigns: list[Text | str] = []
    for occurrence in await env.tx.surveys.open_occurrences():
        if occurrence.kind is OccurrenceKind.CAMPAIGN:
            # An open invitation rather than something left undone: it stays until it closes (an anonymous
            # idea must leave no trace of who sent one).
            due = await env.tx.outbox.due_at(prompt_key(occurrence.id, me.id))
            campaign = await env.tx.ideas.get_campaign(occurrence.target_id)
            if due is not None and due <= env.now and campaign is not None:
                campaigns.append(
                    t(
                        "Idea campaign “",
                        user(campaign.name),
                        f"” takes ideas until {when(occurrence.closes_at, me)}: write yours in reply to it",
                    )
                )
            continue
        if occurrence.opens_at > env.now:
            continue
        if await env.tx.surveys.is_recipient(occurrence.id, me.id) is None:
            continue
        survey = await env.tx.surveys.get_survey(occurrence.target_id)
        if survey is None or not survey.items:
            continue
        due = await env.tx.outbox.due_at(item_key(occurrence.id, survey.items[0].id, me.id))
        if due is None or due > env.now:  # not reached them (see surveys.reached)
            # Held for the end of their quiet hours, or for nine o'clock where they are: "none" would mislead.
            if due is not None:
                coming.append(
                    t("Coming: ", user(survey.name), f" ({kind_word(survey.kind)}), {when(due, me)}")
                )
            continue
        if len(await answered_items(env, survey, occurrence.id, me.id)) < len(survey.items):
            rows.append(
                t(
                    user(survey.name),
                    f" ({kind_word(survey.kind)}), open until {when(occurrence.closes_at, me)}",
                )
            )
    head: list[Text | str] = []
    if is_away(me, env.now) and me.away_until is not None:
        head.append(
            f"You're away until {me.away_until:%a %-d %b}: new pulses, check-ins and idea campaigns leave "
            "you out (`away off` when you're back)."
        )
    if not rows:
        return Message(lines(*head, "Pulses and check-ins to answer: none right now.", *coming, *campaigns))
    return Message(
        lines(
            *head,
            "Pulses and check-ins to answer (your chat with the bot has the questions):",
            *rows,
            *coming,
            *campaigns,
        )
    )


async def cmd_todo(env: Env, me: Person, args: Args) -> Reply:
    """``todo``: what waits for the person: questions to answer and, for managers and leaders, what waits
    for their answer, reply or decision, each with the command that deals with it."""
    answer = await _to_answer(env, me)
    if not (me.is_manager or me.is_senior_leader or me.is_admin):
        return Reply(messages=(answer,))
    queue = await _queue(env, me)  # one message: one notification on a phone
    return Reply(messages=(Message(lines(queue.text, answer.text), context=queue.context),))


WAITING_LIMIT = 50  # ideas and held questions read to count; more shows as "50 or more"
OWNED_SHOWN = 10  # ideas of one's own listed
QUESTIONS_SHOWN = 10  # questions waiting listed, most upvoted first
QUESTIONS_READ = 200  # open questions looked through (newest first among equal votes: the old must fit)
REPLY_WINDOW = timedelta(days=30)  # a closed run's "you said, we did" is still asked for this long
REPLY_RUNS = 5  # the latest runs of each survey looked at for a missing reply


async def _queue(env: Env, me: Person) -> Message:
    """What waits for a manager's or leader's answer, reply or decision: questions to them (and, for senior
    leaders, questions that waited too long), runs of theirs to reply to, ideas to decide, questions held."""
    rows: list[Text | str] = []
    overdue = env.now - timedelta(days=env.settings.overdue_days)
    open_questions = await env.tx.questions.questions(statuses={QuestionStatus.OPEN}, limit=QUESTIONS_READ)
    asked = [
        question
        for question in open_questions
        if question.addressed_to_id == me.id
        or (question.addressed_to_id is None and me.is_senior_leader and question.created_at < overdue)
    ]
    for question in asked[:QUESTIONS_SHOWN]:
        who = "to you" if question.addressed_to_id == me.id else "to senior leaders"
        rows.append(
            t(
                f"• Question #{question.id} {who}, asked {day(question.created_at, me)} "
                f"(▲{question.votes}): ",
                user(shorten(question.text)),
                f" → `answer {question.id} <answer>`",
            )
        )
    if len(asked) > QUESTIONS_SHOWN:
        more = len(asked) - QUESTIONS_SHOWN
        rows.append(f"• and {more} more {'question' if more == 1 else 'questions'} waiting → `questions`")
    fresh = sum(q.addressed_to_id is None and q.created_at >= overdue for q in open_questions)
    if me.is_senior_leader and fresh:  # listed once overdue; a leader may answer before, as many would
        rows.append(f"• {plural(fresh, 'newer question')} in the open, not yet overdue → `questions`")
    rows += await _replies_waiting(env, me)
    if me.is_manager:
        # A pilot too: it ends in implemented or declined, and nothing else reminds its owner to say which.
        owned = await env.tx.ideas.ideas(statuses=OPEN_STATUSES, owner_id=me.id, limit=OWNED_SHOWN)
        rows += [
            t(
                f"• Idea #{i.id} you own [{i.status.label}] ▲{i.votes}: ",
                user(shorten(i.text)),
                f" → `ideas {i.id}`",
            )
            for i in sorted(owned, key=lambda i: i.id)
        ]
        # Others only from the person's teams and those below them: the rest are other managers' to decide.
        scope = descendants(await env.tx.directory.teams(), me.team_ids)
        waiting = await env.tx.ideas.ideas(statuses=_DECIDE, limit=WAITING_LIMIT)
        others = sum(i.team_id in scope and i.owner_id != me.id for i in waiting)
        if others:
            count = f"{others} or more" if len(waiting) == WAITING_LIMIT else str(others)
            wait = "idea from your teams waits" if others == 1 else "ideas from your teams wait"
            also = " more" if owned else ""  # "more" than those listed above it, if any are
            rows.append(f"• {count}{also} {wait} for a decision → `ideas new`, `ideas under review`")
    if me.is_senior_leader or me.is_admin:
        # Every idea waiting, not only those no manager's teams cover: anonymous ideas from teams too small to
        # name carry no team, and a count of those alone would narrow who wrote them.
        waiting = await env.tx.ideas.ideas(statuses=_DECIDE, limit=WAITING_LIMIT)
        if waiting:
            count = f"{len(waiting)} or more" if len(waiting) == WAITING_LIMIT else str(len(waiting))
            wait = "idea waits" if len(waiting) == 1 else "ideas wait"
            rows.append(
                f"• {count} {wait} for a decision across the organisation → `ideas new`, `ideas under review`"
            )
    if me.is_admin:
        held = await env.tx.questions.questions(statuses={QuestionStatus.HELD}, limit=WAITING_LIMIT)
        if held:
            rows.append(f"• {plural(len(held), 'anonymous question')} held for moderation → `moderate list`")
    if not rows:
        return Message(t("Waiting for you: nothing. Thank you!"))
    return Message(lines("Waiting for you:", *rows))


_DECIDE = frozenset({IdeaStatus.NEW, IdeaStatus.UNDER_REVIEW})


async def _replies_waiting(env: Env, me: Person) -> list[Text | str]:
    """Runs closed lately that someone answered and nobody has replied to, which ``me`` is to reply to: their
    own check-ins and pulses; pulses without an owner go to senior leaders and admins (not to every manager,
    who could each reply first)."""
    rows: list[Text | str] = []
    for survey in [await acting(env, each) for each in await env.tx.surveys.surveys()]:
        if survey.owner_id is None and not (me.is_senior_leader or me.is_admin):
            continue
        if survey.owner_id is not None and survey.owner_id != me.id:
            continue
        runs = await env.tx.surveys.occurrences(
            kind=OccurrenceKind(survey.kind.value), target_id=survey.id, limit=REPLY_RUNS
        )
        waiting = [
            run
            for run in runs  # newest first
            if run.closed
            and not run.reply_text
            and run.closes_at >= env.now - REPLY_WINDOW
            and await may_reply(env, me, run, survey)
            and await env.tx.surveys.respondent_count(run.id)  # nobody answered: nothing said to reply to
        ]
        if not waiting:
            continue
        # A weekly pulse nobody replies to would add a line a week: the newest run stands for the rest.
        earlier = f" ({plural(len(waiting) - 1, 'earlier run')} without one too)" if len(waiting) > 1 else ""
        rows.append(
            t(
                "• ",
                user(survey.name),
                f" of {run_day(waiting[0], me)} has closed: write its “you said, we did” → "
                f"`{command_for(waiting[0])} <what you will do>`{earlier}",
            )
        )
    return rows
