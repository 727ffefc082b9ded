"""Digests: at close a check-in's owning senior leader (or a pulse's owner) gets the results; their reply
goes back to everyone."""

from __future__ import annotations

from dataclasses import replace

from dialogue.directory import Person, Role
from dialogue.flows.env import Env
from dialogue.flows.surveys import kind_word, render_result, run_result, trend
from dialogue.formatting import plural, run_day
from dialogue.messages import Message
from dialogue.outbox import NewDelivery
from dialogue.results import RunResult
from dialogue.surveys import Occurrence, Survey, SurveyKind, fit_owner
from dialogue.text import Text, lines, t, user


def withheld(k: int) -> str:
    """The note under results: what is withheld, and what "Other teams" are."""
    return (
        f"Groups under {k} are withheld; “Other teams” counts together the teams with fewer than {k} asked."
    )


def reply_awaiting(occurrence_id: int) -> str:
    """The conversation state of an owner whose next message is their reply to a digest."""
    return f"checkin-reply:{occurrence_id}"


async def acting(env: Env, survey: Survey) -> Survey:
    """The survey as its owner stands today: without one once they are switched off or no longer hold the
    role (a leaver's digests went nowhere), so it falls to those who act when there is none: every senior
    leader for a check-in, the managers for a pulse."""
    if survey.owner_id is None:
        return survey
    owner = await env.tx.directory.get_person(survey.owner_id)
    return survey if owner is not None and fit_owner(owner, survey.kind) else replace(survey, owner_id=None)


async def send_digest(env: Env, survey: Survey, occurrence: Occurrence) -> None:
    """Send the owner the run's digest (same k rule as results) and invite a reply. A check-in whose owner
    has gone (:func:`acting`) sends it to every senior leader, any of whom may reply."""
    survey = await acting(env, survey)
    readers: list[Person | None]
    if survey.owner_id is not None:
        readers = [await env.tx.directory.get_person(survey.owner_id)]
    elif survey.kind is SurveyKind.CHECKIN:
        readers = list(await env.tx.directory.people_with_role(Role.SENIOR_LEADER))
    else:
        return
    result = await run_result(env, survey, occurrence)
    for reader in filter(None, readers):
        key = f"occ:{occurrence.id}:digest" + ("" if survey.owner_id is not None else f":{reader.id}")
        # The trend shows whether this week is news: the results command had it, the digest did not.
        history = await trend(env, survey, reader, known={occurrence.id: result})
        message = _digest(env, survey, occurrence, result, reader, history)
        await env.send([NewDelivery(key=key, person_id=reader.id, message=message)])
    if survey.owner_id is not None and result.responded:
        await env.tx.conversations.set_awaiting(survey.owner_id, reply_awaiting(occurrence.id), at=env.now)


def _digest(
    env: Env,
    survey: Survey,
    occurrence: Occurrence,
    result: RunResult,
    reader: Person,
    history: Text | None,
) -> Message:
    """The digest as ``reader`` gets it: their own, or, with no owner, one every senior leader gets."""
    orphaned = survey.owner_id is None
    head = (
        t(
            "“",
            user(survey.name),
            "” has no owner in the directory now (switched off, or no longer a senior leader), so its digest "
            "comes to every senior leader. Name a new `owner` in the programme file and load it again.",
        )
        if orphaned
        else None
    )
    if not result.responded:  # nothing said, so nothing to answer: no "you said, we did" to write
        nobody = t(
            "Nobody answered ",
            user(survey.name),
            f" of {run_day(occurrence, reader)} (sent to {plural(result.invited, 'person', 'people')}).",
        )
        return Message(lines(head, nobody) if head else nobody)
    invite = (
        f"Whoever of you replies first answers for all: `checkin reply {occurrence.id} <what you will do>`; "
        "you see it before it goes to all "
        if orphaned
        else "Reply here with what you will do (“you said, we did”); you will see it before it goes to all "
    )
    body = lines(
        head or t(f"Your {kind_word(survey.kind)} digest is ready."),
        render_result(survey, occurrence, result, reader),
        *([history] if history else []),
        t(invite + f"{plural(result.invited, 'person', 'people')} it was sent to."),
    )
    return Message(
        body,
        context=withheld(env.settings.min_group_size) + " Free text is shown without names.",
    )
