"""The Teams bot: a ``TeamsActivityHandler`` whose handlers only translate between Teams and the core.

Messages become :class:`~dialogue.events.Said` (personal chat) or
:class:`~dialogue.events.ThreadReply` (a reply in a question's channel thread); Universal Actions
(``adaptiveCard/action``) become :class:`~dialogue.events.Chose` or
:class:`~dialogue.events.Submitted`, answered with the refreshed card. Every turn also stores the
conversation reference, so the outbox can reach the person later from any replica.

Teams waits about five seconds for a tap's answer, then tries again and shows an error. A tap whose work
outlasts ``patience`` (one queued behind a burst of others) is answered then with a short note, and its
card is refreshed (or its note sent) when the work is done, as Slack's clicks are.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from botbuilder.core import CardFactory, InvokeResponse, MessageFactory, TurnContext
from botbuilder.core.teams import TeamsActivityHandler
from botbuilder.schema import (
    Activity,
    AdaptiveCardInvokeResponse,
    AdaptiveCardInvokeValue,
    ChannelAccount,
    ConversationReference,
)

from adapters.background import Background, within
from adapters.teams.connector import as_json
from adapters.teams.render import card, card_with_errors, decode_action, form_card, form_values, summary
from dialogue.errors import NOT_SAVED
from dialogue.events import Chose, Event, Identity, Profile, Said, Submitted, ThreadReply
from dialogue.messages import Message, Reply

log = logging.getLogger(__name__)

PLATFORM = "teams"
CARD = "application/vnd.microsoft.card.adaptive"
NOTE = "application/vnd.microsoft.activity.message"  # a short text Teams shows instead of a new card
ADAPTIVE_CARD_ACTION = "adaptiveCard/action"
_RECEIPT = "nextpractice.receipt"  # turn state: a card tap's receipt, recorded with what the core does
_AT = re.compile(r"<at>(.*?)</at>", re.DOTALL)  # a mention of someone else, kept as "@name"
FORM_PREFIX = "form:"  # the verb of a form's submit action: "form:<form name>" (see render)
PATIENCE = 3.0  # seconds a tap's work may take before Teams is answered with STILL_WORKING (it waits ~5)
STILL_WORKING = "Got it. This is taking longer than usual: you will see the result here in a moment."

Handler = Callable[[Event], Awaitable[Reply]]
Remember = Callable[[Identity, dict[str, Any]], Awaitable[None]]  # a person's conversation reference
Forget = Callable[[Identity], Awaitable[None]]  # the person removed the app
ThreadLookup = Callable[[str], Awaitable[str | None]]  # a channel thread's conversation id -> thread key
# An activity's key (None: none to record) and its sender with their conversation reference, if kept.
Receipt = tuple[str | None, tuple[Identity, dict[str, Any]] | None]
# Records a receipt in a unit of work of its own: False if the activity was seen before.
Arrived = Callable[[Receipt], Awaitable[bool]]
# The core handles the event and records its receipt in the same unit of work (see Dialogue.handle).
HandleArrived = Callable[[Event, Receipt], Awaitable[Reply]]
Unsee = Callable[[str], Awaitable[None]]  # forgets an activity id recorded by Arrived
TeamInstall = Callable[[str, dict[str, Any] | None], Awaitable[None]]  # team key -> its data, None: removed


@dataclass
class TeamsContext:
    """What the handlers need besides botbuilder: the core and lookups in its store."""

    handle: Handler
    remember: Remember
    forget: Forget
    thread_of: ThreadLookup
    arrived: Arrived
    unsee: Unsee
    team_installed: TeamInstall
    handle_arrived: HandleArrived
    background: Background = field(default_factory=lambda: Background("Teams"))  # late taps' answers
    patience: float = PATIENCE
    # A keyed digest for receipts that would otherwise say who sent which form with what in it (an
    # anonymous idea's text, say): the wiring gives the anonymity secret's HMAC.
    digest: Callable[[str], str] = field(default=lambda what: hashlib.sha256(what.encode()).hexdigest())


def identity(activity: Activity) -> Identity:
    """The core's identity of the sender: the Entra ID (AAD) object id in their tenant.

    The object id, unlike the Teams user id, is the same in every conversation and is what rosters
    and directory exports carry, so the directory CSV can name people by it.
    """
    sender: ChannelAccount = activity.from_property
    return Identity(PLATFORM, tenant_of(activity), sender.aad_object_id or sender.id)


def tenant_of(activity: Activity) -> str:
    """The tenant of an activity: from the conversation, else from Teams' channelData."""
    tenant = getattr(activity.conversation, "tenant_id", None)
    if not tenant and isinstance(activity.channel_data, dict):
        tenant = (activity.channel_data.get("tenant") or {}).get("id")
    return str(tenant or "")


def profile(activity: Activity) -> Profile:
    """What Teams tells us about the sender: their name, and their time zone when the client sent it."""
    zone = ""
    for entity in activity.entities or []:
        properties = entity.additional_properties if hasattr(entity, "additional_properties") else entity
        if getattr(entity, "type", None) == "clientInfo" and isinstance(properties, dict):
            zone = str(properties.get("timezone") or "")
    return Profile(display_name=str(activity.from_property.name or ""), time_zone=zone)


def team_key(tenant: str, team_id: str) -> str:
    """The contact key of a team the app is installed in (its roster is read by the directory sync)."""
    return f"team:{tenant}:{team_id}"


def team_of(activity: Activity) -> dict[str, str] | None:
    """The team an activity happened in, as Teams' channelData gives it (id and name), or None."""
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    team = data.get("team")
    if not isinstance(team, dict) or not team.get("id"):
        return None
    return {"id": str(team["id"]), "name": str(team.get("name") or "")}


def reference_data(activity: Activity) -> dict[str, Any]:
    """The conversation reference of an activity, as JSON for the contacts table.

    Without the activity's own id: messages to the person go to the conversation, not as replies to this
    activity, and the reference then stays the same from turn to turn, so it is not written again each time.
    """
    reference: ConversationReference = TurnContext.get_conversation_reference(activity)
    reference.activity_id = None
    return dict(as_json(reference))


def reply_activities(reply: Reply) -> list[Activity]:
    """The core's reply as Teams activities: each message as an Adaptive Card, the form last."""
    activities = [as_activity(message) for message in reply.messages]
    if reply.form is not None:
        activities.append(_card_activity(form_card(reply.form), reply.form.title))
    return activities


def as_activity(message: Message) -> Activity:
    """One core message as a Teams message activity carrying an Adaptive Card."""
    return _card_activity(card(message), summary(message))


def _card_activity(body: dict[str, Any], text: str) -> Activity:
    activity = MessageFactory.attachment(CardFactory.adaptive_card(body))
    activity.summary = text[:200]  # what notifications and the activity feed show
    return activity


class TeamsBot(TeamsActivityHandler):  # type: ignore[misc]  # botbuilder ships no type information
    """Translates Teams activities into core events and the core's replies into Teams activities."""

    def __init__(self, context: TeamsContext) -> None:
        self.context = context

    async def on_turn(self, turn_context: TurnContext) -> None:
        """Keep the sender's conversation reference (personal chats), then dispatch once per activity."""
        activity: Activity = turn_context.activity
        # Keyed digest: a personal chat's id names the person, and the row is written with what they sent
        # (an anonymous idea, say), so a plain key would tie the two together for as long as it is kept.
        seen = (
            "teams:" + self.context.digest(f"{activity.conversation.id}:{activity.id}")
            if activity.id
            else None
        )
        sender = (
            (identity(activity), reference_data(activity))
            if activity.from_property is not None
            and _personal(activity)
            and activity.type != "installationUpdate"
            else None
        )
        if activity.type == "invoke" and activity.name == ADAPTIVE_CARD_ACTION:
            # A card tap (a pulse answer, most often) is recorded in the core's unit of work with what it
            # does: one write transaction, not two. A turn that fails there records nothing.
            turn_context.turn_state[_RECEIPT] = (seen, sender)
            await super().on_turn(turn_context)
            return
        if not await self.context.arrived((seen, sender)):
            return  # Teams delivered this activity before (a retry): handled already
        try:
            await super().on_turn(turn_context)
        except Exception:
            # The turn failed (Teams gets an error and retries it): the retry must be handled, not
            # taken for a duplicate. If the database is down this fails too, and the retry may be lost.
            if seen is not None:
                with contextlib.suppress(Exception):
                    await self.context.unsee(seen)
            raise

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        """Personal chat: the core reads the text; a channel thread reply: a follow-up to that question."""
        activity: Activity = turn_context.activity
        text = _AT.sub(r"@\1", TurnContext.remove_recipient_mention(activity) or activity.text or "").strip()
        who = identity(activity)
        if _personal(activity):
            reply = await self.context.handle(Said(who, text, profile(activity)))
        else:
            thread = await self.context.thread_of(str(activity.conversation.id))
            if thread is None:
                return  # a channel conversation that is not one of our questions
            reply = await self.context.handle(ThreadReply(who, thread, text, profile(activity)))
        for outgoing in reply_activities(reply):
            await turn_context.send_activity(outgoing)

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse | None:
        """Universal Actions answered with plain JSON.

        botbuilder 4.17 types the response's ``value`` as an object, so it cannot serialize the text of a
        message response (``application/vnd.microsoft.activity.message``); we build the body ourselves.
        """
        activity: Activity = turn_context.activity
        if activity.name != ADAPTIVE_CARD_ACTION:
            return await super().on_invoke_activity(turn_context)
        value = activity.value if isinstance(activity.value, dict) else {}
        # Only the keys the model knows: Teams also sends "trigger", and msrest would log a warning for it
        # at every tap.
        known = {key: v for key, v in value.items() if key in AdaptiveCardInvokeValue._attribute_map}
        response = await self.on_adaptive_card_invoke(turn_context, AdaptiveCardInvokeValue(**known))
        body = {"statusCode": response.status_code, "type": response.type, "value": response.value}
        return InvokeResponse(status=200, body=body)

    async def on_adaptive_card_invoke(
        self, turn_context: TurnContext, invoke_value: AdaptiveCardInvokeValue
    ) -> AdaptiveCardInvokeResponse:
        """A tap on a card (Universal Actions): the answer refreshes the card in place.

        A choice that changes the card (a pulse answer) refreshes it; one that needs a form (a status
        change) turns the card into the form; anything else leaves the card and shows a short note.
        A submitted form becomes the core's answer, or comes back with its errors beside the fields.
        Work that outlasts the patience is answered with a note and shown when done (:meth:`_answer_late`).
        """
        activity: Activity = turn_context.activity
        action = invoke_value.action if isinstance(invoke_value.action, dict) else {}
        data = action.get("data") or {}
        kind, ref, value = decode_action(data)
        who, about = identity(activity), profile(activity)
        values = form_values(data) if kind.startswith(FORM_PREFIX) else {}
        if kind.startswith(FORM_PREFIX):
            # A form is taken once, however it is sent again: Teams' retry of the tap has the same id, but a
            # second tap on the same card (a double tap, another device still showing it) has a new one.
            _seen, sender = turn_context.turn_state[_RECEIPT]
            submitted = _form_submission(activity, kind, ref, values)
            turn_context.turn_state[_RECEIPT] = ("teams:form:" + self.context.digest(submitted), sender)
        event: Event = (
            Submitted(who, kind.removeprefix(FORM_PREFIX), ref, values, about)
            if kind.startswith(FORM_PREFIX)
            else Chose(who, kind, ref, value, about)
        )
        work = await within(self._handle_tap(turn_context, event), self.context.patience)
        if not work.done():
            self.context.background.start(self._answer_late(turn_context, work, kind, values), "card tap")
            return AdaptiveCardInvokeResponse(status_code=200, type=NOTE, value=STILL_WORKING)
        return await self._answer(turn_context, work.result(), kind, values)

    async def _answer(
        self, turn_context: TurnContext, reply: Reply, kind: str, values: dict[str, str]
    ) -> AdaptiveCardInvokeResponse:
        """What the tap's card shows for the core's ``reply``; its other messages are sent to the person."""
        if reply.form_errors and reply.form is not None:
            return _refresh(card_with_errors(reply.form, reply.form_errors, values))
        if reply.seen_before:  # Teams sent this tap again: it was answered the first time
            return AdaptiveCardInvokeResponse(status_code=200, type=NOTE, value="Done.")
        messages = list(reply.messages)
        if reply.replace is not None:
            refreshed = card(reply.replace)
        elif reply.form is not None:
            refreshed = form_card(reply.form)
        elif messages and kind.startswith(FORM_PREFIX):
            refreshed = card(messages.pop(0))  # the form is done: its card becomes the answer
        else:
            note = messages.pop(0).fallback() if messages else "Done."
            await self._send(turn_context, messages)
            return AdaptiveCardInvokeResponse(status_code=200, type=NOTE, value=note)
        await self._send(turn_context, messages)
        return _refresh(refreshed)

    async def _answer_late(
        self, turn_context: TurnContext, work: asyncio.Future[Reply], kind: str, values: dict[str, str]
    ) -> None:
        """Show a slow tap's answer once its work is done: the tapped card refreshed in place, or its note
        as a message; if the work failed, say it was not saved (Teams had its answer, so it will not retry).

        The turn is over, but botbuilder releases nothing at its end: its context still holds the
        conversation and the (reused) connector client."""
        # In a channel a card's update and a message are for everyone to see (an answer form would replace
        # the question for all): the work is done there, and nothing more is shown.
        personal = _personal(turn_context.activity)
        try:
            reply = await work
        except Exception:
            if personal:
                await turn_context.send_activity(MessageFactory.text(NOT_SAVED))
            raise  # logged by its type and counted by the background
        if not personal:
            return
        answer = await self._answer(turn_context, reply, kind, values)
        tapped = turn_context.activity.reply_to_id  # the message the card is in
        if answer.type == CARD and tapped:
            refreshed = _card_activity(answer.value, "")
            refreshed.id = tapped
            await turn_context.update_activity(refreshed)
        elif answer.type == CARD:
            await turn_context.send_activity(_card_activity(answer.value, ""))
        else:
            await turn_context.send_activity(MessageFactory.text(str(answer.value)))

    async def _handle_tap(self, turn_context: TurnContext, event: Event) -> Reply:
        # on_turn put the tap's receipt there: every adaptiveCard/action invoke comes this way.
        receipt: Receipt = turn_context.turn_state[_RECEIPT]
        return await self.context.handle_arrived(event, receipt)

    async def _send(self, turn_context: TurnContext, messages: list[Message]) -> None:
        for message in messages:
            await turn_context.send_activity(as_activity(message))

    async def on_installation_update_add(self, turn_context: TurnContext) -> None:
        """The app was installed for someone: remember how to reach them (a fresh reference)."""
        activity: Activity = turn_context.activity
        if _personal(activity):
            await self.context.remember(identity(activity), reference_data(activity))
        else:
            await self._team_installed(activity, installed=True)

    async def on_installation_update_remove(self, turn_context: TurnContext) -> None:
        """The app was removed: stop trying to reach that person until they install it again."""
        activity: Activity = turn_context.activity
        if _personal(activity):
            await self.context.forget(identity(activity))
        else:
            await self._team_installed(activity, installed=False)

    async def _team_installed(self, activity: Activity, *, installed: bool) -> None:
        team = team_of(activity)
        if team is not None:
            data = {"team": team, "reference": reference_data(activity)} if installed else None
            await self.context.team_installed(team_key(tenant_of(activity), team["id"]), data)

    async def on_teams_members_added(
        self, teams_members_added: list[Any], team_info: Any, turn_context: TurnContext
    ) -> None:
        """Say hello (with help) when the app is added to someone's personal chat (on_turn kept the
        reference); remember a team the app is added to."""
        activity: Activity = turn_context.activity
        bot_id = activity.recipient.id if activity.recipient else None
        joined = any(member.id == bot_id for member in teams_members_added)
        if not _personal(activity):
            if joined:  # the app was added to a team: its roster can now be read
                await self._team_installed(activity, installed=True)
            return
        if joined:  # the app joined their chat
            reply = await self.context.handle(Said(identity(activity), "help", profile(activity)))
            for outgoing in reply_activities(reply):
                await turn_context.send_activity(outgoing)


def _form_submission(activity: Activity, verb: str, ref: str, values: dict[str, str]) -> str:
    """A form submitted from one card by one person with these values (to be digested: it says who)."""
    submitted = [
        activity.conversation.id,
        activity.reply_to_id,
        identity(activity),
        verb,
        ref,
        sorted(values.items()),
    ]
    return json.dumps(submitted, default=str)


def _personal(activity: Activity) -> bool:
    return getattr(activity.conversation, "conversation_type", None) in (None, "personal")


def _refresh(body: dict[str, Any]) -> AdaptiveCardInvokeResponse:
    return AdaptiveCardInvokeResponse(status_code=200, type=CARD, value=body)
