"""Check-ins: at close the owning senior leader gets a digest; their reply goes back to everyone."""

from __future__ import annotations

from dialogue.directory import Person
from dialogue.errors import Refusal
from dialogue.flows.env import Env
from dialogue.flows.surveys import render_result, run_result
from dialogue.formatting import day, plural
from dialogue.limits import CHECKIN_REPLY_MAX, clean_text
from dialogue.messages import Message, Reply
from dialogue.outbox import NewDelivery
from dialogue.surveys import Occurrence, OccurrenceKind, Survey
from dialogue.text import lines, t, user


def reply_awaiting(occurrence_id: int) -> str:
    """The conversation state of an owner whose next message is their reply to a digest."""
    return f"checkin-reply:{occurrence_id}"


async def send_digest(env: Env, survey: Survey, occurrence: Occurrence) -> None:
    """Send the owner the run's digest (same k rule as results) and invite a reply."""
    if survey.owner_id is None:
        return
    owner = await env.tx.directory.get_person(survey.owner_id)
    result = await run_result(env, survey, occurrence)
    body = lines(
        t("Your check-in digest is ready."),
        render_result(survey, occurrence, result, owner),
        t(
            f"Reply here with what you will do (“you said, we did”); it goes to all "
            f"{plural(result.invited, 'participant')}. Or use `checkin reply {occurrence.id} <your reply>`."
        ),
    )
    await env.send(
        [
            NewDelivery(
                key=f"occ:{occurrence.id}:digest",
                person_id=survey.owner_id,
                message=Message(
                    body,
                    context=f"Groups under {env.settings.min_group_size} "
                    "are withheld; free text is shown without names.",
                ),
            )
        ]
    )
    await env.tx.conversations.set_awaiting(survey.owner_id, reply_awaiting(occurrence.id), at=env.now)


async def reply(env: Env, me: Person, occurrence_id: int, text: str) -> Reply:
    """The owner's "you said, we did": stored once and sent to everyone the run went to."""
    occurrence = await env.tx.surveys.get_occurrence(occurrence_id)
    if occurrence is None or occurrence.kind is not OccurrenceKind.CHECKIN:
        raise Refusal(f"There is no check-in run #{occurrence_id}. `checkin list` shows the check-ins.")
    survey = await env.tx.surveys.get_survey(occurrence.target_id)
    if survey is None:
        raise Refusal(f"There is no check-in run #{occurrence_id}.")
    if me.id != survey.owner_id and not me.is_admin:
        raise Refusal("Only the leader who owns this check-in can reply to it.")
    if not occurrence.closed:
        raise Refusal("This check-in is still open; you can reply once it closes and the digest arrives.")
    if occurrence.reply_text:
        raise Refusal(f"You already replied to the check-in of {day(occurrence.opens_at, me)}.")
    body = clean_text(text, what="reply", limit=CHECKIN_REPLY_MAX)
    await env.tx.surveys.set_reply(occurrence.id, body)
    await env.tx.conversations.clear_awaiting(me.id, reply_awaiting(occurrence.id))
    news = Message(
        lines(
            t("You said, we did: ", user(survey.name), f" of {day(occurrence.opens_at)}"),
            t(f"{me.display_name}: ", user(body)),
        )
    )
    recipients = await env.tx.surveys.recipients(occurrence.id)
    await env.send(
        NewDelivery(key=f"occ:{occurrence.id}:reply:p:{r.person_id}", person_id=r.person_id, message=news)
        for r in recipients
    )
    return Reply(
        messages=(
            Message(t(f"Thank you. Your reply is on its way to {plural(len(recipients), 'participant')}.")),
        )
    )
