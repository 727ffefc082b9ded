"""The Teams side of the outbox: proactive messages through botbuilder's ``CloudAdapter``.

A person is reached through the conversation reference Teams gave us (kept in the contacts table),
or, when we have none yet but know their tenant and id, through a new 1:1 conversation. A channel
post starts a thread; a reply goes into the thread's conversation (``<channel>;messageid=<root>``).
Rate limits are not waited out here: a 429 becomes :class:`~dialogue.outbox.RetryLater` so the
delivery worker pauses the whole platform.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import ClientError
from botbuilder.core import CloudAdapterBase, TurnContext
from botbuilder.schema import (
    Activity,
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
    ConversationReference,
)
from msrest.exceptions import HttpOperationError

from adapters.teams.bot import PLATFORM, as_activity
from adapters.teams.connector import TeamsConnector
from adapters.teams.from_json import reference_from
from dialogue.events import Identity
from dialogue.messages import Message
from dialogue.outbox import Address, Contact, RetryLater, Undeliverable, contact_key

THREAD = ";messageid="  # Teams names a channel thread's conversation "<channel id>;messageid=<root id>"
TRANSIENT_WAIT = 5.0  # seconds, for server errors and network trouble that carry no advice
# Teams' published bot limits (https://learn.microsoft.com/microsoftteams/platform/bots/how-to/rate-limit):
# per bot per conversation 7 in 1 s, 8 in 2 s, 60 in 30 s, 1800 in an hour; per app per tenant 50 a second.
CONVERSATION_LIMITS = ((7, 1.0), (8, 2.0), (60, 30.0), (1800, 3600.0))
MESSAGES_PER_SECOND = 50
RATE_WINDOW = 1.0  # seconds: Teams counts per second

ContactLookup = Callable[[str], Awaitable[Contact | None]]
Remember = Callable[[Identity, dict[str, Any]], Awaitable[None]]
Forget = Callable[[Identity], Awaitable[None]]


def make_ref(conversation_id: str, activity_id: str) -> str:
    """Our reference to a Teams message; for a channel post it is also its thread's conversation id."""
    return f"{conversation_id.split(THREAD)[0]}{THREAD}{activity_id}"


def split_ref(ref: str) -> tuple[str, str]:
    """``(conversation id, activity id)`` of a reference made by :func:`make_ref`."""
    conversation, _, activity_id = ref.partition(THREAD)
    if not conversation or not activity_id:
        raise Undeliverable(f"not a Teams message reference: {ref!r}")
    return conversation, activity_id


class TeamsSender:
    """Implements :class:`dialogue.ports.Sender` for Teams.

    ``channels`` maps the core's logical channel names (``"qa"``) to Teams channel ids;
    ``service_url`` is where the tenant's Bot Framework connector lives (Teams' global URL by default).
    """

    platform = PLATFORM

    def __init__(
        self,
        adapter: CloudAdapterBase,
        *,
        app_id: str,
        tenant_id: str,
        service_url: str,
        channels: Mapping[str, str],
        contact: ContactLookup,
        remember: Remember,
        forget: Forget,
    ) -> None:
        self.adapter = adapter
        self.app_id = app_id
        self.tenant_id = tenant_id
        self.service_url = service_url
        self.channels = dict(channels)
        self.contact = contact
        self.remember = remember
        self.forget = forget

    async def send(self, *, to: Address, message: Message) -> str:
        """Post ``message``; returns its reference (see :func:`make_ref`)."""
        activity = as_activity(message)
        if to.identity is not None:
            return await self._to_person(to.identity, activity, to.contact)
        if to.thread_ref:
            conversation = to.thread_ref  # replying into the thread's own conversation
        elif to.channel is not None and to.channel in self.channels:
            conversation = self.channels[to.channel]  # a new post starts a thread
        else:
            raise Undeliverable(f"no Teams channel is configured for #{to.channel}")
        activity_id = await self._post(self._reference(conversation), activity)
        return make_ref(conversation, activity_id)

    async def update(self, *, ref: str, message: Message) -> None:
        """Replace the message in place (a pulse question shows the answer, a closed one no buttons)."""
        conversation, activity_id = split_ref(ref)
        activity = self._addressed(as_activity(message), self._reference(conversation))
        activity.id = activity_id
        connector = await self._connector(self.service_url)
        try:
            await connector.conversations.update_activity(conversation, activity_id, activity)
        except Exception as exc:  # msrest's errors, aiohttp's, or botbuilder's own
            raise _translate(exc) from exc

    async def _to_person(self, who: Identity, activity: Activity, known: Contact | None) -> str:
        """Message a person: through the conversation reference we keep (``known`` when the outbox looked it
        up with the rest of its batch), or in a new 1:1 chat."""
        known = known or await self.contact(contact_key(who))
        if known is not None and not known.reachable:
            raise Undeliverable("the person removed the app from Teams")
        if known is not None:
            reference = reference_from(known.data)
            try:
                activity_id = await self._post(reference, activity)
            except Undeliverable:
                await self.forget(who)
                raise
            return make_ref(str(reference.conversation.id), activity_id)
        return await self._new_chat(who, activity)

    async def _new_chat(self, who: Identity, activity: Activity) -> str:
        """Start the 1:1 chat with someone who has the app but has not talked to it yet."""
        tenant = who.tenant or self.tenant_id
        if not tenant:
            raise Undeliverable("no conversation with this person yet, and no tenant to start one in")
        parameters = ConversationParameters(
            is_group=False,
            bot=ChannelAccount(id=f"28:{self.app_id}"),
            members=[ChannelAccount(id=who.user_id)],
            tenant_id=tenant,
            channel_data={"tenant": {"id": tenant}},
        )
        sent: list[str] = []

        async def first_message(turn_context: TurnContext) -> None:
            reference = TurnContext.get_conversation_reference(turn_context.activity)
            await self.remember(who, dict(reference.serialize()))
            response = await _send_new(turn_context, activity)
            sent.append(make_ref(str(turn_context.activity.conversation.id), str(response.id)))

        try:
            await self.adapter.create_conversation(
                self.app_id, first_message, parameters, "msteams", self.service_url
            )
        except Undeliverable:
            raise
        except Exception as exc:
            problem = _translate(exc)
            if isinstance(problem, Undeliverable):
                await self.forget(who)
            raise problem from exc
        return sent[0]

    def _reference(self, conversation: str) -> ConversationReference:
        return ConversationReference(
            channel_id="msteams",
            service_url=self.service_url,
            conversation=ConversationAccount(id=conversation, tenant_id=self.tenant_id or None),
            bot=ChannelAccount(id=f"28:{self.app_id}"),
        )

    async def _post(self, reference: ConversationReference, activity: Activity) -> str:
        """Send ``activity`` as a new message in the reference's conversation; its activity id.

        The connector call botbuilder's proactive turn (``continue_conversation``) would make, without the
        turn: that builds a connector client, a token client and a turn context for every message, most of
        a Teams send's CPU.
        """
        activity = self._addressed(activity, reference)
        connector = await self._connector(reference.service_url or self.service_url)
        try:
            response = await connector.conversations.send_to_conversation(reference.conversation.id, activity)
        except Exception as exc:  # msrest's errors, aiohttp's, or botbuilder's own
            raise _translate(exc) from exc
        return str(response.id)

    @staticmethod
    def _addressed(activity: Activity, reference: ConversationReference) -> Activity:
        """``activity`` from the bot into the reference's conversation, as a new message: a reference
        carries the id of the activity it came from, and a reply to that would land in its thread."""
        reference.activity_id = None
        return TurnContext.apply_conversation_reference(activity, reference)

    async def _connector(self, service_url: str) -> TeamsConnector:
        """The adapter's connector client for ``service_url`` (made once, see
        :class:`~adapters.teams.credentials.ReusedConnectorsAuthentication`)."""
        factory = self.adapter.bot_framework_authentication.create_connector_factory(
            self.adapter.create_claims_identity(self.app_id)
        )
        connector: TeamsConnector = await factory.create(service_url, None)
        return connector


async def _send_new(turn_context: TurnContext, activity: Activity) -> Any:
    """Send ``activity`` as a new message in the turn's conversation (send_to_conversation).

    A proactive turn carries the id of the activity its reference came from (or of the conversation's
    creation); left there, botbuilder would send a reply to that activity, in a channel into its thread.
    """
    turn_context.activity.id = None
    return await turn_context.send_activity(activity)


def _translate(exc: Exception) -> RetryLater | Undeliverable:
    """The connector's answer in the outbox's terms."""
    if isinstance(exc, RetryLater | Undeliverable):
        return exc
    if isinstance(exc, HttpOperationError) and exc.response is not None:
        status = exc.response.status  # aiohttp's response (adapters/teams/connector.py)
        if status == 429:
            retry_after = exc.response.headers.get("Retry-After") or "1"
            return RetryLater(float(retry_after), "rate limited by Teams", rate_limited=True)
        if status in (401, 403, 404):
            # 403: the person blocked or removed the app; 404: the conversation is gone.
            return Undeliverable(f"Teams refused: HTTP {status}")
        if status >= 500:
            return RetryLater(TRANSIENT_WAIT, f"Teams error {status}")
        return Undeliverable(f"Teams refused: HTTP {status}")
    if isinstance(exc, PermissionError):
        # botframework-connector's token fetch, refused by Entra ID (an expired or wrong client secret is
        # the usual Teams outage): its text carries Entra's error code, which says what to fix.
        return Undeliverable(
            f"Teams sign-in refused ({str(exc)[:300]}); check MICROSOFT_APP_ID, MICROSOFT_APP_PASSWORD and "
            "MICROSOFT_APP_TENANT_ID, then send the failed messages again with nextpractice outbox retry"
        )
    if isinstance(exc, ClientError | TimeoutError | OSError):  # aiohttp's, or the token fetch's (requests)
        return RetryLater(TRANSIENT_WAIT, f"Teams unreachable: {type(exc).__name__}")
    raise exc
