"""Check-ins: at close the owning senior leader gets a digest; their reply goes back to everyone."""

from __future__ import annotations

from dialogue.directory import Person
from dialogue.errors import Refusal
from dialogue.flows.env import Env
from dialogue.flows.surveys import render_result, run_result
from dialogue.formatting import day, plural
from dialogue.limits import CHECKIN_REPLY_MAX, clean_text
from dialogue.messages import Choices, Message, Option, Reply
from dialogue.outbox import NewDelivery
from dialogue.surveys import Occurrence, OccurrenceKind, Survey
from dialogue.text import lines, t, user

CONFIRM_ACTION = "checkin.reply"  # the Send / Don't send buttons under a reply written in the conversation
SEND, DISCARD, RUN = "send", "discard", "command"


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
        t("Your check-in digest is ready."),
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


async def _awaiting_reply(env: Env, me: Person, occurrence_id: int) -> tuple[Occurrence, Survey]:
    """The closed, unanswered check-in run ``me`` may reply to, or a refusal saying why not."""
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
    return occurrence, survey


async def draft(env: Env, me: Person, occurrence_id: int, text: str, *, command: str | None = None) -> Reply:
    """A reply written in the conversation after the digest: kept and shown back with Send and Don't send,
    as everyone who took part gets it (a "thanks" or a message meant for another window must not).

    ``command``: the command word the text starts with; it may have been meant as that command, so the
    leader is offered to run it instead (it is never run unasked: "Ask your team leader..." is a reply).
    """
    occurrence, _survey = await _awaiting_reply(env, me, occurrence_id)
    body = clean_text(text, what="reply", limit=CHECKIN_REPLY_MAX)
    await env.tx.surveys.set_reply_draft(occurrence.id, body)
    count = await env.tx.surveys.invited(occurrence.id)
    survey = await env.tx.surveys.get_survey(occurrence.target_id)
    which = t(
        "Your reply to ",
        user(survey.name if survey else "the check-in"),
        f" of {day(occurrence.opens_at, me)}",
    )
    options: tuple[Option, ...] = (Option("Send it", SEND), Option("Don't send", DISCARD))
    context = "Or write it again to change it."
    if command is not None:
        options = (*options, Option("Run as a command", RUN))
        context = f"It starts with `{command}`: if you meant that command, tap Run as a command. {context}"
    return Reply(
        messages=(
            Message(
                lines(
                    t(*which.spans, f": send it to all {plural(count, 'person', 'people')} it went to?"),
                    t(user(body)),
                ),
                choices=(Choices(action=CONFIRM_ACTION, ref=str(occurrence.id), options=options),),
                context=context,
            ),
        )
    )


async def confirm(env: Env, me: Person, occurrence_id: int, choice: str) -> Reply:
    """Send the kept reply, or forget it; the preview then shows which, without its buttons."""
    occurrence, survey = await _awaiting_reply(env, me, occurrence_id)
    body = occurrence.reply_draft
    if not body:
        raise Refusal("There is no reply waiting to be sent. Write it here again.")
    if choice == SEND:
        sent = await _send_reply(env, me, occurrence, survey, body)
        return Reply(messages=sent.messages, replace=_decided("Sent to everyone the check-in went to:", body))
    await env.tx.surveys.set_reply_draft(occurrence.id, "")
    return Reply(
        messages=(Message(t("Not sent. Write your reply here when you are ready.")),),
        replace=_decided("Not sent:", body),
    )


async def take_draft(env: Env, me: Person, occurrence_id: int) -> tuple[str, Message]:
    """The kept reply, forgotten, to run as the command it starts with; and its preview, without buttons."""
    occurrence, _survey = await _awaiting_reply(env, me, occurrence_id)
    if not occurrence.reply_draft:
        raise Refusal("There is no reply waiting to be sent. Write it here again.")
    await env.tx.surveys.set_reply_draft(occurrence.id, "")
    return occurrence.reply_draft, _decided("Run as a command:", occurrence.reply_draft)


def _decided(what: str, body: str) -> Message:
    return Message(lines(t(what), t(user(body))))


async def reply(env: Env, me: Person, occurrence_id: int, text: str) -> Reply:
    """The owner's "you said, we did": stored once and sent to everyone the run went to."""
    occurrence, survey = await _awaiting_reply(env, me, occurrence_id)
    return await _send_reply(env, me, occurrence, survey, text)


async def _send_reply(env: Env, me: Person, occurrence: Occurrence, survey: Survey, text: str) -> Reply:
    body = clean_text(text, what="reply", limit=CHECKIN_REPLY_MAX)
    await env.tx.surveys.set_reply(occurrence.id, body)
    await env.tx.surveys.set_reply_draft(occurrence.id, "")
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
            Message(
                t(
                    "Thank you. Your reply is on its way to all "
                    f"{plural(len(recipients), 'person', 'people')} the check-in went to."
                )
            ),
        )
    )
