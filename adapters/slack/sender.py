"""The Slack side of the outbox: posts and updates messages through the Web API.

Rate limits are not waited out here: a 429 becomes :class:`~dialogue.outbox.RetryLater`
with Slack's ``Retry-After``, so the delivery worker pauses the whole platform and the row
goes back to the outbox instead of holding a worker.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

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
# The app's own token is wrong, revoked or expired: every message fails the same way until it is fixed.
REFUSED_TOKEN = frozenset({"invalid_auth", "not_authed", "token_revoked", "token_expired"})
TRANSIENT_WAIT = 5.0  # seconds, for server errors and network trouble that carry no advice
# chat.postMessage: "1 message per second to a specific channel" (a DM is a channel), and "several hundred
# messages per minute" across a workspace (https://api.slack.com/methods/chat.postMessage#rate_limiting).
CONVERSATION_LIMITS = ((1, 1.0),)
MESSAGES_PER_SECOND = 10  # 600 a minute: "several hundred"; a 429 pauses every worker anyway
RATE_WINDOW = 60.0  # seconds: Slack counts per minute


TokenLookup = Callable[[str], Awaitable[str | None]]  # workspace (team) id -> its bot token, if installed


def make_ref(channel: str, ts: str, team: str = "") -> str:
    """Our reference to a Slack message: its channel and timestamp, and in multi-workspace mode the
    workspace whose token may update it (``T1/C1:123.4``)."""
    return f"{team}/{channel}:{ts}" if team else f"{channel}:{ts}"


def split_ref(ref: str) -> tuple[str, str, str]:
    """``(team, channel, ts)`` of a reference made by :func:`make_ref` (``team`` may be empty)."""
    team, _, rest = ref.rpartition("/")
    channel, _, ts = rest.partition(":")
    if not channel or not ts:
        raise Undeliverable(f"not a Slack message reference: {ref!r}")
    return team, channel, ts


class SlackSender:
    """Implements :class:`dialogue.ports.Sender` for Slack.

    ``channels`` maps the core's logical channel names (``"qa"``) to Slack channel ids.
    A person is messaged by user id, which Slack delivers to their chat with the app.

    With ``token_for`` (multi-workspace mode) each call uses the bot token of the workspace it goes
    to: the person's workspace, or ``channel_team`` for channel posts.
    """

    platform = PLATFORM

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        channels: Mapping[str, str],
        token_for: TokenLookup | None = None,
        channel_team: str = "",
    ) -> None:
        self.client = client
        self.channels = dict(channels)
        self.token_for = token_for
        self.channel_team = channel_team

    async def send(self, *, to: Address, message: Message) -> str:
        """Post ``message``; returns its reference (see :func:`make_ref`)."""
        if to.identity is not None:
            channel, team = to.identity.user_id, to.identity.tenant
        elif to.channel is not None and to.channel in self.channels:
            channel, team = self.channels[to.channel], self.channel_team
        else:
            raise Undeliverable(f"no Slack channel is configured for #{to.channel}")
        thread_ts = split_ref(to.thread_ref)[2] if to.thread_ref else None
        payload = message_payload(message)
        try:
            response = await self.client.chat_postMessage(
                channel=channel,
                thread_ts=thread_ts,
                unfurl_links=False,
                unfurl_media=False,
                **await self._token(team),
                **payload,
            )
        except (SlackApiError, ClientError, TimeoutError) as exc:
            raise _translate(exc) from exc
        return make_ref(str(response["channel"]), str(response["ts"]), team if self.token_for else "")

    async def update(self, *, ref: str, message: Message) -> None:
        """Replace the message in place (e.g. a closed pulse question loses its buttons)."""
        team, channel, ts = split_ref(ref)
        try:
            await self.client.chat_update(
                channel=channel, ts=ts, **await self._token(team), **message_payload(message)
            )
        except (SlackApiError, ClientError, TimeoutError) as exc:
            raise _translate(exc) from exc

    async def _token(self, team: str) -> dict[str, Any]:
        """The ``token`` argument for a call into ``team``; none in single-workspace mode."""
        if self.token_for is None:
            return {}
        token = await self.token_for(team)
        if not token:
            raise Undeliverable(f"the app is not installed in Slack workspace {team or '(unknown)'}")
        return {"token": token}


def _translate(exc: Exception) -> RetryLater | Undeliverable:
    """Slack's answer in the outbox's terms."""
    if not isinstance(exc, SlackApiError):
        return RetryLater(TRANSIENT_WAIT, f"Slack unreachable: {type(exc).__name__}")
    response = exc.response
    if response.status_code == 429:
        retry_after = response.headers.get("Retry-After") or response.headers.get("retry-after") or "1"
        return RetryLater(float(retry_after), "rate limited by Slack", rate_limited=True)
    error = str(response.get("error", "")) if isinstance(response.data, dict) else ""
    if error in REFUSED_TOKEN:
        return Undeliverable(
            f"{error}: Slack refused the app's token; check SLACK_BOT_TOKEN (or the workspace's "
            "installation), then send the failed messages again with nextpractice outbox retry"
        )
    if error in PERMANENT:
        return Undeliverable(error)
    if response.status_code >= 500 or error in ("fatal_error", "internal_error", "service_unavailable"):
        return RetryLater(TRANSIENT_WAIT, f"Slack error {response.status_code} {error}".strip())
    return Undeliverable(error or f"HTTP {response.status_code}")
