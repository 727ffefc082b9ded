"""The Slack sender against a local Slack-like Web API: posts, threads, updates, errors in outbox terms."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.sender import SlackSender
from dialogue.events import Identity
from dialogue.messages import Message
from dialogue.outbox import Address, RetryLater, Undeliverable
from dialogue.text import t, user
from tests.slack.fake_api import FakeSlack

AMIRA = Identity("slack", "T0001", "U0AMIRA")


@pytest.fixture
async def slack() -> AsyncIterator[tuple[FakeSlack, SlackSender]]:
    async with FakeSlack() as fake, aiohttp.ClientSession() as session:
        client = AsyncWebClient(token="xoxb-test", base_url=fake.url, session=session)
        yield fake, SlackSender(client, channels={"qa": "C0QA"})


async def test_a_direct_message_and_a_thread_reply_are_posted_and_referenced(
    slack: tuple[FakeSlack, SlackSender],
) -> None:
    fake, sender = slack
    root = await sender.send(to=Address(channel="qa"), message=Message(t("Question #1")))
    dm = await sender.send(to=Address(identity=AMIRA), message=Message(t("Hello ", user("<!channel>"))))
    reply = await sender.send(to=Address(channel="qa", thread_ref=root), message=Message(t("An answer")))

    posts = [args for method, args in fake.calls if method == "chat.postMessage"]
    assert [p["channel"] for p in posts] == ["C0QA", "U0AMIRA", "C0QA"]
    assert posts[2]["thread_ts"] == root.split(":")[1]
    assert "<!channel>" not in str(posts[1]) and "&lt;!channel&gt;" in str(posts[1])
    assert root.startswith("C0QA:") and dm != reply
    assert fake.violations == []


async def test_an_update_edits_the_message_in_place(slack: tuple[FakeSlack, SlackSender]) -> None:
    fake, sender = slack
    ref = await sender.send(to=Address(identity=AMIRA), message=Message(t("Q1")))

    await sender.update(ref=ref, message=Message(t("This pulse has closed.")))

    method, args = fake.calls[-1]
    assert method == "chat.update" and (args["channel"], args["ts"]) == tuple(ref.split(":"))
    assert fake.violations == []


async def test_rate_limits_become_retry_later_with_slacks_retry_after(
    slack: tuple[FakeSlack, SlackSender],
) -> None:
    fake, sender = slack
    fake.rate_limit_next("chat.postMessage", retry_after=7)

    with pytest.raises(RetryLater) as later:
        await sender.send(to=Address(identity=AMIRA), message=Message(t("Hi")))

    assert later.value.retry_after == 7


async def test_a_missing_channel_or_person_is_undeliverable(slack: tuple[FakeSlack, SlackSender]) -> None:
    fake, sender = slack
    fake.fail_next("chat.postMessage", error="user_not_found")

    with pytest.raises(Undeliverable, match="user_not_found"):
        await sender.send(to=Address(identity=AMIRA), message=Message(t("Hi")))
    with pytest.raises(Undeliverable, match="no Slack channel"):
        await sender.send(to=Address(channel="announcements"), message=Message(t("Hi")))


async def test_server_errors_are_retried_later(slack: tuple[FakeSlack, SlackSender]) -> None:
    fake, sender = slack
    fake.server_error_next("chat.postMessage", status=503)

    with pytest.raises(RetryLater):
        await sender.send(to=Address(identity=AMIRA), message=Message(t("Hi")))
