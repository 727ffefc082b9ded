"""The core's single entry point: adapters hand it events, the scheduler hands it firings."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from dialogue.anonymity import Pseudonymiser
from dialogue.args import Args
from dialogue.commands import close_command, help_reply, lookup, run_command, runs_while_writing, unmistakable
from dialogue.directory import Person, Role
from dialogue.errors import Refusal
from dialogue.events import (
    Chose,
    Command,
    Event,
    Identity,
    Profile,
    ProfileLookup,
    Said,
    Submitted,
    ThreadReply,
    cleaned,
    storable,
)
from dialogue.flows import campaigns, home, ideas, questions, replies, surveys
from dialogue.flows.env import Env
from dialogue.flows.survey_commands import finish
from dialogue.ideas import parse_status
from dialogue.messages import Form, Message, Reply
from dialogue.pages import paged_reply
from dialogue.ports import Clock, Repositories, Store
from dialogue.schedules import EARLIEST_ZONE, Schedule, occurrence_key
from dialogue.settings import DialogueSettings
from dialogue.smalltalk import is_greeting, is_privacy_question, is_stop, small_talk
from dialogue.surveys import Occurrence, OccurrenceKind
from dialogue.text import lines, t, user

log = logging.getLogger(__name__)

# A closed run's questions after the first are forgotten this long after it closed (its "closed" updates
# have gone out by then): they say how far each person got, which ties answers to people.
PROGRESS_KEPT = timedelta(days=1)
ARRIVALS_KEPT = timedelta(days=2)  # how long an event's arrival is remembered, so its retry counts once
_WRITTEN = {"item", "campaign", "checkin-reply"}  # conversation states that wait for written words
_STILL_WELCOME = {  # said under small talk while words are awaited
    "item": "The question waiting for you still takes a written answer here, or `skip`.",
    "campaign": "An idea for the campaign is still welcome: write it here.",
    "checkin-reply": "Your reply to the digest (“you said, we did”) is still welcome: write it here.",
}
# First words of "take that back": "delete 1", "undo", "that was a mistake, remove it".
TAKE_BACK = {"withdraw", "delete", "remove", "undo", "cancel", "unsend", "retract"}
_T = TypeVar("_T")

Arrival = Callable[[Repositories], Awaitable[bool]]
"""Records that an event arrived (a platform's activity id, say), in the event's own unit of work; False if
it had arrived before."""


class _SeenBefore(Exception):
    """The event's arrival was recorded before: it was handled then (nothing written now)."""


class _Stranger(Exception):
    """The event comes from someone not met yet whose profile is still to be fetched (nothing written)."""


class Dialogue:
    """All four conversations (ideas, pulses, questions, check-ins) behind one object."""

    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        pseudonymiser: Pseudonymiser,
        settings: DialogueSettings | None = None,
        concurrency: int | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.pseudonymiser = pseudonymiser
        self.settings = settings or DialogueSettings()
        # At most ``concurrency`` events are handled at once; the rest wait their turn. Under a burst
        # (a pulse answered by thousands) this keeps the database pool from running dry, which would
        # fail events that a platform was already told had arrived.
        self._turns: AbstractAsyncContextManager[Any] = (
            asyncio.Semaphore(concurrency) if concurrency else contextlib.nullcontext()
        )

    @asynccontextmanager
    async def _unit(self, *, read_only: bool = False) -> AsyncIterator[Env]:
        async with self.store.transaction(read_only=read_only) as tx:
            yield Env(tx=tx, now=self.clock.now(), settings=self.settings, anon=self.pseudonymiser)

    async def handle(
        self, event: Event, fetch_profile: ProfileLookup | None = None, arrival: Arrival | None = None
    ) -> Reply:
        """Answer one inbound event; proactive messages to others go to the outbox.

        A refusal rolls the whole event back, so bad input changes nothing. ``fetch_profile`` gets the
        person's profile from their platform; it is called, outside any transaction, only for someone the
        core has not met (who is then created with it), so known people cost no platform call.

        ``arrival`` runs first in the event's unit of work, so the event and the record of its arrival are
        written together or not at all (one transaction, and a failure leaves the platform's retry to be
        handled). If it says the event arrived before, nothing is done and the reply is ``seen_before``.
        A refused event still counts as arrived (a retry would repeat the refusal's message), except a
        refused form: its errors show on the form itself, and the same form sent again unchanged must show
        them again, not pass as done.
        """
        try:
            reply = await self._met(fetch_profile, event, functools.partial(self._handle, arrival=arrival))
            return paged_reply(reply)  # long results or an idea's whole thread arrive whole, in parts
        except _SeenBefore:
            return Reply(seen_before=True)
        except Refusal as refusal:
            if arrival is not None and not isinstance(event, Submitted):
                async with self._unit() as env:
                    await arrival(env.tx)
            if isinstance(event, Submitted) and refusal.field:
                return Reply(form_errors={refusal.field: refusal.message}, form=await self._form_again(event))
            if refusal.written and isinstance(event, Command):  # a slash command's text is kept nowhere else
                shown_back = lines(
                    t(refusal.message), t("What you wrote, to shorten:"), t(user(refusal.written))
                )
                return paged_reply(Reply(messages=(Message(shown_back),)))
            return Reply(messages=(Message(t(refusal.message)),))

    async def unanswered(self, person_id: int) -> set[str]:
        """The refs of the pulse and check-in questions with buttons ``person_id`` has still to answer (a
        console started again reprints only those, so a number there cannot change an answer given before)."""
        async with self._unit(read_only=True) as env:
            me = await env.tx.directory.get_person(person_id)
            if me is None:
                return set()
            return {
                f"{run.id}:{item.id}"
                for run, _survey, item in await surveys.waiting_button_questions(env, me)
            }

    async def _form_again(self, event: Submitted) -> Form | None:
        """The form ``event`` was sent from, drawn again so a platform that shows a form in place (a Teams
        card) can show the errors beside its fields; None if it is gone (its idea or question deleted)."""
        async with self._unit(read_only=True) as env:
            try:
                if event.form == ideas.IDEA_FORM:
                    try:
                        return (await campaigns.open_form(env, event.ref)).form
                    except Refusal:  # its campaign has closed: the idea is taken all the same
                        return ideas.idea_form()
                kind, _, number = event.ref.rpartition(":")
                if event.form == ideas.STATUS_FORM and kind == "idea" and number.isdigit():
                    return ideas.status_form(await ideas.get_idea(env, int(number)))
                if event.form == questions.ANSWER_FORM and event.ref.isdigit():
                    return questions.answer_form(await questions.get_question(env, int(event.ref)))
            except Refusal:
                return None
            return None

    async def _handle(self, event: Event, may_create: bool, arrival: Arrival | None = None) -> Reply:
        async with self._turns, self._unit() as env:
            if arrival is not None and not await arrival(env.tx):
                raise _SeenBefore
            return await self._dispatch(env, await self._whom(env, event, may_create), event)

    async def overview(
        self, who: Identity, profile: Profile | None = None, fetch_profile: ProfileLookup | None = None
    ) -> tuple[Message, ...]:
        """The person's overview (App Home, a personal tab): their ideas, what to answer, open questions."""

        async def run(event: Event, may_create: bool) -> tuple[Message, ...]:
            async with self._unit() as env:
                return await home.overview(env, await self._whom(env, event, may_create))

        return await self._met(fetch_profile, Command(who, "", profile or Profile()), run)

    @staticmethod
    async def _met(
        fetch_profile: ProfileLookup | None, event: Event, run: Callable[[Event, bool], Awaitable[_T]]
    ) -> _T:
        """``run(event, may_create)``. With ``fetch_profile``, the first run may not create anyone; for a
        new person their profile is fetched and the event run again with it."""
        event = cleaned(event)
        if fetch_profile is None:
            return await run(event, True)
        try:
            return await run(event, False)
        except _Stranger:
            return await run(cleaned(replace(event, profile=await fetch_profile())), True)

    async def command_as(self, handle: str, text: str) -> Reply:
        """Run one command line as the person with ``handle``, exactly as if they had typed it (roles
        checked), for operators' tools such as ``nextpractice pulse send``. No platform identity is
        linked or touched, so their messages keep going where they went.

        Raises :class:`~dialogue.errors.Refusal` (and changes nothing) when the command is refused.
        """
        async with self._unit() as env:
            me = await env.by_handle(handle)
            if not me.active:
                raise Refusal(f"{me.handle} is switched off, so cannot do this.")
            return await run_command(env, me, storable(text))

    async def _whom(self, env: Env, event: Event, may_create: bool) -> Person:
        """The person behind the event's identity; someone new is added as staff (in the event's unit of
        work: a refused first event leaves no trace) if ``may_create``, else :class:`_Stranger` is raised."""
        who = event.who
        directory = env.tx.directory
        person = await directory.person_by_identity(who)
        if person is None and who.platform == "console":
            person = await directory.person_by_handle(who.user_id)
        if person is None and not may_create:
            raise _Stranger
        if person is None:
            name = event.profile.display_name or who.user_id
            person = await directory.upsert_person(
                handle=await self._free_handle(env, name),
                display_name=name,
                time_zone=event.profile.time_zone or "UTC",
                roles={Role.STAFF},
            )
        await directory.add_identity(person.id, who)
        if not person.active:
            raise Refusal("Your account here is switched off. Please ask your administrator.")
        return person

    async def _free_handle(self, env: Env, name: str) -> str:
        base = re.sub(r"[^a-z0-9]+", "", name.lower().split(" ")[0]) or "someone"
        handle, n = base, 1
        while await env.tx.directory.person_by_handle(handle) is not None:
            n += 1
            handle = f"{base}{n}"
        return handle

    async def _dispatch(self, env: Env, me: Person, event: Event) -> Reply:
        if isinstance(event, Command):
            return await run_command(env, me, event.text) if event.text.strip() else help_reply(me)
        if isinstance(event, Said):
            return await self._said(env, me, event.text)
        if isinstance(event, Chose):
            return await self._chose(env, me, event)
        if isinstance(event, Submitted):
            return await self._submitted(env, me, event)
        return await self._thread_reply(env, me, event)

    async def _said(self, env: Env, me: Person, text: str) -> Reply:
        """Free text: a command, else the answer to an open prompt, else a friendly pointer to help.

        While the bot waits for someone's written words (a pulse answer, an idea for a campaign, a leader's
        reply to a check-in digest), text that only starts with a command word is those words: "Ask the rota
        team first" must not become a question posted in the open under the person's name, nor "Help with
        paperwork" an unknown command. Only a short unmistakable command, or one that ends in words of its
        own, runs (:func:`runs_while_writing`), or any command once what was waiting has closed; other words
        that start with a command word are shown back with the offer to run them. With nothing waiting,
        words that start with "ask" but do not read like a question ("Ask the families to tell us...", no
        question mark) are shown back before anything is posted in the open (:func:`questions.check_ask`),
        and words that answer the question with buttons someone was asked last ("4", "yes") answer it.
        """
        lead = Args(text)
        if lead.anonymous() and lead.peek() == "ask":  # "anonymously ask Is the restructure going ahead?"
            lead.word("ask")
            text = f"ask anon {lead.rest()}"
        words = text.split()
        spec = lookup(words[0]) if words else None
        command = spec.name if spec is not None else None
        awaiting = await env.tx.conversations.awaiting(me.id)
        kind, _, ref = (awaiting or "").partition(":")
        waiting = kind in _WRITTEN and await _still_waiting(env, kind, ref)
        if command is not None and (
            not waiting
            or runs_while_writing(words)
            or (kind == "campaign" and command == "idea")  # an idea, said as such: shared as typed
            or (kind == "campaign" and command == "ask" and "?" in text)  # a question, said as such
        ):
            return await _run_typed(env, me, text)
        # "thanks", "stop", "hello": not a pulse answer, an idea nor a reply to everyone asked.
        named = [s.name for s in await surveys.waiting_named(env, me)] if is_privacy_question(text) else []
        if (talk := small_talk(text, env.settings.min_group_size, named=named)) is not None:
            # After "stop", nothing more is asked for.
            if kind in _STILL_WELCOME and await _still_waiting(env, kind, ref) and not is_stop(text):
                talk = replace(talk, context=_STILL_WELCOME[kind])
            return Reply(messages=(talk,))
        if is_greeting(text) and kind != "item":  # "Morning" can answer "When suits you best?"
            return help_reply(me)
        if awaiting:
            if kind == "item":
                occurrence_id, item_id = (int(x) for x in ref.split(":"))
                # "hlep" typed in a hurry must not be kept as an anonymous answer without a word.
                meant = close_command(words[0]) if command is None and len(words) == 1 else None
                return await surveys.answer_text(
                    env, me, occurrence_id, item_id, text, command=command, meant=meant
                )
            if kind == "campaign":
                # "4" or "yes" for a pulse question is its answer, though a campaign prompt waits too.
                if (typed := await surveys.answer_typed(env, me, text, only_answers=True)) is not None:
                    return typed
                if (late := await surveys.answer_too_late(env, me, text, written=False)) is not None:
                    return late  # "four" after the pulse closed is no idea either
                return await ideas.reply_to_campaign(env, me, int(ref), text, command=command)
            if kind == "checkin-reply":
                return await replies.draft(env, me, int(ref), text, command=command)
        # "4" or "yes" typed for a question with buttons (Slack and Teams send typing as words).
        if (typed := await surveys.answer_typed(env, me, text)) is not None:
            return typed
        if (late := await surveys.answer_too_late(env, me, text, written=False)) is not None:
            return late
        if (answering := await questions.check_typed_answer(env, me, text)) is not None:
            return answering
        if (following := await questions.check_typed_followup(env, me, text)) is not None:
            return following
        if words and words[0].lower().strip(".!") in TAKE_BACK:
            raise Refusal(
                "To take back a question of yours that nobody has answered yet, type "
                "`questions withdraw <number>` (`questions mine` lists yours); an idea of yours no manager "
                "has moved on yet, `ideas withdraw <number>` (`ideas mine`)."
            )
        # Last: whether they had answered the written question is not known after close, so only words
        # nothing else takes are said to be too late for it.
        if (late := await surveys.answer_too_late(env, me, text)) is not None:
            return late
        raise Refusal(
            "I didn't catch that. Type `help` to see what you can do, or `idea <your idea>` to share one."
        )

    async def _chose(self, env: Env, me: Person, event: Chose) -> Reply:
        if event.action == surveys.ANSWER_ACTION:
            return await surveys.answer_choice(env, me, event.ref, event.value)
        if event.action == surveys.WRITTEN_ACTION and re.fullmatch(r"\d+:\d+", event.ref):
            how, _, written = event.value.partition(":")
            if how == surveys.AS_COMMAND:  # the question still waits for its answer
                return await _as_command(env, me, written)
            occurrence_id, item_id = (int(x) for x in event.ref.split(":"))
            saved = await surveys.answer_text(env, me, occurrence_id, item_id, written)
            return replace(saved, replace=Message(lines(t("Saved as your answer:"), t(user(written)))))
        if event.action == ideas.CAMPAIGN_REPLY_ACTION and event.ref.isdigit():
            how, _, written = event.value.partition(":")
            if how == ideas.COMMAND:
                return await _as_command(env, me, written)
            if how == ideas.ASK:  # shown back with the ways to ask (named or not): nothing is posted yet
                asking = await questions.check_ask(env, me, written, words=written)
                return replace(asking, replace=Message(lines(t("Not shared as an idea:"), t(user(written)))))
            return await ideas.share_campaign_reply(env, me, int(event.ref), event.value)
        if event.action == ideas.WHICH_ACTION:
            return await ideas.share_which(env, me, event.value)
        if event.action == campaigns.SHARE_ACTION:
            return await campaigns.open_form(env, event.ref)
        if event.action == "idea.act" and event.ref.isdigit():
            if event.value == "vote":
                return await ideas.vote(env, me, int(event.ref))
            if event.value == "status" and me.is_manager:
                return Reply(form=ideas.status_form(await ideas.get_idea(env, int(event.ref))))
        if event.action == replies.CONFIRM_ACTION and event.ref.isdigit():
            if event.value == replies.RUN:
                return await _as_command(env, me, await replies.take_draft(env, me, int(event.ref)))
            return await replies.confirm(env, me, int(event.ref), event.value)
        if event.action == questions.ASK_ACTION:
            how, _, written = event.value.partition(":")
            if how in (questions.NAMED, questions.ANONYMOUS):
                asked = await questions.ask(env, me, written, anonymous=how == questions.ANONYMOUS)
                return replace(asked, replace=Message(lines(t("Asked:"), t(user(written)))))
            if how in (questions.AS_IDEA, questions.AS_ANONYMOUS_IDEA):
                anonymous = how == questions.AS_ANONYMOUS_IDEA
                shared = await ideas.submit(env, me, written, anonymous=anonymous, campaign_id=None)
                return replace(shared, replace=Message(lines(t("Shared as an idea:"), t(user(written)))))
            return Reply(messages=(Message(t("Nothing was posted.")),), replace=Message(t("Not asked.")))
        if event.action == questions.TYPED_ANSWER_ACTION:
            return await questions.answer_typed(env, me, event.value)
        if event.action == questions.TYPED_FOLLOWUP_ACTION:
            return await questions.followup_typed(env, me, event.value)
        if event.action == questions.THREAD_REPLY_ACTION and event.ref.isdigit():
            return await questions.thread_reply_as(env, me, int(event.ref), event.value)
        if event.action == questions.UPVOTE_ACTION and event.ref.isdigit():
            return await questions.upvote(env, me, int(event.ref))
        if event.action == questions.ANSWER_ACTION and event.ref.isdigit():
            if not me.is_manager:
                raise Refusal(
                    "Only managers and senior leaders can answer questions. You can upvote it or follow up."
                )
            return Reply(form=questions.answer_form(await questions.get_question(env, int(event.ref))))
        raise Refusal("That button is out of date or not for you. Type `help` to see what you can do.")

    async def _submitted(self, env: Env, me: Person, event: Submitted) -> Reply:
        values = event.values
        if event.form == ideas.IDEA_FORM:
            campaign_id = None
            if event.ref.startswith("campaign:") and event.ref.split(":")[1].isdigit():
                occurrence = await env.tx.surveys.get_occurrence(int(event.ref.split(":")[1]))
                if occurrence is not None and not occurrence.closed:
                    campaign_id = occurrence.target_id
                    if values.get("anonymous") != "yes":  # see ideas.awaited_campaign
                        await env.tx.conversations.clear_awaiting(me.id, f"campaign:{occurrence.id}")
            return await ideas.submit(
                env,
                me,
                values.get("idea", ""),
                anonymous=values.get("anonymous") == "yes",
                campaign_id=campaign_id,
                field="idea",
            )
        if event.form == ideas.STATUS_FORM and event.ref.startswith("idea:") and me.is_manager:
            idea = await ideas.get_idea(env, int(event.ref.split(":")[1]))
            status = parse_status(values.get("status", ""))
            if status is None:
                raise Refusal("Please choose the new status.", field="status")
            return await ideas.change_status(env, me, idea, status, values.get("reason", ""))
        if event.form == questions.ANSWER_FORM and event.ref.isdigit() and me.is_manager:
            question = await questions.get_question(env, int(event.ref))
            return await questions.answer(env, me, question, values.get("answer", ""))
        raise Refusal("That form is out of date or not for you. Type `help` to see what you can do.")

    async def _thread_reply(self, env: Env, me: Person, event: ThreadReply) -> Reply:
        kind, _, ref = event.thread.partition(":")
        if kind != "question" or not ref.isdigit():
            raise Refusal("I can only follow threads of questions.")
        question = await questions.get_question(env, int(ref))
        # The post says "Senior managers answer here": a manager's or leader's reply there may be their answer
        # or a question back; they say which (the same offer to every one of them, the anonymous asker too).
        if me.is_manager and question.asker_id != me.id:
            offer = questions.answer_or_followup(question, me, event.text, event.who.platform)
            if offer is not None:  # else too long to ride in a button: a follow-up, as before
                return offer
        return await questions.followup(env, me, question, event.text, in_thread_on=event.who.platform)

    async def fire(self, schedule: Schedule, due: datetime) -> int | None:
        """Enqueue the run of ``schedule`` due at ``due`` (UTC); the new occurrence id, or None if
        that run was already enqueued (a repeat firing is harmless)."""
        key = occurrence_key(schedule.id, due)
        # A local-time schedule fires first where that wall-clock time comes first on earth;
        # each delivery then waits for the same wall-clock time in its recipient's zone.
        wall = due.astimezone(ZoneInfo(EARLIEST_ZONE)).replace(tzinfo=None) if schedule.local_time else None
        async with self._unit() as env:
            latest = await env.tx.surveys.occurrences(
                kind=schedule.kind, target_id=schedule.target_id, limit=1
            )
            out = latest and not latest[0].closed and latest[0].key != key
            if out and latest[0].closes_at <= due:
                # It closes as this one is due (a weekly campaign open a week): closed first, whether or not
                # housekeeping came round before this firing, or every other week was skipped.
                await self._close(env, latest[0])
            elif out:
                # Still out (sent by hand, or open longer than its cadence): a second run would ask everyone
                # the same again, which `pulse send` and `campaign send` refuse too.
                log.info(
                    "%s #%d not sent at %s: run #%d is still open",
                    schedule.kind.value,
                    schedule.target_id,
                    due,
                    latest[0].id,
                )
                return None
            if schedule.kind is OccurrenceKind.CAMPAIGN:
                campaign = await env.tx.ideas.get_campaign(schedule.target_id)
                if campaign is None or not campaign.active:
                    return None
                started = await campaigns.start_campaign(
                    env, campaign, key=key, schedule_id=schedule.id, wall=wall
                )
            else:
                survey = await env.tx.surveys.get_survey(schedule.target_id)
                if survey is None or not survey.items:
                    return None
                started = await surveys.start_run(
                    env,
                    survey,
                    key=key,
                    schedule_id=schedule.id,
                    wall=wall,
                    zone_name=None if schedule.local_time else schedule.time_zone,
                )
            return started[0].id if started else None

    async def tick(self) -> None:
        """Housekeeping due by now: close runs (digests, in-place updates), send reminders to
        non-respondents, flag overdue questions, forget old arrivals. Each happens once, even if ticks
        overlap."""
        async with self._unit() as env:
            for occurrence in await env.tx.surveys.due_to_close(env.now):
                await self._close(env, occurrence)
            for occurrence in await env.tx.surveys.due_reminders(env.now):
                if occurrence.kind is not OccurrenceKind.CAMPAIGN:
                    await surveys.remind(env, occurrence)
            await questions.flag_overdue(env)
            await questions.remind_moderators(env)
            # Platforms retry within minutes (Slack over an hour at most): older arrival records only grow.
            await env.tx.inbox.forget_before(env.now - ARRIVALS_KEPT)
            # When someone was on leave (perhaps off sick) is kept no longer than it is of use: a day after
            # their return, once it has come everywhere on earth.
            await env.tx.directory.forget_away((env.now - timedelta(days=1)).date())
            for occurrence in await env.tx.surveys.to_forget(env.now - PROGRESS_KEPT):
                survey = await env.tx.surveys.get_survey(occurrence.target_id)
                if await env.tx.surveys.mark_forgotten(occurrence.id) and survey and survey.items:
                    await env.tx.outbox.forget_progress(occurrence.id, survey.items[0].id)

    @staticmethod
    async def _close(env: Env, occurrence: Occurrence) -> None:
        """Close a run once, as its kind closes (a campaign's prompts; a survey's results and digests)."""
        if occurrence.kind is OccurrenceKind.CAMPAIGN:
            await campaigns.close_campaign(env, occurrence)
        else:
            await finish(env, occurrence)

    async def next_event(self, after: datetime) -> datetime | None:
        """When :meth:`tick` next has something to do after ``after`` (for moving a clock)."""
        wait = timedelta(days=self.settings.overdue_days)
        async with self.store.transaction() as tx:
            candidates = [await tx.surveys.next_event(after)]
            asked = await tx.questions.next_overdue(after - wait)
            candidates.append(asked + wait if asked else None)
            held = await tx.questions.next_held(after - questions.HELD_TOO_LONG)
            candidates.append(held + questions.HELD_TOO_LONG if held else None)
        found = [c for c in candidates if c is not None]
        return min(found) if found else None


async def _as_command(env: Env, me: Person, written: str) -> Reply:
    """Words shown back with Run as a command, run as typed; the show-back then says so, without buttons.
    A question among them is shown back once more, with the choice of asking it anonymously: whoever tapped
    was in the middle of something anonymous, perhaps, and "Run as a command" does not say "with my name"."""
    ran = await _run_typed(env, me, written, check_any_ask=True)
    return replace(ran, replace=Message(lines(t("Run as a command:"), t(user(written)))))


async def _run_typed(env: Env, me: Person, text: str, *, check_any_ask: bool = False) -> Reply:
    """A command typed in the chat (not a slash command). Words starting with "ask" that do not read like a
    question ("Ask the families to tell us...", no question mark, no "anon" or "to @leader") are shown back
    before anything is posted in the open under the person's name (:func:`questions.check_ask`)."""
    words = text.split()
    spec = lookup(words[0]) if words else None
    if (
        spec is not None
        and spec.name == "ask"
        and ("?" not in text or check_any_ask)
        and not unmistakable(words)
        and questions.fits_check(text)
    ):
        return await questions.check_ask(env, me, text)
    return await run_command(env, me, storable(text))


async def _still_waiting(env: Env, kind: str, ref: str) -> bool:
    """Whether the run a person's written words were waiting for still takes them (a pulse or campaign still
    open, a digest not yet replied to)."""
    occurrence = await env.tx.surveys.get_occurrence(int(ref.split(":")[0]))
    if occurrence is None:
        return False
    return not occurrence.reply_text if kind == "checkin-reply" else not occurrence.closed
