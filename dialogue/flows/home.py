"""A person's overview (Slack's App Home, a Teams tab): their ideas, what waits for them, open questions."""

from __future__ import annotations

from dialogue.args import Args
from dialogue.directory import Person
from dialogue.flows import ideas, questions
from dialogue.flows.env import Env
from dialogue.flows.surveys import answered_items, kind_word
from dialogue.formatting import when
from dialogue.ideas import IdeaStatus
from dialogue.messages import Message
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
    if me.is_manager:
        parts.append(await _manager_queue(env))
    return tuple(parts)


async def _to_answer(env: Env, me: Person) -> Message:
    """Open pulses and check-ins sent to the person that they have not finished."""
    rows: list[Text | str] = []
    for occurrence in await env.tx.surveys.open_occurrences():
        if occurrence.kind is OccurrenceKind.CAMPAIGN or occurrence.opens_at > env.now:
            continue
        if await env.tx.surveys.is_recipient(occurrence.id, me.id) is None:
            continue
        survey = await env.tx.surveys.get_survey(occurrence.target_id)
        if survey is None:
            continue
        if len(await answered_items(env, survey, occurrence.id, me.id)) < len(survey.items):
            rows.append(
                t(user(survey.name), f" ({kind_word(survey)}), open until {when(occurrence.closes_at, me)}")
            )
    if not rows:
        return Message(t("To answer: nothing right now. Thank you!"))
    return Message(lines("To answer (your chat with the bot has the questions):", *rows))


async def _manager_queue(env: Env) -> Message:
    """Ideas waiting for a manager's decision, oldest first."""
    waiting = await env.tx.ideas.ideas(statuses={IdeaStatus.NEW, IdeaStatus.UNDER_REVIEW}, limit=50)
    held = await env.tx.questions.questions(statuses={QuestionStatus.HELD}, limit=50)
    if not waiting and not held:
        return Message(t("Your queue: nothing waiting."))
    rows: list[Text | str] = [f"Your queue: {len(waiting)} ideas waiting for a decision."]
    rows += [
        t(f"#{i.id} [{i.status.label}] ▲{i.votes} ", user(i.text[:80]))
        for i in sorted(waiting, key=lambda i: i.id)[:10]
    ]
    if held:
        rows.append(f"{len(held)} anonymous questions are waiting for an admin's moderation.")
    return Message(lines(*rows), context="`status <number> <new status> <reason>` moves one on.")
