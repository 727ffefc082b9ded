"""“You said, we did”: a leader's reply to a closed pulse or check-in run, shown back first, then sent with
the run's headline results to everyone the run went to."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from dialogue.directory import Person, descendants
from dialogue.errors import Refusal
from dialogue.flows.checkins import acting, reply_awaiting
from dialogue.flows.env import Env
from dialogue.flows.surveys import audience_people, kind_word, run_result
from dialogue.formatting import percents, plural, rounded, run_day
from dialogue.limits import CHECKIN_REPLY_MAX, clean_text
from dialogue.messages import Choices, Message, Option, Reply, typed_label
from dialogue.outbox import NewDelivery
from dialogue.results import ItemResult, RunResult
from dialogue.surveys import ItemKind, Occurrence, OccurrenceKind, Recipient, Survey
from dialogue.text import Text, lines, t, user

# The Send / Don't send buttons under a preview (the name predates pulse replies; cards carry it).
CONFIRM_ACTION = "checkin.reply"
SEND, DISCARD, RUN = "send", "discard", "command"
SEND_IT, DONT_SEND = "Send it", "Don't send"
# The preview's buttons as people type them.
TYPED_BUTTONS = tuple(
    Option(label, value)
    for label, value in ((SEND_IT, SEND), ("Send", SEND), (DONT_SEND, DISCARD), ("Dont send", DISCARD))
)


def command_for(occurrence: Occurrence) -> str:
    """The command that replies to a run: ``pulse reply 12`` or ``checkin reply 12``."""
    return f"{occurrence.kind.value} reply {occurrence.id}"


async def may_reply(env: Env, me: Person, occurrence: Occurrence, survey: Survey) -> bool:
    """Whether ``me`` may write the run's reply: for a check-in its owner only (it goes out in their name, as
    the check-in does), or any senior leader once it has none (:func:`checkins.acting`); for a pulse its owner
    or an admin, or, if it has none, a senior leader, an admin, or a manager of every team it went to (one
    team's manager took the organisation-wide pulse's one reply with his team's plans)."""
    if occurrence.kind is OccurrenceKind.CHECKIN:
        return me.id == survey.owner_id if survey.owner_id is not None else me.is_senior_leader
    if survey.owner_id is not None:
        return me.id == survey.owner_id or me.is_admin
    if me.is_senior_leader or me.is_admin:
        return True
    if not me.is_manager or survey.audience.everyone:
        return False
    return set(survey.audience.team_ids) <= descendants(await env.tx.directory.teams(), me.team_ids)


async def _awaiting_reply(env: Env, me: Person, occurrence_id: int) -> tuple[Occurrence, Survey]:
    """The closed, unanswered run ``me`` may reply to, or a refusal saying why not."""
    occurrence = await env.tx.surveys.get_occurrence(occurrence_id)
    survey = await env.tx.surveys.get_survey(occurrence.target_id) if occurrence else None
    survey = await acting(env, survey) if survey is not None else None
    surveyed = (OccurrenceKind.PULSE, OccurrenceKind.CHECKIN)
    if occurrence is None or survey is None or occurrence.kind not in surveyed:
        raise Refusal(
            f"There is no pulse or check-in run #{occurrence_id}. `pulse list` and `checkin list` show the "
            "latest run of each."
        )
    word = kind_word(occurrence.kind)
    if not await may_reply(env, me, occurrence, survey):
        who = f"the leader who owns this {word}" if survey.owner_id is not None else "a senior leader"
        if survey.owner_id is None and occurrence.kind is OccurrenceKind.PULSE:
            who = "a senior leader, an admin or a manager of every team it went to"
        raise Refusal(f"Only {who} can reply to it: the reply goes to everyone it was sent to.")
    if not occurrence.closed:
        raise Refusal(
            f"This {word} is still open; you can reply once it closes "
            f"(`{survey.kind.value} close {survey.name}` closes it now)."
        )
    if occurrence.reply_text:
        if occurrence.kind is OccurrenceKind.CHECKIN:  # only its owner replies
            raise Refusal(f"You already replied to the check-in of {run_day(occurrence, me)}.")
        raise Refusal(f"This pulse of {run_day(occurrence, me)} has already had its reply.")
    return occurrence, survey


def _headline(item_result: ItemResult) -> str:
    """One question's overall figure in words a phone screen holds, with how many answered it (no team
    breakdown, no written words)."""
    o = item_result.overall
    kind = item_result.item.kind
    if kind is ItemKind.TEXT:
        return plural(o.n, "written answer")
    answers = plural(o.n, "answer")
    if kind is ItemKind.ENPS and o.enps is not None and o.mean is not None:
        # The score managers read is the eNPS; its average alone would tell staff a different story. Staff
        # are not told what "eNPS" means anywhere else, so it is said in words.
        return (
            f"eNPS {o.enps:+d} (the share who gave 9 or 10 less the share who gave 0 to 6), average "
            f"{rounded(o.mean, 1)} out of 10 ({answers})"
        )
    if kind is ItemKind.SCALE and o.mean is not None:
        return f"average {rounded(o.mean, 1)} out of 5, where 5 is Strongly agree ({answers})"
    each = percents([count for _label, count in o.counts])
    shares = ", ".join(f"{label} {share}" for (label, _count), share in zip(o.counts, each, strict=True))
    return f"{shares} ({answers})"


def said(survey: Survey, occurrence: Occurrence, result: RunResult, author: Person, body: str) -> Text:
    """What everyone the run went to receives: the run, how many answered, each question's overall figure
    (groups under the minimum size withheld, as in results), and the leader's words."""
    out: list[Text | str] = [
        t("You said, we did: ", user(survey.name), f" of {run_day(occurrence)}"),
        f"{result.responded} of {result.invited} people answered ({result.share}).",
    ]
    # Only what can be shown: a figure withheld under the group size, or a question nobody answered, is noise.
    shown = [r for r in result.items if r.overall.n and not r.overall.withheld]
    if shown:
        out.extend(t(f"Q{r.item.position}. ", user(r.item.text), f" — {_headline(r)}") for r in shown)
    elif result.responded:  # every figure withheld: one line says why, not one a question
        out.append("Too few answered to share the figures without risking who said what.")
    out.append(t(f"{author.display_name}: ", user(body)))
    return lines(*out)


async def _names_someone_asked(env: Env, survey: Survey, recipients: Sequence[Recipient], body: str) -> str:
    """The names of people in the teams the run went to that a reply mentions ("Priya, I will call you
    about nights"), joined; "" when none. Answers were given in confidence, and a reply that names one of
    the people asked can tie them to what was said. Everyone in those teams counts, asked or not: the
    warning left out for one of them would tell the writer that person was away or joined since."""
    asked = {r.person_id for r in recipients} | {p.id for p in await audience_people(env, survey.audience)}
    written = set(re.findall(r"\w+", body))
    words = {word.casefold() for word in written}
    named = sorted(
        {
            person.display_name
            for person in await env.tx.directory.people()
            if person.id in asked
            and len(first := (person.display_name.split() or [""])[0]) > 2
            # "priya, I'll call you" names Priya; "and will report back" names no Will: a name that is also
            # a word counts unless written all in small letters ("Will", "WILL" and "Jack" all count).
            and (
                any(w.casefold() == first.casefold() and w != w.lower() for w in written)
                if first.casefold() in NAMES_THAT_ARE_WORDS
                else first.casefold() in words
            )
        }
    )
    return ", ".join(named[:3]) + (" and others" if len(named) > 3 else "")


# First names that are also everyday words, as a reply would use them ("we will", "it may", "we hope").
_EVERYDAY_NAMES = (
    "will may mark grace hope joy faith bill sue rose june april august dawn summer frank rob pat art ray "
    "don guy sunny penny drew grant chase chance rich miles lane page amber"
)
NAMES_THAT_ARE_WORDS = frozenset(_EVERYDAY_NAMES.split())


def _audience(recipients: Sequence[Recipient], me: Person, occurrence: Occurrence) -> str:
    """Who a reply goes to, in words: everyone the run went to but its writer (who reads it first)."""
    others = sum(r.person_id != me.id for r in recipients)
    if others < len(recipients):
        return (
            f"the {plural(others, 'other person', 'other people')} the {kind_word(occurrence.kind)} went to"
        )
    return f"all {plural(others, 'person', 'people')} the {kind_word(occurrence.kind)} went to"


def _fingerprint(body: str) -> str:
    """A short digest of a draft, carried by its Send button: Send sends the words previewed, not words
    another manager wrote since."""
    return hashlib.sha256(body.encode()).hexdigest()[:12]


async def draft(env: Env, me: Person, occurrence_id: int, text: str, *, command: str | None = None) -> Reply:
    """Keep a reply and show back exactly what everyone will get, with Send it and Don't send: a "thanks"
    or a message meant for another window must not go to everyone.

    ``command``: the command word the text starts with, when it was written in the conversation after a
    digest; the leader is offered to run it instead (never run unasked: "Ask your team leader..." is a reply).
    """
    occurrence, survey = await _awaiting_reply(env, me, occurrence_id)
    button = typed_label(text, TYPED_BUTTONS)
    if button is not None:  # "send it" typed under the preview means the button, not a new reply
        if not occurrence.reply_draft:
            raise Refusal(
                "There is no reply to send yet: write what you will do "
                f"(`{command_for(occurrence)} <text>`), and I'll show it to you before it goes."
            )
        sending = f"{SEND}:{_fingerprint(occurrence.reply_draft)}" if button.value == SEND else DISCARD
        decided = await confirm(env, me, occurrence.id, sending)
        return Reply(messages=(*([decided.replace] if decided.replace else []), *decided.messages))
    body = clean_text(text, what="reply", limit=CHECKIN_REPLY_MAX)
    await env.tx.surveys.set_reply_draft(occurrence.id, body)
    result = await run_result(env, survey, occurrence)
    recipients = await env.tx.surveys.recipients(occurrence.id)
    send = Option(SEND_IT, f"{SEND}:{_fingerprint(body)}")
    options: tuple[Option, ...] = (send, Option(DONT_SEND, DISCARD))
    context = f"Or write it again to change it (`{command_for(occurrence)} <text>`)."
    if named := await _names_someone_asked(env, survey, recipients, body):
        context = (
            f"It names {named}, of the teams it went to: everyone will read it, so check it gives away "
            f"nobody's answer. {context}"
        )
    if command is not None:
        options = (*options, Option("Run as a command", RUN))
        context = f"It starts with `{command}`: if you meant that command, tap Run as a command. {context}"
    return Reply(
        messages=(
            Message(
                lines(
                    t(f"Send this to {_audience(recipients, me, occurrence)}?"),
                    said(survey, occurrence, result, me, body),
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
        raise Refusal("There is no reply waiting to be sent. Write it again.")
    how, _, fingerprint = choice.partition(":")
    if how == SEND:
        if fingerprint and fingerprint != _fingerprint(body):
            raise Refusal("This reply has been written again since; send it from the newest preview.")
        sent = await _send(env, me, occurrence, survey, body)
        return Reply(
            messages=sent,
            replace=_decided(f"Sent to everyone the {kind_word(occurrence.kind)} went to:", body),
        )
    await env.tx.surveys.set_reply_draft(occurrence.id, "")
    return Reply(
        messages=(
            Message(t(f"Not sent. Write it again when you are ready (`{command_for(occurrence)} <text>`).")),
        ),
        replace=_decided("Not sent:", body),
    )


async def take_draft(env: Env, me: Person, occurrence_id: int) -> str:
    """The kept reply, forgotten, to run as the command it starts with."""
    occurrence, _survey = await _awaiting_reply(env, me, occurrence_id)
    if not occurrence.reply_draft:
        raise Refusal("There is no reply waiting to be sent. Write it again.")
    await env.tx.surveys.set_reply_draft(occurrence.id, "")
    return occurrence.reply_draft


def _decided(what: str, body: str) -> Message:
    return Message(lines(t(what), t(user(body))))


async def _send(
    env: Env, me: Person, occurrence: Occurrence, survey: Survey, body: str
) -> tuple[Message, ...]:
    await env.tx.surveys.set_reply(occurrence.id, body)
    await env.tx.surveys.set_reply_draft(occurrence.id, "")
    await env.tx.conversations.clear_awaiting(me.id, reply_awaiting(occurrence.id))
    news = Message(said(survey, occurrence, await run_result(env, survey, occurrence), me, body))
    recipients = await env.tx.surveys.recipients(occurrence.id)
    await env.send(  # not to its writer, who has just read it in the preview
        NewDelivery(key=f"occ:{occurrence.id}:reply:p:{r.person_id}", person_id=r.person_id, message=news)
        for r in recipients
        if r.person_id != me.id
    )
    return (Message(t(f"Thank you. Your reply is on its way to {_audience(recipients, me, occurrence)}.")),)
