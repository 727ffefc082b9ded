"""The local Slack-like Web API, driven by slack_sdk's real AsyncWebClient."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.models.blocks import ActionsBlock, ButtonElement, SectionBlock
from slack_sdk.web.async_client import AsyncWebClient

from tests.slack.fake_api import FakeSlack, check_args, load_spec, make_member


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    """A running fake with five members, for users.list pages of two."""
    members = [make_member(f"U{n:04d}", f"Person {n}") for n in range(1, 6)]
    async with FakeSlack(members=members) as running:
        yield running


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """One HTTP session per test, closed at the end (AsyncWebClient would otherwise open one per call)."""
    async with aiohttp.ClientSession() as opened:
        yield opened


@pytest.fixture
def client(fake: FakeSlack, session: aiohttp.ClientSession) -> AsyncWebClient:
    """slack_sdk's real client, pointed at the fake the way SLACK_API_URL points the bot at it."""
    return AsyncWebClient(token="xoxb-test", base_url=fake.url, session=session)


async def test_a_message_with_blocks_is_posted_recorded_and_valid(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    blocks = [
        SectionBlock(text="How was your week?"),
        ActionsBlock(elements=[ButtonElement(text="Good", action_id="pulse:1:good", value="good")]),
    ]

    first = await client.chat_postMessage(channel="C0QA", text="How was your week?", blocks=blocks)
    second = await client.chat_postMessage(channel="C0QA", text="Thread reply", thread_ts=first["ts"])

    assert first["channel"] == "C0QA" and first["message"]["blocks"][0]["type"] == "section"
    assert isinstance(first["ts"], str) and first["ts"] < second["ts"]  # unique and increasing, as Slack's
    assert second["message"]["thread_ts"] == first["ts"]
    (method, args), _ = fake.calls
    assert method == "chat.postMessage"
    assert args["blocks"][1]["elements"][0]["action_id"] == "pulse:1:good"  # slack_sdk sends JSON
    assert fake.violations == []


async def test_a_form_encoded_post_is_understood_too(fake: FakeSlack, session: aiohttp.ClientSession) -> None:
    blocks = json.dumps([{"type": "section", "text": {"type": "mrkdwn", "text": "Hi"}}])
    form = {"token": "xoxb-test", "channel": "C0QA", "text": "Hi", "blocks": blocks, "unfurl_links": "0"}

    async with session.post(fake.url + "chat.postMessage", data=form) as response:
        answer = await response.json()

    assert answer["ok"] is True and answer["message"]["blocks"][0]["type"] == "section"
    assert fake.calls == [("chat.postMessage", {k: v for k, v in form.items() if k != "token"})]
    assert fake.violations == []


async def test_a_direct_message_by_user_id_answers_with_the_dm_channel(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    posted = await client.chat_postMessage(channel="U0AMIRA", text="A pulse for you")
    updated = await client.chat_update(channel=posted["channel"], ts=posted["ts"], text="Thanks, answered")

    assert posted["channel"] == "D0AMIRA"  # Slack answers with the conversation, not the user
    assert (updated["channel"], updated["ts"]) == (posted["channel"], posted["ts"])
    assert updated["message"]["text"] == "Thanks, answered"
    assert [method for method, _ in fake.calls] == ["chat.postMessage", "chat.update"]
    assert fake.violations == []


async def test_conversations_open_and_views(fake: FakeSlack, client: AsyncWebClient) -> None:
    opened = await client.conversations_open(users="U0BEN")
    modal = await client.views_open(
        trigger_id="12345.98765.abcd2358fdea",
        view={"type": "modal", "title": {"type": "plain_text", "text": "Share an idea"}, "blocks": []},
    )
    home = await client.views_publish(user_id="U0BEN", view={"type": "home", "blocks": []})

    assert opened["channel"]["id"] == "D0BEN"
    assert modal["view"]["id"].startswith("V") and modal["view"]["type"] == "modal"
    assert home["view"]["type"] == "home" and home["view"]["id"] != modal["view"]["id"]
    assert fake.violations == []


async def test_auth_test_and_an_unknown_method(fake: FakeSlack, client: AsyncWebClient) -> None:
    me = await client.auth_test()
    with pytest.raises(SlackApiError) as raised:
        await client.api_call("chat.teleport", json={"channel": "C0QA"})

    assert me["ok"] is True and me["user_id"].startswith("U")
    assert raised.value.response["error"] == "unknown_method"
    assert fake.violations == ["chat.teleport: no such method in the Web API spec"]


async def test_a_call_without_a_token_is_not_authed(fake: FakeSlack, session: aiohttp.ClientSession) -> None:
    anonymous = AsyncWebClient(base_url=fake.url, session=session)

    with pytest.raises(SlackApiError) as raised:
        await anonymous.chat_postMessage(channel="C0QA", text="Hi")

    assert raised.value.response["error"] == "not_authed"
    assert len(fake.violations) == 1 and "no token" in fake.violations[0]


async def test_a_scripted_error_arrives_as_slacks_error(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.fail_next("chat.postMessage", error="channel_not_found")

    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel="C0GONE", text="Hi")
    after = await client.chat_postMessage(channel="C0GONE", text="Hi")  # only the next call fails

    assert raised.value.response.status_code == 200
    assert raised.value.response["error"] == "channel_not_found"
    assert after["ok"] is True
    assert fake.violations == []


async def test_a_scripted_rate_limit_carries_retry_after(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.rate_limit_next("chat.postMessage", retry_after=7)

    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel="C0QA", text="Hi")

    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "7"
    assert raised.value.response["error"] == "ratelimited"
    assert fake.violations == []


async def test_the_rate_limit_retry_handler_waits_and_succeeds(
    fake: FakeSlack, session: aiohttp.ClientSession
) -> None:
    patient = AsyncWebClient(
        token="xoxb-test",
        base_url=fake.url,
        session=session,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )
    fake.rate_limit_next("chat.postMessage", retry_after=1)

    started = time.monotonic()
    posted = await patient.chat_postMessage(channel="C0QA", text="Hi")

    assert posted["ok"] is True
    assert time.monotonic() - started >= 1.0  # slack_sdk slept Retry-After (plus jitter below a second)
    assert [method for method, _ in fake.calls] == ["chat.postMessage", "chat.postMessage"]
    assert fake.violations == []


async def test_a_scripted_server_error(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.server_error_next("chat.update", status=503)

    with pytest.raises(SlackApiError) as raised:
        await client.chat_update(channel="C0QA", ts="1700000001.000100", text="Hi")

    assert raised.value.response.status_code == 503
    assert fake.violations == []


async def test_a_missing_required_argument_is_a_violation(fake: FakeSlack, client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        await client.api_call("chat.update", json={"channel": "C0QA", "text": "no ts"})

    assert raised.value.response["error"] == "invalid_arguments"
    assert fake.violations == ["chat.update: missing required argument 'ts'"]


@pytest.mark.parametrize(
    ("method", "args", "problem"),
    [
        ("chat.update", {"channel": "C0QA", "ts": 1700000001.0001}, "'ts' must be a string"),
        (
            "chat.postMessage",
            {"channel": "C0QA", "blocks": {"type": "section"}},
            "'blocks' must be a JSON array",
        ),
        ("chat.postMessage", {"channel": "C0QA", "blocks": "[{not json"}, "'blocks' is not valid JSON"),
        (
            "chat.postMessage",
            {"channel": "C0QA", "unfurl_links": "sometimes"},
            "'unfurl_links' must be a boolean",
        ),
        ("users.list", {"limit": "ten"}, "'limit' must be an integer"),
        ("views.publish", {"user_id": "U1", "view": []}, "'view' must be a JSON object"),
        ("chat.postMessage", {"channel": None, "text": "Hi"}, "'channel' is null"),
    ],
)
def test_argument_types_are_checked(method: str, args: dict[str, Any], problem: str) -> None:
    problems = check_args(load_spec(), method, args)

    assert len(problems) == 1 and problem in problems[0], problems


@pytest.mark.parametrize(
    ("method", "args", "error"),
    [
        ("chat.postMessage", {"channel": "C0QA", "text": ""}, "no_text"),
        ("chat.update", {"channel": "C0QA", "ts": "1.2", "text": "x" * 40_001}, "msg_too_long"),
        ("chat.postMessage", {"channel": "C0QA", "blocks": [{"type": "divider"}] * 51}, "invalid_blocks"),
        ("views.publish", {"user_id": "U0BEN", "view": {"type": "modal", "blocks": []}}, "invalid_arguments"),
    ],
)
async def test_what_slack_would_refuse_is_refused_and_flagged(
    fake: FakeSlack, client: AsyncWebClient, method: str, args: dict[str, Any], error: str
) -> None:
    with pytest.raises(SlackApiError) as raised:
        await client.api_call(method, json=args)

    assert raised.value.response["error"] == error
    assert len(fake.violations) == 1 and fake.violations[0].startswith(method), fake.violations


def test_the_spec_is_read_once_and_its_quirks_are_absorbed() -> None:
    spec = load_spec()

    assert load_spec() is spec  # a module-level cache: ~1 MB of JSON is parsed once
    assert spec.methods["chat.postMessage"].params["channel"].required
    assert {"as_user", "link_names"} <= spec.also_boolean  # string in one method, boolean in another
    assert check_args(spec, "chat.update", {"channel": "C0QA", "ts": "1.2", "as_user": True}) == []
    assert check_args(spec, "chat.postMessage", {"channel": "C0QA", "blocks": "[]", "metadata": "{}"}) == []


async def test_users_list_is_paginated_with_cursors(fake: FakeSlack, client: AsyncWebClient) -> None:
    # slack_sdk's iteration reuses one response object, so read each page as it comes.
    pages: list[list[str]] = []
    zones: set[str] = set()
    async for page in await client.users_list(limit=2):
        pages.append([member["id"] for member in page["members"]])
        zones.update(member["tz"] for member in page["members"])
        last_cursor = page["response_metadata"]["next_cursor"]

    assert pages == [["U0001", "U0002"], ["U0003", "U0004"], ["U0005"]]
    assert last_cursor == ""
    assert "cursor" not in fake.calls[0][1]
    assert all(args["limit"] == "2" for _, args in fake.calls)  # a GET: every argument is a string
    assert zones == {"Europe/London"}
    assert fake.violations == []


async def test_a_bad_cursor_is_refused(fake: FakeSlack, client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        await client.users_list(cursor="bm90LWEtdXNlcg==")

    assert raised.value.response["error"] == "invalid_cursor"
    assert fake.violations == []


async def test_users_info_and_user_groups(session: aiohttp.ClientSession) -> None:
    groups = [{"id": "S0REABLE", "handle": "reablement", "name": "Reablement", "users": ["U0001"]}]
    async with FakeSlack(members=[make_member("U0001", "Amira Hassan")], usergroups=groups) as fake:
        client = AsyncWebClient(token="xoxb-test", base_url=fake.url, session=session)

        info = await client.users_info(user="U0001")
        listed = await client.usergroups_list()
        users = await client.usergroups_users_list(usergroup="S0REABLE")
        with pytest.raises(SlackApiError) as missing:
            await client.users_info(user="U9999")

        assert info["user"]["real_name"] == "Amira Hassan"
        assert listed["usergroups"][0]["handle"] == "reablement" and "users" not in listed["usergroups"][0]
        assert users["users"] == ["U0001"]
        assert missing.value.response["error"] == "user_not_found"
        assert fake.violations == []


async def test_a_response_url_records_what_the_bot_said(
    fake: FakeSlack, session: aiohttp.ClientSession
) -> None:
    reply = {"response_type": "ephemeral", "text": "Your idea #1 is in"}

    async with session.post(fake.response_url("cmd"), json=reply) as response:
        assert response.status == 200
    async with session.post(fake.response_url("cmd"), json={"response_type": "loud"}) as response:
        assert (await response.json())["ok"] is False

    assert fake.calls_to("response_url") == [reply, {"response_type": "loud"}]
    assert len(fake.violations) == 2 and all(v.startswith("response_url:") for v in fake.violations)
