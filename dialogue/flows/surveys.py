"""Pulses and check-ins: runs, one question at a time, answers, reminders, closing and results."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from dialogue.directory import Audience, Person, descendants
from dialogue.errors import Refusal
from dialogue.flows.away import is_away
from dialogue.flows.env import Env
from dialogue.formatting import plural, rounded, run_day, when, zone
from dialogue.limits import CHOICE_VALUE_MAX, PULSE_TEXT_MAX, clean_text, utf16_units
from dialogue.messages import Choices, ChoiceStyle, Message, Option, Reply
from dialogue.outbox import DeliveryStatus, NewDelivery
from dialogue.results import Figures, RunResult, overall_from_tally, summarise_counts
from dialogue.schedules import LOCAL_LATE
from dialogue.surveys import (
    NAMED_RESPONDENT,
    Answer,
    ItemKind,
    Occurrence,
    OccurrenceKind,
    Recipient,
    Survey,
    SurveyItem,
    SurveyKind,
)
from dialogue.text import Text, lines, t, user

ANSWER_ACTION = "pulse.answer"
# Save as my answer / Run as a command, under written words that start with a command word.
WRITTEN_ACTION = "pulse.written"
AS_ANSWER, AS_COMMAND = "answer", "command"
SKIP_WORDS = ("skip", "pass")
SAYING_WORDS = 4  # typed words this long, under a question with buttons, are a remark, not a slip


async def audience_people(env: Env, audience: Audience) -> list[Person]:
    """Active people in the audience's teams and their sub-teams (everyone when no teams)."""
    if audience.everyone:
        return await env.tx.directory.people()
    team_ids = descendants(await env.tx.directory.teams(), audience.team_ids)
    return await env.tx.directory.people(team_ids=team_ids)


def local_send_time(wall: datetime, person: Person) -> datetime:
    """The UTC moment when the naive wall-clock ``wall`` happens in the person's own zone."""
    return wall.replace(tzinfo=zone(person.time_zone)).astimezone(zone("UTC"))


def in_time(wall: datetime | None, person: Person, now: datetime) -> bool:
    """Whether the person is still to get a run of wall-clock time ``wall`` (see ``LOCAL_LATE``); everyone
    is when ``wall`` is None (not a local-time run)."""
    return wall is None or local_send_time(wall, person) >= now - LOCAL_LATE


def respondent_key(env: Env, survey: Survey, occurrence_id: int, person_id: int) -> str:
    """How a person's answers are keyed: a keyed hash when anonymous, their id otherwise."""
    if survey.anonymous:
        return env.anon.respondent(occurrence_id, person_id)
    return f"{NAMED_RESPONDENT}{person_id}"


def kind_word(kind: SurveyKind | OccurrenceKind) -> str:
    """``pulse`` or ``check-in``, as people write it (the command is ``checkin``)."""
    return "check-in" if kind.value == SurveyKind.CHECKIN.value else "pulse"


def item_choices(occurrence_id: int, item: SurveyItem, selected: str | None = None) -> tuple[Choices, ...]:
    """The buttons of one item (none for free text)."""
    ref = f"{occurrence_id}:{item.id}"
    if item.kind is ItemKind.SCALE:
        return (
            Choices(
                ANSWER_ACTION,
                ref,
                tuple(Option(str(v), str(v)) for v in range(1, 6)),
                ChoiceStyle.SCALE,
                "Strongly disagree",
                "Strongly agree",
                selected,
            ),
        )
    if item.kind is ItemKind.ENPS:
        return (
            Choices(
                ANSWER_ACTION,
                ref,
                tuple(Option(str(v), str(v)) for v in range(11)),
                ChoiceStyle.SCALE,
                "Not at all likely",
                "Extremely likely",
                selected,
            ),
        )
    if item.kind is ItemKind.YES_NO:
        return (Choices(ANSWER_ACTION, ref, (Option("Yes", "yes"), Option("No", "no")), selected=selected),)
    if item.kind is ItemKind.CHOICE:
        options = tuple(Option(label, str(i)) for i, label in enumerate(item.options))
        return (Choices(ANSWER_ACTION, ref, options, selected=selected),)
    return ()


def item_message(
    survey: Survey,
    occurrence: Occurrence,
    item: SurveyItem,
    person: Person,
    *,
    intro: bool = False,
    selected: str | None = None,
    prefix: str = "",
) -> Message:
    """One question of a run, as the person sees it."""
    head: list[Text | str] = []
    if prefix:
        head.append(prefix)
    if intro:
        privacy = "anonymous" if survey.anonymous else "not anonymous"
        count = plural(len(survey.items), "question")
        head.append(t(user(survey.name), f" ({kind_word(survey.kind)}, {count}, {privacy})"))
        if survey.intro:
            head.append(t(user(survey.intro)))
    question = t(f"Q{item.position}/{len(survey.items)}: ", user(item.text))
    if item.kind is ItemKind.TEXT:
        question = question + "\nReply here with your answer, or `skip`."
    context = f"Open until {when(occurrence.closes_at, person)}"
    # A tap can be changed by another; written words are kept as sent.
    context += "." if item.kind is ItemKind.TEXT else "; tap another answer to change yours until then."
    return Message(
        lines(*head, question), choices=item_choices(occurrence.id, item, selected), context=context
    )


def recipients_of(people: Sequence[Person], k: int) -> list[Recipient]:
    """Who a run goes to, each with their home team, unless fewer than ``k`` of the run are in it.

    Answers carry the recipient's team for per-team results; a team smaller than the minimum
    group size would make its few answers traceable, so its people count as "Other teams".
    """
    homes = [p.team_ids[0] if p.team_ids else None for p in people]
    sizes = Counter(homes)
    return [
        Recipient(p.id, home if sizes[home] >= k else None) for p, home in zip(people, homes, strict=True)
    ]


def prompt_key(occurrence_id: int, person_id: int) -> str:
    """The outbox key of a campaign's prompt to one person."""
    return f"occ:{occurrence_id}:prompt:p:{person_id}"


def item_key(occurrence_id: int, item_id: int, person_id: int) -> str:
    """Idempotency key of one question sent to one person."""
    return f"occ:{occurrence_id}:item:{item_id}:p:{person_id}"


async def start_run(
    env: Env,
    survey: Survey,
    *,
    key: str,
    schedule_id: int | None,
    wall: datetime | None = None,
    zone_name: str | None = None,
) -> tuple[Occurrence, int] | None:
    """Open a run and queue its first question for everyone in the audience.

    ``wall`` (naive) makes it a local-time run: each person gets it at that wall-clock time
    in their own zone. ``zone_name``, a schedule's zone: its open hours are counted on that zone's clocks (a
    Friday 09:00 pulse open 72 hours across the clocks going back closed at 08:00 on Monday). Returns None
    when a run with ``key`` exists (a repeated firing).
    """
    people = [
        p
        for p in await audience_people(env, survey.audience)
        if p.id != survey.owner_id and in_time(wall, p, env.now)
    ]
    send_at = {p.id: max(env.now, local_send_time(wall, p)) if wall else env.now for p in people}
    # Away on the day it reaches them, not on the day it first came somewhere: back on Monday, a Monday 09:00
    # local-time check-in (fired on Sunday evening in UTC) left them out.
    people = [p for p in people if not is_away(p, send_at[p.id])]
    first_send, last_send = min(send_at.values(), default=env.now), max(send_at.values(), default=env.now)
    closes_at = _hours_on(last_send, survey.open_hours, zone_name)
    due = {p.id: env.quiet_until(p, send_at[p.id]) for p in people}
    # Someone whose quiet hours outlast the run is not asked: the question would come once it had closed,
    # and they would count among those who did not answer.
    people = [p for p in people if due[p.id] < closes_at]
    occurrence = await env.tx.surveys.add_occurrence(
        key=key,
        kind=OccurrenceKind(survey.kind.value),
        target_id=survey.id,
        # A local-time run opens when its first recipient gets it, not when the scheduler fired it.
        opens_at=first_send,
        closes_at=closes_at,
        # Each person is reminded that long after their own first question (see remind): the first pass
        # comes for those who got it first.
        remind_at=first_send + timedelta(hours=survey.remind_after_hours)
        if survey.remind_after_hours is not None and survey.remind_after_hours < survey.open_hours
        else None,
        schedule_id=schedule_id,
        wall_day=wall.date() if wall else None,
    )
    if occurrence is None:
        return None
    await env.tx.surveys.add_recipients(occurrence.id, recipients_of(people, env.settings.min_group_size))
    first = survey.items[0]
    await env.send(
        NewDelivery(
            key=item_key(occurrence.id, first.id, p.id),
            person_id=p.id,
            not_before=due[p.id],
            group=f"occurrence:{occurrence.id}",
            message=item_message(survey, occurrence, first, p, intro=True),
            keep_time=True,  # the quiet hours are in not_before, from the people at hand
        )
        for p in people
    )
    if first.kind is ItemKind.TEXT:
        for p in people:
            await env.tx.conversations.set_awaiting(p.id, f"item:{occurrence.id}:{first.id}", at=env.now)
    return occurrence, len(people)


def _hours_on(at: datetime, hours: int, zone_name: str | None) -> datetime:
    """``hours`` after ``at`` as the clocks of ``zone_name`` read them (real hours without a zone)."""
    if zone_name is None:
        return at + timedelta(hours=hours)
    local = at.astimezone(zone(zone_name)).replace(tzinfo=None) + timedelta(hours=hours)
    return local.replace(tzinfo=zone(zone_name)).astimezone(zone("UTC"))


async def _open_run(env: Env, me: Person, occurrence_id: int) -> tuple[Occurrence, Survey, Recipient]:
    found = await env.tx.surveys.run_as_sent(occurrence_id, me.id)
    if found is None:
        raise Refusal("I can't find that survey any more.")
    occurrence, survey, recipient = found
    if occurrence.kind not in (OccurrenceKind.PULSE, OccurrenceKind.CHECKIN) or survey is None:
        raise Refusal("I can't find that survey any more.")
    if occurrence.closed or occurrence.closes_at <= env.now:
        raise Refusal(
            f"“{survey.name}” closed on {when(occurrence.closes_at, me)}, so answers can no longer "
            "be given or changed. Thank you all the same!"
        )
    if recipient is None:
        raise Refusal(f"“{survey.name}” wasn't sent to you, so you can't answer it.")
    return occurrence, survey, recipient


def _parse_value(item: SurveyItem, value: str) -> int:
    """The stored number of a button value, refusing anything the item doesn't offer."""
    valid = {o.value: o for c in item_choices(0, item) for o in c.options}
    if value not in valid:
        raise Refusal("That isn't one of the answers on offer. Please pick one of the buttons.")
    if item.kind is ItemKind.YES_NO:
        return 1 if value == "yes" else 0
    return int(value)


async def answer_choice(env: Env, me: Person, ref: str, value: str) -> Reply:
    """A click on a question's button: store (or change) the answer, then queue the next question."""
    try:
        occurrence_id, item_id = (int(part) for part in ref.split(":"))
    except ValueError as exc:
        raise Refusal("That button is out of date. Please use the latest message.") from exc
    occurrence, survey, recipient = await _open_run(env, me, occurrence_id)
    item = next((i for i in survey.items if i.id == item_id), None)
    if item is None:
        raise Refusal("That question is no longer part of the survey.")
    number = _parse_value(item, value)
    await _save(env, survey, occurrence, recipient, me, item, number=number)
    replace = item_message(survey, occurrence, item, me, selected=value, intro=item.position == 1)
    return Reply(replace=replace, messages=await _after_answer(env, survey, occurrence, me, item))


_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
# Welsh too (ie, do, oes / na, naddo, nac oes): Welsh public bodies offer services in both languages.
_YES = {
    "yes", "y", "yeah", "yea", "ya", "yep", "yup", "yes please", "sure", "of course", "definitely",
    "absolutely", "ie", "do", "oes",
}  # fmt: skip
_NO = {"no", "n", "nope", "nah", "no thanks", "not really", "not at all", "na", "naddo", "nac oes"}


def yes_or_no(text: str) -> str | None:
    """ "yes" or "no" for words that say it as people type on a phone ("Yess", "yes!!", "not really"), else
    None."""
    said = re.sub(r"(.)\1+$", r"\1", text.strip().lower().strip(".!? "))  # "yesss", "noo"
    return "yes" if said in _YES else "no" if said in _NO else None


def _typed_value(item: SurveyItem, text: str) -> str | None:
    """The button value that typed words stand for ("4", "4/5", "four", "yes", an option's words or its
    number), or None when they stand for none of them."""
    said = text.strip().lower().strip(".!").lstrip("#").strip()
    said = str(_NUMBER_WORDS.index(said)) if said in _NUMBER_WORDS else said
    if item.kind is ItemKind.YES_NO:
        return yes_or_no(said)
    if item.kind is ItemKind.CHOICE:
        for n, label in enumerate(item.options):
            if said in (label.casefold(), str(n + 1)):
                return str(n)
        return None
    values = range(1, 6) if item.kind is ItemKind.SCALE else range(11)
    # "4/5" is no answer on a scale out of 10 (stored as 4, it would mean something else), nor "8/10" on 5.
    scale = re.fullmatch(rf"(\d{{1,2}})\s*(?:/\s*{values[-1]}|out of {values[-1]})?", said)
    if scale is None:  # the words at either end: "strongly agree" is the 5
        ends = item_choices(0, item)[0]
        return {ends.low_label.lower(): str(values[0]), ends.high_label.lower(): str(values[-1])}.get(said)
    return scale[1].lstrip("0") or "0" if int(scale[1]) in values else None


async def reached(env: Env, run: Occurrence, item: SurveyItem, person: Person) -> bool:
    """Whether the question has reached the person: a local-time run waits for their own nine o'clock, and
    until then "4" typed is no answer to it, nor is it theirs to do."""
    due = await env.tx.outbox.due_at(item_key(run.id, item.id, person.id))
    return due is not None and due <= env.now


async def _waiting(env: Env, me: Person) -> list[tuple[Occurrence, Survey, SurveyItem]]:
    """The question waiting for ``me`` in each open pulse or check-in run (the first they were asked and have
    not answered), newest run first."""
    found = []
    for run in reversed(await env.tx.surveys.open_occurrences()):
        if run.kind is OccurrenceKind.CAMPAIGN or await env.tx.surveys.is_recipient(run.id, me.id) is None:
            continue
        survey = await env.tx.surveys.get_survey(run.target_id)
        if survey is None:
            continue
        answered = await answered_items(env, survey, run.id, me.id)
        for item in survey.items:
            if item.id not in answered and await reached(env, run, item, me):
                found.append((run, survey, item))
                break
    return found


async def waiting_button_questions(env: Env, me: Person) -> list[tuple[Occurrence, Survey, SurveyItem]]:
    """The questions with buttons ``me`` was asked and has not answered, one per open run, newest first."""
    return [waiting for waiting in await _waiting(env, me) if waiting[2].kind is not ItemKind.TEXT]


async def waiting_named(env: Env, me: Person) -> list[Survey]:
    """The surveys that are not anonymous with a question waiting for ``me``, oldest first: "is this
    anonymous?" asked while one waits is about that one."""
    return [survey for _run, survey, _item in reversed(await _waiting(env, me)) if not survey.anonymous]


async def answer_typed(env: Env, me: Person, text: str, *, only_answers: bool = False) -> Reply | None:
    """Words typed while questions with buttons wait (on Slack and Teams, typing reaches the bot as words):
    "4" or "yes" for the one waiting is stored as the tap would be, and said back with the survey's name and
    whether it is anonymous; other words, or any while two wait (the words could be for either, and one may
    not be anonymous), are told how to answer. None when no such question waits, or, with ``only_answers``
    (words that may be something else, as an idea for a campaign), when the words answer none of them."""
    waiting = await waiting_button_questions(env, me)
    answerable = [each for each in waiting if _typed_value(each[2], text) is not None]
    # "yes" with a scale and a yes-or-no question waiting is for the one, unless one is anonymous and the
    # other not: then the person, thinking of the other, could give a named answer believing it anonymous.
    alike = len({survey.anonymous for _run, survey, _item in waiting}) == 1
    if only_answers or (len(answerable) == 1 and alike):
        waiting = answerable
    elif len(waiting) > 1 and not answerable:  # "how do I see results?" is for neither
        return None
    if not waiting:
        return None
    if len(waiting) > 1:
        # Understood, but which is it for? "I didn't catch that" would say the words were wrong.
        names = [t("“", user(survey.name), "”") for _run, survey, _item in waiting]
        each = "both" if len(names) == 2 else "each of"
        hint = t(
            f"Questions wait for you in {each} ",
            *_joined(names),
            ", so I can't tell which that is for: tap the button on the question you mean.",
        )
        return Reply(messages=(Message(hint),))
    occurrence, survey, item = waiting[0]
    value = _typed_value(item, text)
    options = [o for c in item_choices(occurrence.id, item) for o in c.options]
    if value is None:
        if item.kind is ItemKind.YES_NO:
            typed = "yes or no"
        elif item.kind is ItemKind.CHOICE:
            typed = f"an answer's number (1 to {len(options)}) or its words"
        else:  # with what the ends mean, which a screen reader never reached on the buttons
            ends = item_choices(occurrence.id, item)[0]
            typed = f"{options[0].label} ({ends.low_label}) to {options[-1].label} ({ends.high_label})"
        hint = t(
            f"To answer Q{item.position} of “",
            user(survey.name),
            f"”, tap one of its buttons, or type {typed}.",
        )
        # "The van keeps breaking down" is worth keeping: say where such words go, as they go nowhere here.
        said = (
            " If you meant to tell us something, `idea <your idea>` shares it and `ask <question>` asks "
            "senior managers (start either with `anon` to stay anonymous)."
            if len(text.split()) >= SAYING_WORDS
            else ""
        )
        return Reply(messages=(Message(t("I didn't catch that. ", hint, said)),))
    # The question's message is left as it is: updated through the outbox, the answer would sit in a row
    # keyed by the person (a tap's update goes straight back to the platform, and is kept nowhere).
    tapped = await answer_choice(env, me, f"{occurrence.id}:{item.id}", value)
    label = next(o.label for o in options if o.value == value)
    privacy = "anonymous" if survey.anonymous else "not anonymous"
    noted = Message(
        t(f"Noted: {label}, for Q{item.position} of “", user(survey.name), f"” ({privacy})."),
        context="Tap another answer on the question to change it.",
    )
    return Reply(messages=(noted, *tapped.messages))


LATE_WINDOW = timedelta(days=3)  # how long after a run closes an answer typed for it is recognised as one


async def answer_too_late(env: Env, me: Person, text: str, *, written: bool = True) -> Reply | None:
    """Words that would answer a question of a run ``me`` was sent and that closed lately ("4" typed on
    the way home, after the pulse closed at noon; with ``written``, any words from someone whose next
    question there was a written one): said plainly that it closed, rather than "I didn't catch that", as
    the words are kept nowhere. None when the words answer nothing of the kind."""
    for survey in await env.tx.surveys.surveys():
        kind = OccurrenceKind(survey.kind.value)
        runs = await env.tx.surveys.occurrences(kind=kind, target_id=survey.id, limit=1)
        if not runs or not runs[0].closed or runs[0].closes_at < env.now - LATE_WINDOW:
            continue
        if await env.tx.surveys.is_recipient(runs[0].id, me.id) is None:
            continue
        buttons = [item for item in survey.items if item.kind is not ItemKind.TEXT]
        typed = any(_typed_value(item, text) is not None for item in buttons)
        if typed or (written and await _written_next(env, survey, runs[0], me)):
            closed = t(
                "“",
                user(survey.name),
                f"” closed on {when(runs[0].closes_at, me)}, so answers can no longer be given or changed. "
                "Thank you all the same!",
            )
            context = "" if typed else "If you meant something else, type `help` to see what you can do."
            return Reply(messages=(Message(closed, context=context),))
    return None


async def _written_next(env: Env, survey: Survey, run: Occurrence, me: Person) -> bool:
    """Whether the last question of the closed run that reached ``me`` asked for words. Who answered what
    is settled at close (see close_run), so the questions sent tell it, the next having come only on an
    answer, for as long as they are kept (a day: see PROGRESS_KEPT)."""
    sent = [item for item in survey.items if await reached(env, run, item, me)]
    return bool(sent) and sent[-1].kind is ItemKind.TEXT


def _joined(texts: Sequence[Text]) -> list[Text | str]:
    """``a``, ``a and b``, ``a, b and c``."""
    out: list[Text | str] = []
    for n, text in enumerate(texts):
        if n:
            out.append(" and " if n == len(texts) - 1 else ", ")
        out.append(text)
    return out


async def answer_text(
    env: Env,
    me: Person,
    occurrence_id: int,
    item_id: int,
    text: str,
    *,
    command: str | None = None,
    meant: str | None = None,
) -> Reply:
    """A free-text reply to an open question (``skip`` skips it).

    ``command``: the command word the words start with ("ask When is the pay award?"). They may be the
    answer ("Ask the rota team first") or a command typed while a question waited, so nothing is saved
    yet: they are shown back with Save as my answer and Run as a command, carried by the buttons.
    ``meant``: a command one word was close to ("hlep"): shown back the same way, offering that command.
    """
    occurrence, survey, recipient = await _open_run(env, me, occurrence_id)
    item = next((i for i in survey.items if i.id == item_id), None)
    if item is None:
        await env.tx.conversations.clear_awaiting(me.id)
        raise Refusal("That question is no longer part of the survey.")
    skipped = text.strip().lower() in SKIP_WORDS
    body = None if skipped else clean_text(text, what="answer", limit=PULSE_TEXT_MAX)
    fits = body is not None and utf16_units(f"{AS_COMMAND}:{body}") <= CHOICE_VALUE_MAX
    if body is not None and fits and (command is not None or meant is not None):
        options = (
            Option("Save as my answer", f"{AS_ANSWER}:{body}"),
            Option("Run as a command", f"{AS_COMMAND}:{meant or body}"),
        )
        context = (
            f"Did you mean `{meant}`? Tap Run as a command."
            if meant
            else f"It starts with `{command}`: if you meant that command, tap Run as a command."
        )
        return Reply(
            messages=(
                Message(
                    lines(t("Your answer to “", user(item.text), "”, or a command?"), t(user(body))),
                    choices=(Choices(WRITTEN_ACTION, f"{occurrence.id}:{item.id}", options),),
                    context=context,
                ),
            )
        )
    await env.tx.conversations.clear_awaiting(me.id)
    await _save(env, survey, occurrence, recipient, me, item, text=body)
    thanks = Message(t("Skipped." if skipped else "Thanks, noted."))
    return Reply(messages=(thanks, *await _after_answer(env, survey, occurrence, me, item)))


async def _save(
    env: Env,
    survey: Survey,
    occurrence: Occurrence,
    recipient: Recipient,
    me: Person,
    item: SurveyItem,
    *,
    number: int | None = None,
    text: str | None = None,
) -> None:
    await env.tx.surveys.save_answer(
        Answer(
            occurrence_id=occurrence.id,
            item_id=item.id,
            respondent=respondent_key(env, survey, occurrence.id, me.id),
            team_id=recipient.team_id,
            number=number,
            text=text,
            person_id=None if survey.anonymous else me.id,
        )
    )


async def answered_items(env: Env, survey: Survey, occurrence_id: int, person_id: int) -> set[int]:
    """The ids of the survey's items the person has answered in this run."""
    respondent = respondent_key(env, survey, occurrence_id, person_id)
    answers = await env.tx.surveys.answers_of(occurrence_id, respondent, [i.id for i in survey.items])
    return {a.item_id for a in answers}


async def _after_answer(
    env: Env, survey: Survey, occurrence: Occurrence, me: Person, item: SurveyItem
) -> tuple[Message, ...]:
    """Queue the next unanswered question, or say thanks when all are done."""
    answered = await answered_items(env, survey, occurrence.id, me.id)
    remaining = [i for i in survey.items if i.id not in answered]
    later = [i for i in remaining if i.position > item.position] or remaining
    if not later:
        until = when(occurrence.closes_at, me)
        change = (
            f" You can change a tapped answer until {until}."
            if any(i.kind is not ItemKind.TEXT for i in survey.items)
            else ""
        )
        done = Message(t(f"That's everything, thank you.{change}"))
        return (done, *await _resume_elsewhere(env, me, occurrence.id))
    upcoming = later[0]
    await env.send(
        [
            NewDelivery(
                key=item_key(occurrence.id, upcoming.id, me.id),
                person_id=me.id,
                group=f"occurrence:{occurrence.id}",
                message=item_message(survey, occurrence, upcoming, me),
                keep_time=True,  # they are answering: whatever the hour, they are there
            )
        ]
    )
    if upcoming.kind is ItemKind.TEXT:
        await env.tx.conversations.set_awaiting(me.id, f"item:{occurrence.id}:{upcoming.id}", at=env.now)
    return ()


async def _resume_elsewhere(env: Env, me: Person, finished: int) -> tuple[Message, ...]:
    """Ask again for a written answer another open run still waits for from ``me``, else reopen an open
    campaign's prompt to them.

    A person waits for one written answer at a time: a check-in's written question that came while a
    pulse's was waiting took its place, and the pulse's would never have been answered; a campaign prompt
    that came meanwhile waited behind it.
    """
    others = [run for run in await env.tx.surveys.open_occurrences() if run.id != finished]
    awaiting = await env.tx.conversations.awaiting(me.id) if others else None  # one query a tap, mostly
    for run in (run for run in others if run.kind is not OccurrenceKind.CAMPAIGN):
        survey = await env.tx.surveys.get_survey(run.target_id)
        if survey is None or await env.tx.surveys.is_recipient(run.id, me.id) is None:
            continue
        answered = await answered_items(env, survey, run.id, me.id)
        reached = max((i.position for i in survey.items if i.id in answered), default=0)
        waiting = next((i for i in survey.items if i.id not in answered and i.position > reached), None)
        if waiting is None or waiting.kind is not ItemKind.TEXT:
            continue
        if await env.tx.outbox.status_of(item_key(run.id, waiting.id, me.id)) is None:
            continue  # not asked yet
        asked = Message(
            t("Still waiting for your written answer, in ", user(survey.name), ": ", user(waiting.text)),
            context="Write it here, or `skip`.",
        )
        return await _wait_again(env, me, awaiting, f"item:{run.id}:{waiting.id}", asked)
    # A campaign's prompt that came while a written answer was waiting: its ideas are welcome here again.
    prompt = await _prompt_waiting(env, me.id, others)  # theirs, and in front of them already
    campaign = await env.tx.ideas.get_campaign(prompt.target_id) if prompt is not None else None
    if prompt is not None and campaign is not None:
        welcome = Message(
            t("Your ideas for “", user(campaign.name), "” are still welcome: write one here."),
            context="Or `idea <your idea>` any time.",
        )
        # Written with the prompt's own time, as for everyone it went to: a time of its own would date this
        # person's finishing the run, and any anonymous idea they share next.
        return await _wait_again(env, me, awaiting, f"campaign:{prompt.id}", welcome, at=prompt.opens_at)
    return ()


async def _wait_again(
    env: Env, me: Person, awaiting: str | None, state: str, say: Message, *, at: datetime | None = None
) -> tuple[Message, ...]:
    """Make ``state`` what ``me``'s next words answer (since ``at``, default now), and ``say`` so; nothing if
    it already was."""
    if state == awaiting:
        return ()
    await env.tx.conversations.set_awaiting(me.id, state, at=at or env.now)
    return (say,)


async def _prompt_waiting(env: Env, person_id: int, runs: Sequence[Occurrence]) -> Occurrence | None:
    """The first campaign run among ``runs`` (open ones) whose prompt is in front of the person."""
    for run in runs:
        if run.kind is not OccurrenceKind.CAMPAIGN or run.opens_at > env.now:
            continue
        if await env.tx.outbox.status_of(prompt_key(run.id, person_id)) is DeliveryStatus.SENT:
            return run
    return None


async def remind(env: Env, occurrence: Occurrence) -> int:
    """Remind the people who haven't finished, once each, of the question they are at, ``remind_after_hours``
    after their own first question (a local-time run reached Kolkata five and a half hours before London,
    and one reminder for everyone came at 22:30 there); how many were reminded in this pass. A pass leaves
    the rest for the next, at the time the earliest of them is due."""
    survey = await env.tx.surveys.get_survey(occurrence.target_id)
    if survey is None or occurrence.remind_at is None or survey.remind_after_hours is None:
        return 0
    first = survey.items[0]
    got = await env.tx.outbox.delivered_at(
        f"occurrence:{occurrence.id}", f"occ:{occurrence.id}:item:{first.id}:"
    )
    wait = timedelta(hours=survey.remind_after_hours)
    recipients = await env.tx.surveys.recipients(occurrence.id)
    due_at = {
        r.person_id: got.get(item_key(occurrence.id, first.id, r.person_id), occurrence.opens_at) + wait
        for r in recipients
    }
    later = [at for at in due_at.values() if at > env.now]
    # One pass at a time, even with ticks on several replicas: the pass that moves remind_at (or, for the
    # last, marks the run reminded) sends; each reminder's key keeps it to one per person anyway.
    if later:
        claimed = await env.tx.surveys.remind_later(occurrence.id, was=occurrence.remind_at, at=min(later))
    else:
        claimed = await env.tx.surveys.mark_reminded(occurrence.id)
    if not claimed:
        return 0
    answered = await env.tx.surveys.answer_counts(occurrence.id)
    deliveries = []
    for recipient in recipients:
        if not occurrence.remind_at <= due_at[recipient.person_id] <= env.now:  # earlier: an earlier pass's
            continue
        # Questions come one at a time, so how many someone answered says which is next; someone who
        # stopped part way is reminded of that one (their answers so far count either way).
        done = answered.get(respondent_key(env, survey, occurrence.id, recipient.person_id), 0)
        if done >= len(survey.items):
            continue
        person = await env.tx.directory.get_person(recipient.person_id)
        if person is None or not person.active or is_away(person, env.now):
            continue
        due = env.quiet_until(person, env.now)
        if due >= occurrence.closes_at:  # asleep until it has closed: a reminder then would only annoy
            continue
        closes = f"closes {when(occurrence.closes_at, person)}"
        left = len(survey.items) - done
        message = item_message(
            survey,
            occurrence,
            survey.items[done],
            person,
            intro=not done,
            prefix=f"Reminder: this {kind_word(survey.kind)} {closes}. It takes a minute."
            if not done
            else f"Reminder: {plural(left, 'question')} of this {kind_word(survey.kind)} still "
            f"{'waits' if left == 1 else 'wait'} for you; it {closes}.",
        )
        deliveries.append(
            NewDelivery(
                key=f"occ:{occurrence.id}:remind:p:{person.id}",
                person_id=person.id,
                group=f"occurrence:{occurrence.id}",
                message=message,
                not_before=due,
                keep_time=True,
            )
        )
    await env.send(deliveries)
    return len(deliveries)


async def close_run(env: Env, occurrence: Occurrence, *, by: Person | None = None) -> Survey | None:
    """Close a run once: its questions are updated in place to say so (and, closed by ``by`` before its time,
    who closed it early: the time it was open until was promised to everyone asked). None if already
    closed."""
    if not await env.tx.surveys.close(occurrence.id, at=env.now):
        return None
    await env.tx.surveys.settle_answers(occurrence.id)  # no trace of who answered when: see settle_answers
    survey = await env.tx.surveys.get_survey(occurrence.target_id)
    if survey is None:
        return None
    early = f" early by {by.display_name}" if by is not None and env.now < occurrence.closes_at else ""
    closed = t(
        user(survey.name),
        f": this {kind_word(survey.kind)} {'was closed' + early if early else 'has closed'}. Thank you to "
        "everyone who answered.",
    )
    # Each question keeps its words, so the chat still reads as a record (five identical lines, read out by
    # a screen reader, said nothing); the answer given is kept nowhere by person, so it cannot be shown.
    count = len(survey.items)
    kept = {
        f"item:{item.id}": Message(lines(closed, t(f"Q{item.position}/{count}: ", user(item.text))))
        for item in survey.items
    }
    keys = await env.tx.outbox.keys_in_group(f"occurrence:{occurrence.id}")
    await env.send(
        NewDelivery(key=f"{key}:closed", replaces=key, message=kept.get(_item_part(key), Message(closed)))
        for key in keys
        if not key.endswith(":closed")
    )
    still_open = await env.tx.surveys.open_occurrences()
    for recipient in await env.tx.surveys.recipients(occurrence.id):
        awaiting = await env.tx.conversations.awaiting(recipient.person_id)
        if not (awaiting and awaiting.startswith(f"item:{occurrence.id}:")):
            continue
        # Someone still at this run's written question: what waits behind it now waits, from the time it
        # came, exactly as for those who finished (whether their state survives must not say which they did).
        prompt = await _prompt_waiting(env, recipient.person_id, still_open)
        if prompt is None:
            await env.tx.conversations.clear_awaiting(recipient.person_id, awaiting)
        else:
            await env.tx.conversations.set_awaiting(
                recipient.person_id, f"campaign:{prompt.id}", at=prompt.opens_at
            )
    return survey


def _item_part(key: str) -> str:
    """``item:<id>`` of a question's key (see item_key); a reminder's key gives something else."""
    return ":".join(key.split(":")[2:4])


async def run_result(env: Env, survey: Survey, occurrence: Occurrence) -> RunResult:
    """Results of one run under the minimum group size."""
    names: dict[int | None, str] = {team.id: team.name for team in await env.tx.directory.teams()}
    # Counted in the database: only free text has to be read answer by answer.
    written = [item.id for item in survey.items if item.kind is ItemKind.TEXT]
    return summarise_counts(
        items=survey.items,
        invited=await env.tx.surveys.invited(occurrence.id),
        counts=await env.tx.surveys.counts(occurrence.id),
        texts=await env.tx.surveys.answers(occurrence.id, written) if written else [],
        team_names=names,
        k=env.settings.min_group_size,
    )


def _figure_line(
    label: str,
    kind: ItemKind,
    n: int,
    withheld: str,
    mean: float | None,
    enps: int | None,
    counts: Sequence[tuple[str, int]],
) -> str:
    if withheld:
        return f"  {label}: withheld ({withheld})"
    parts = [f"n={n}"]
    if kind is ItemKind.ENPS and enps is not None:
        parts.append(f"eNPS {enps:+d}")
    if mean is not None:
        parts.append(f"mean {rounded(mean, 1)}")
    if counts and kind is not ItemKind.ENPS:
        parts.append("  ".join(f"{lbl}: {c}" for lbl, c in counts))
    return f"  {label}: " + ", ".join(parts)


def render_result(
    survey: Survey, occurrence: Occurrence, result: RunResult, me: Person | None, *, texts: bool = True
) -> Text:
    """Results as text: response rate, then per item overall and per-team figures."""
    state = "closed" if occurrence.closed else f"open until {when(occurrence.closes_at, me)}"
    out: list[Text | str] = [
        t(user(survey.name), f" — run of {run_day(occurrence, me)} ({state})"),
        f"Responses: {result.responded} of {result.invited} ({result.share})",
    ]
    for item_result in result.items:
        item = item_result.item
        out.append(t(f"Q{item.position}. ", user(item.text)))
        o = item_result.overall
        if item.kind is ItemKind.TEXT:
            # Say why words are not shown, so nobody thinks they were lost or the digest is broken.
            why = ""
            if o.withheld and o.n:
                why = f": not shown ({o.withheld}; words can tell who wrote them in a small group)"
            out.append(f"  {plural(o.n, 'written answer')}{why}" if o.n else "  No written answers.")
            if texts:  # the same words from many once, with how many wrote them: the signal, not the noise
                said = Counter(text.strip() for text in item_result.texts)
                out.extend(t("  • ", user(text), f" (×{n})" if n > 1 else "") for text, n in said.items())
            continue
        out.append(_figure_line(o.label, item.kind, o.n, o.withheld, o.mean, o.enps, o.counts))
        withheld: dict[str, list[str]] = {}
        for f in item_result.teams:
            if f.withheld:
                withheld.setdefault(f.withheld, []).append(f.label)
            else:
                out.append(_figure_line(f.label, item.kind, f.n, f.withheld, f.mean, f.enps, f.counts))
        # One line a reason, not one a team: on a phone the figures that can be shown come first.
        out.extend(f"  Withheld, {why}: {', '.join(labels)}" for why, labels in withheld.items())
    return lines(*out)


async def trend(
    env: Env, survey: Survey, me: Person | None, known: Mapping[int, RunResult] | None = None
) -> Text | None:
    """How many answered, and the overall score of each numeric question, across the latest closed runs,
    oldest first (an open run's would change with each answer, see ``survey_commands._results``).

    ``known``: results already computed, by run id (each run's answers are read once, not twice).
    """
    latest = await env.tx.surveys.occurrences(
        kind=OccurrenceKind(survey.kind.value), target_id=survey.id, limit=7
    )
    runs = list(reversed([run for run in latest if run.closed][:6]))
    if len(runs) < 2:
        return None
    known = known or {}
    k = env.settings.min_group_size
    overall: list[tuple[Occurrence, dict[int, Figures]]] = []
    for run in runs:
        if run.id in known:
            overall.append((run, {result.item.id: result.overall for result in known[run.id].items}))
        else:  # counted in the database: a trend must not read every answer of six runs
            tallies = await env.tx.surveys.tallies(run.id)
            numeric = (item for item in survey.items if item.kind.numeric)
            overall.append(
                (run, {item.id: overall_from_tally(item, tallies.get(item.id), k) for item in numeric})
            )
    out: list[Text | str] = ["Trend across runs (oldest first):"]
    # How many answered is often the first sign: of people giving up on being heard, or of a team in trouble.
    answered = []
    for run in runs:
        result = known.get(run.id)
        responded = result.responded if result else await env.tx.surveys.respondent_count(run.id)
        invited = result.invited if result else await env.tx.surveys.invited(run.id)
        answered.append(f"{run_day(run, me)} {responded}/{invited}")
    out.append(t("  Answered: " + " → ".join(answered)))
    for item in survey.items:
        if not item.kind.numeric:
            continue
        points = []
        for run, by_item in overall:
            figures = by_item[item.id]
            score = figures.enps if item.kind is ItemKind.ENPS else figures.mean
            shown = (
                "withheld"
                if figures.withheld or score is None
                else (f"{score:+d}" if isinstance(score, int) else f"{rounded(score, 1)}")
            )
            points.append(f"{run_day(run, me)} {shown}")
        label = "eNPS" if item.kind is ItemKind.ENPS else "mean"
        out.append(t(f"  Q{item.position} {label}: " + " → ".join(points)))
    return lines(*out)
