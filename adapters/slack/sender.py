"""The Slack side of the outbox: posts and updates messages through the Web API.

Rate limits are not waited out here: a 429 becomes :class:`~dialogue.outbox.RetryLater`
with Slack's ``Retry-After``, so the delivery worker pauses the whole platform and the row
goes back to the outbox instead of holding a worker.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import ClientError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.render import message_payload
from dialogue.messages import Message
from dialogue.outbox import Address, RetryLater, Undeliverable

PLATFORM = "slack"
# Errors that no retry will fix: the person, the channel or the message is gone, or we may not post there.
PERMANENT = frozenset(
    {
        "account_inactive",
        "cannot_dm_bot",
        "channel_not_found",
        "invalid_auth",
        "is_archived",
        "message_not_found",
        "not_in_channel",
        "restricted_action",
        "user_disabled",
        "user_not_found",
    }
)
TRANSIENT_WAIT = 5.0  # seconds, for server errors and network trouble that carry no advice


def make_ref(channel: str, ts: str) -> str:
    """Our reference to a Slack message: its channel and timestamp."""
    return f"{channel}:{ts}"


def split_ref(ref: str) -> tuple[str, str]:
    """``(channel, ts)`` of a reference made by :func:`make_ref`."""
    channel, _, ts = ref.partition(":")
    if not channel or not ts:
        raise Undeliverable(f"not a Slack message reference: {ref!r}")
    return channel, ts


class SlackSender:
    """Implements :class:`dialogue.ports.Sender` for Slack.

    ``channels`` maps the core's logical channel names (``"qa"``) to Slack channel ids.
    A person is messaged by user id, which Slack delivers to their chat with the app.
    """

    platform = PLATFORM

    def __init__(self, client: AsyncWebClient, *, channels: Mapping[str, str]) -> None:
        self.client = client
        self.channels = dict(channels)

    async def send(self, *, to: Address, message: Message) -> str:
        """Post ``message``; returns ``"channel:ts"``."""
        if to.identity is not None:
            channel = to.identity.user_id
        elif to.channel is not None and to.channel in self.channels:
            channel = self.channels[to.channel]
        else:
            raise Undeliverable(f"no Slack channel is configured for #{to.channel}")
        thread_ts = split_ref(to.thread_ref)[1] if to.thread_ref else None
        payload = message_payload(message)
        try:
            response = await self.client.chat_postMessage(
                channel=channel, thread_ts=thread_ts, unfurl_links=False, unfurl_media=False, **payload
            )
        except (SlackApiError, ClientError, TimeoutError) as exc:
            raise _translate(exc) from exc
        return make_ref(str(response["channel"]), str(response["ts"]))

    async def update(self, *, ref: str, message: Message) -> None:
        """Replace the message in place (e.g. a closed pulse question loses its buttons)."""
        channel, ts = split_ref(ref)
        try:
            await self.client.chat_update(channel=channel, ts=ts, **message_payload(message))
        except (SlackApiError, ClientError, TimeoutError) as exc:
            raise _translate(exc) from exc


def _translate(exc: Exception) -> RetryLater | Undeliverable:
    """Slack's answer in the outbox's terms."""
    if not isinstance(exc, SlackApiError):
        return RetryLater(TRANSIENT_WAIT, f"Slack unreachable: {type(exc).__name__}")
    response = exc.response
    if response.status_code == 429:
        retry_after = response.headers.get("Retry-After") or response.headers.get("retry-after") or "1"
        return RetryLater(float(retry_after), "rate limited by Slack")
    error = str(response.get("error", "")) if isinstance(response.data, dict) else ""
    if error in PERMANENT:
        return Undeliverable(error)
    if response.status_code >= 500 or error in ("fatal_error", "internal_error", "service_unavailable"):
        return RetryLater(TRANSIENT_WAIT, f"Slack error {response.status_code} {error}".strip())
    return Undeliverable(error or f"HTTP {response.status_code}")
