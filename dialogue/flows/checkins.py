"""Digests: at close a check-in's owning senior leader (or a pulse's owner) gets the results; their reply
goes back to everyone."""

from __future__ import annotations

from dialogue.flows.env import Env
from dialogue.flows.surveys import kind_word, render_result, run_result
from dialogue.formatting import day, plural
from dialogue.messages import Message
from dialogue.outbox import NewDelivery
from dialogue.surveys import Occurrence, Survey
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
    if not result.responded:  # nothing said, so nothing to answer: no "you said, we did" to write
        nobody = t(
            "Nobody answered ",
            user(survey.name),
            f" of {day(occurrence.opens_at, owner)} (sent to {plural(result.invited, 'person', 'people')}).",
        )
        await env.send(
            [
                NewDelivery(
                    key=f"occ:{occurrence.id}:digest", person_id=survey.owner_id, message=Message(nobody)
                )
            ]
        )
        return
    body = lines(
        t(f"Your {kind_word(survey.kind)} digest is ready."),
        render_result(survey, occurrence, result, owner),
        t(
            f"Reply here with what you will do (“you said, we did”); you will see it before it goes to all "
            f"{plural(result.invited, 'person', 'people')} it was sent to."
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
