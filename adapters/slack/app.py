"""The Slack app: Bolt listeners that only translate between Slack and the core.

Each listener hands the core one event and turns its :class:`~dialogue.messages.Reply` into Slack
calls. Slack gets its answer (the ack, within its 3-second deadline) once the core has stored the
event, and the calls back to Slack run after it, in the background. So what Slack was told arrived is
never lost in a crash: Slack sends an interaction only once, and an event again only if it got no
answer; and a burst bigger than the process can take slows the answers instead of piling acked work up
in memory (benchmarks/README.md, ninth round). Bolt runs with ``process_before_response`` for this:
its own default answers first and runs the listener after.

An event is stored with the record of its arrival in one unit of work, so a retried one is handled
once; if storing fails (the database down), Slack gets a 500 and sends it again later (and if it
takes longer than Slack waits, Slack's retry finds it recorded). A slash command or a click whose work
outlasts ``patience`` (a pulse to everyone, a burst of clicks queued behind each other) is answered
then, before Slack's deadline, so the person sees no timeout warning, and finishes after. Bolt verifies
each request's signature and timestamp before any listener runs.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.background import Background, within
from adapters.slack.render import (
    as_typed,
    decode_action,
    decode_view,
    form_errors,
    form_values,
    form_view,
    mentioned,
    message_payload,
)
from adapters.slack.sender import make_ref
from dialogue.errors import NOT_SAVED
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
)
from dialogue.messages import Message, Reply
from dialogue.text import t

log = logging.getLogger(__name__)

PLATFORM = "slack"
# Slash commands and the core command each one starts; /nextpractice takes the command in its text.
SLASH_COMMANDS: dict[str, str] = {
    "/idea": "idea",
    "/ask": "ask",
    "/answer": "answer",
    "/pulse": "pulse",
    "/nextpractice": "",
}
ANY = re.compile(".*")
# Slack waits 3 s for an answer; a command or click still working after this many seconds is answered then.
PATIENCE = 2.0

# Both take a lookup of the person's Slack profile, which the core calls only for someone it has not met.
Handler = Callable[[Event, ProfileLookup | None], Awaitable[Reply]]
Overview = Callable[[Identity, Profile | None, ProfileLookup | None], Awaitable[tuple[Message, ...]]]
ThreadLookup = Callable[
    [str], Awaitable[str | None]
]  # "channel:ts" of a thread's root -> the core's thread key
# Handles an event and records its key (if any) in the same unit of work; Reply.seen_before if it came before.
HandleOnce = Callable[[Event, ProfileLookup | None, str | None], Awaitable[Reply]]


def slack_background(failed: Callable[[str], None] | None = None) -> Background:
    """A keeper of the listeners' work after their acks, logging a call Slack refused by its error code."""
    return Background("Slack", failed, explain=_slack_error)


def _slack_error(exc: Exception) -> str | None:
    return str(exc.response.get("error")) if isinstance(exc, SlackApiError) else None


@dataclass
class SlackContext:
    """What the listeners need besides Bolt: the core, lookups in its store, and where their work after
    the ack runs (drained when the bot stops)."""

    handle: Handler
    overview: Overview
    thread_of: ThreadLookup
    handle_once: HandleOnce
    qa_channel_id: str | None = None
    multi_workspace: bool = False  # message references then carry the workspace (see sender.make_ref)
    background: Background = field(default_factory=slack_background)
    patience: float = PATIENCE


def identity(team_id: str | None, user_id: str) -> Identity:
    """The core's identity of a Slack user in a workspace."""
    return Identity(PLATFORM, team_id or "", user_id)


def create_app(
    context: SlackContext,
    *,
    client: AsyncWebClient,
    signing_secret: str,
    app_options: Mapping[str, Any] | None = None,
) -> AsyncApp:
    """A Bolt app wired to the core. ``app_options`` pass through to :class:`AsyncApp` (OAuth, tests).

    Listeners call Slack through the ``client`` Bolt hands them, which carries the token of the
    workspace the request came from (one token, or one per installation in multi-workspace mode).
    """
    app = AsyncApp(
        client=client, signing_secret=signing_secret, process_before_response=True, **dict(app_options or {})
    )
    later = context.background.start

    async def handle(event: Event, client: AsyncWebClient) -> Reply:
        """The core's reply, or, when the core fails (its database unreachable), one saying so: Slack
        does not send the request again, so the person must know to."""
        try:
            return await context.handle(event, functools.partial(profile, client, event.who.user_id))
        except Exception as exc:
            # Only the type: the message may quote what an anonymous author wrote.
            log.error("the core failed on a Slack %s: %s", type(event).__name__, type(exc).__name__)
            return Reply(messages=(Message(t(NOT_SAVED)),))

    async def profile(client: AsyncWebClient, user_id: str) -> Profile:
        # Asked only for someone the core has not met (users.info is rate limited: Tier 4).
        try:
            info = (await client.users_info(user=user_id)).get("user") or {}
        except SlackApiError:
            info = {}
        real = (info.get("profile") or {}).get("real_name") or info.get("real_name") or info.get("name") or ""
        return Profile(display_name=str(real), time_zone=str(info.get("tz") or ""))

    async def typed(client: AsyncWebClient, text: str) -> str:
        """The text as the person typed it (:func:`as_typed`), the people it mentions by name."""
        names = {user: (await profile(client, user)).display_name for user in mentioned(text)}
        return as_typed(text, {user: name for user, name in names.items() if name})

    async def post_replies(client: AsyncWebClient, channel: str, reply: Reply) -> None:
        for message in reply.messages:
            await client.chat_postMessage(channel=channel, **message_payload(message))

    async def open_form(client: AsyncWebClient, trigger_id: str | None, reply: Reply) -> None:
        if reply.form is not None and trigger_id:
            await client.views_open(trigger_id=trigger_id, view=form_view(reply.form).to_dict())

    async def handled_within_patience(
        ack: AsyncAck, event: Event, client: AsyncWebClient
    ) -> asyncio.Future[Reply]:
        """Hand the core ``event`` and ack once it is done, or once ``patience`` has passed; the work goes on
        either way (the reply comes from the returned future)."""
        work = await within(handle(event, client), context.patience)
        await ack()
        return work

    async def on_command(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        name = SLASH_COMMANDS.get(str(body.get("command", "")), "")
        typed_text = await typed(client, str(body.get("text", "")))
        text = f"{name} {typed_text}".strip() if name else typed_text.strip()
        command = Command(identity(body.get("team_id"), str(body["user_id"])), text or "help")
        work = await handled_within_patience(ack, command, client)
        later(answer(work, body.get("trigger_id"), client, respond), "slash command")

    async def answer(
        work: asyncio.Future[Reply], trigger_id: str | None, client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        """A slash command's reply, once its work is done: a form, or messages to the person only."""
        reply = await work
        await open_form(client, trigger_id, reply)
        for message in reply.messages:
            await respond(response_type="ephemeral", **message_payload(message))

    for name in SLASH_COMMANDS:
        app.command(name)(on_command)

    @app.action(ANY)
    async def on_action(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> None:
        user_id = str(body["user"]["id"])
        kind, ref, value = decode_action(str(action.get("action_id", "")), _action_value(action))
        team = (body.get("team") or {}).get("id") or body["user"].get("team_id")
        who = identity(team, user_id)
        work = await handled_within_patience(ack, Chose(who, kind, ref, value), client)
        later(show(work, body, client, respond), "button click")

    async def show(
        work: asyncio.Future[Reply], body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        """A click's reply, once its work is done: a form, the clicked message replaced, messages to the
        clicker."""
        reply = await work
        await open_form(client, body.get("trigger_id"), reply)
        container = body.get("container") or {}
        clicker = str(body["user"]["id"])
        channel = str(container.get("channel_id") or (body.get("channel") or {}).get("id") or clicker)
        private = bool(container.get("is_ephemeral"))
        if reply.replace is not None:
            if private:  # an ephemeral message can only be replaced through its response_url
                await respond(replace_original=True, **message_payload(reply.replace))
            elif container.get("message_ts"):
                await client.chat_update(
                    channel=channel, ts=str(container["message_ts"]), **message_payload(reply.replace)
                )
        if channel.startswith("D"):
            await post_replies(client, channel, reply)
        else:
            # A click in a channel (a Q&A post, or a command's answer): the reply is for the clicker only.
            for message in reply.messages:
                await respond(response_type="ephemeral", replace_original=False, **message_payload(message))

    @app.view(ANY)
    async def on_view(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        form, ref = decode_view(str(view.get("callback_id", "")))
        user_id = str(body["user"]["id"])
        team = (body.get("team") or {}).get("id") or body["user"].get("team_id")
        values = form_values((view.get("state") or {}).get("values") or {})
        reply = await handle(Submitted(identity(team, user_id), form, ref, values), client)
        if reply.form_errors:
            await ack(response_action="errors", errors=form_errors(reply.form_errors))
            return
        await ack()
        later(post_replies(client, user_id, reply), "form")

    async def handle_once(event: Event, body: dict[str, Any], client: AsyncWebClient) -> Reply | BoltResponse:
        """The core's reply to an event it had not had before, or the 500 that makes Slack send it again."""
        key = f"slack:event:{body['event_id']}" if body.get("event_id") else None
        lookup = functools.partial(profile, client, event.who.user_id)
        try:
            return await context.handle_once(event, lookup, key)
        except Exception as exc:
            log.error("the core failed on a Slack %s: %s", type(event).__name__, type(exc).__name__)
            return BoltResponse(status=500, body="")

    @app.event("message")
    async def on_message(
        event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> BoltResponse | None:
        if event.get("subtype") or event.get("bot_id") or not event.get("user"):
            return None  # edits, joins and the bot's own posts are not people talking to us
        user_id, text = str(event["user"]), await typed(client, str(event.get("text") or ""))
        who = identity(body.get("team_id") or event.get("team"), user_id)
        channel, thread_ts = str(event.get("channel", "")), event.get("thread_ts")
        if event.get("channel_type") == "im":
            reply = await handle_once(Said(who, text), body, client)
            if isinstance(reply, BoltResponse):
                return reply
            later(post_replies(client, channel, reply), "message")
        elif channel == context.qa_channel_id and thread_ts and thread_ts != event.get("ts"):
            team = str(who.tenant) if context.multi_workspace else ""
            thread = await context.thread_of(make_ref(channel, str(thread_ts), team))
            if thread is not None:
                reply = await handle_once(ThreadReply(who, thread, text), body, client)
                if isinstance(reply, BoltResponse):
                    return reply
                later(post_ephemeral(client, channel, user_id, reply), "thread reply")
        return None

    async def post_ephemeral(client: AsyncWebClient, channel: str, user_id: str, reply: Reply) -> None:
        for message in reply.messages:
            await client.chat_postEphemeral(channel=channel, user=user_id, **message_payload(message))

    @app.event("app_home_opened")
    async def on_home(event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab") not in (None, "home"):
            return
        user_id = str(event["user"])
        lookup = functools.partial(profile, client, user_id)
        parts = await context.overview(identity(body.get("team_id"), user_id), None, lookup)
        later(client.views_publish(user_id=user_id, view=home_view(parts)), "Home tab")

    return app


def home_view(messages: tuple[Message, ...]) -> dict[str, Any]:
    """The App Home tab: the core's own answers to "my ideas" and "open questions", one after another."""
    blocks: list[dict[str, Any]] = []
    for message in messages:
        blocks += message_payload(message)["blocks"]
        blocks.append({"type": "divider"})
    return {"type": "home", "blocks": blocks[:100]}


def _action_value(action: dict[str, Any]) -> str:
    """A button's value, or the chosen option of a select."""
    if action.get("selected_option"):
        return str(action["selected_option"].get("value", ""))
    return str(action.get("value", ""))
