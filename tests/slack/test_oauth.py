"""Multi-workspace mode: a workspace installs the app through Slack's OAuth flow (Bolt's flow, slack_sdk's
SQLAlchemy installation and state stores on our migrated database), and from then on every call into
that workspace uses its own bot token; a workspace that never installed gets nothing."""

from __future__ import annotations

import csv
import io
import re
import tomllib
import urllib.parse
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from bot.bootstrap import build_app
from bot.cli import check_cron
from bot.clock import MovableClock
from bot.server import SLACK_PATH, start, web_app
from bot.settings import Settings, SlackOAuth, SlackSettings
from dialogue.directory_import import import_directory
from dialogue.programme import load_programme
from tests.reference import SLACK_PAYLOADS
from tests.slack.fake_api import FakeSlack, make_member
from tests.slack.harness import SECRET, SlackBot, signed_headers

PEOPLE = """\
handle,name,roles,team,slack_user_id,slack_team_id
amira,Amira Hassan,staff,Reablement,W201,T2
ben,Ben Carter,manager,Reablement,W202,T2
omar,Omar Said,staff,Housing,W301,T3
"""


@pytest.fixture
async def bot(database_url: str, tmp_path: Path) -> AsyncIterator[SlackBot]:
    async with FakeSlack(members=[make_member("W201", "Amira Hassan")]) as fake:
        slack = SlackSettings(
            bot_token="",
            signing_secret=SECRET,
            api_url=fake.url,
            qa_channel_id="C0QA",
            oauth=SlackOAuth(client_id="111.222", client_secret="client-secret", qa_team_id="T2"),
        )
        settings = Settings(
            data_dir=tmp_path,
            secret_key=b"slack-oauth-secret-0000000",
            database_url=database_url,
            slack=slack,
        )
        clock = MovableClock(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
        app = await build_app(settings, clock=clock)
        assert app.slack is not None
        assert not (await import_directory(app.store, csv.DictReader(io.StringIO(PEOPLE)))).errors
        runner = await start(web_app(slack=app.slack.app), host="127.0.0.1", port=0)
        host, port = runner.addresses[0][:2]
        try:
            async with aiohttp.ClientSession() as http:
                yield SlackBot(app, fake, f"http://{host}:{port}{SLACK_PATH}", http, clock)
        finally:
            await runner.cleanup()
            await app.close()


def base(bot: SlackBot) -> str:
    return bot.url.removesuffix(SLACK_PATH)


async def install_page(bot: SlackBot) -> tuple[str, dict[str, str]]:
    """The "Add to Slack" page, and the state cookie a browser would send back.

    Bolt marks the cookie ``Secure``; aiohttp (rightly) keeps such cookies off plain http, so the
    test carries it back itself, as a browser does over https.
    """
    async with bot.http.get(f"{base(bot)}/slack/install") as page:
        assert page.status == 200
        cookie = page.headers["Set-Cookie"].split(";")[0]
        return await page.text(), {"Cookie": cookie}


async def install(bot: SlackBot, team: str) -> aiohttp.ClientResponse:
    """Click "Add to Slack", approve in Slack (the local API hands out a code), come back."""
    html, cookie = await install_page(bot)
    authorize = re.search(r'href="(https://slack.com/oauth/v2/authorize\?[^"]+)"', html)
    assert authorize is not None, html
    query = urllib.parse.parse_qs(urllib.parse.urlparse(authorize.group(1).replace("&amp;", "&")).query)
    assert query["client_id"] == ["111.222"]
    assert set(query["scope"][0].split(",")) >= {"chat:write", "commands", "im:history"}
    code = f"code-for-{team}"
    bot.fake.install_codes[code] = team
    callback = f"{base(bot)}/slack/oauth_redirect?code={code}&state={query['state'][0]}"
    async with bot.http.get(callback, headers=cookie) as done:
        await done.read()
        return done


async def slash_command(bot: SlackBot, team: str, user: str, command: str, text: str) -> int:
    fields = dict(
        urllib.parse.parse_qsl((SLACK_PAYLOADS / "slash_command__slash_command_body.form").read_text())
    )
    fields.update(
        command=command, text=text, team_id=team, user_id=user, response_url=bot.fake.response_url(team)
    )
    for grid_only in ("enterprise_id", "enterprise_name"):  # these workspaces are not on Enterprise Grid
        fields.pop(grid_only)
    body = urllib.parse.urlencode(fields)
    headers = {"Content-Type": "application/x-www-form-urlencoded", **signed_headers(body)}
    async with bot.http.post(bot.url, data=body, headers=headers) as response:
        await response.read()
        return response.status


def tokens_of(bot: SlackBot, method: str) -> list[str]:
    return [token for (name, _), token in zip(bot.fake.calls, bot.fake.tokens, strict=True) if name == method]


async def test_an_installed_workspace_is_served_with_its_own_token(bot: SlackBot) -> None:
    done = await install(bot, "T2")

    assert done.status == 200
    assert await bot.count("slack_bots", "team_id = 'T2'") == 1
    assert await bot.count("slack_installations", "team_id = 'T2'") == 1

    mark = bot.mark()
    assert await slash_command(bot, "T2", "W201", "/ask", "Can we trial self-rostering?") == 200
    await bot.expect(mark, "response_url")
    assert await bot.count("questions") == 1
    await bot.deliver()
    token = bot.fake.token_for("T2")
    assert tokens_of(bot, "chat.postMessage") == [token]  # the question, in the Q&A channel of T2

    # The answer goes into the question's thread and to the asker, both with T2's token.
    mark = bot.mark()
    assert await slash_command(bot, "T2", "W202", "/answer", "1 Yes, from January in two teams.") == 200
    await bot.expect(mark, "response_url")
    await bot.deliver()
    sent = [a for a in bot.since(mark, "chat.postMessage")]
    assert {a["channel"] for a in sent} == {"C0QA", "W201"}
    assert set(tokens_of(bot, "chat.postMessage")) == {token}
    assert bot.fake.violations == []


async def test_a_workspace_that_never_installed_is_refused_and_gets_nothing(bot: SlackBot) -> None:
    await install(bot, "T2")
    pulse = (
        '[[pulse]]\nname = "Quick"\n[[pulse.question]]\nkind = "yes_no"\ntext = "Is the new rota working?"\n'
    )
    await load_programme(bot.app.store, tomllib.loads(pulse), check_cron=check_cron)

    assert await slash_command(bot, "T3", "W301", "/idea", "Share vans between patches") == 200
    assert await bot.count("ideas") == 0

    # A pulse to everyone: T2's people get it with T2's token; Omar's workspace never installed the
    # app, so his message fails at once instead of retrying for ever.
    mark = bot.mark()
    assert await slash_command(bot, "T2", "W202", "/pulse", "send Quick") == 200
    await bot.expect(mark, "response_url")
    await bot.deliver()
    assert {a["channel"] for a in bot.since(mark, "chat.postMessage")} == {"W201", "W202"}
    assert set(tokens_of(bot, "chat.postMessage")) == {bot.fake.token_for("T2")}
    assert await bot.count("deliveries", "status = 'failed' AND last_error LIKE '%not installed%'") == 1


async def test_an_oauth_state_works_once(bot: SlackBot) -> None:
    html, cookie = await install_page(bot)
    state = re.search(r"state=([^&\"]+)", html)
    assert state is not None
    bot.fake.install_codes["c1"] = "T2"
    bot.fake.install_codes["c2"] = "T2"
    first = f"{base(bot)}/slack/oauth_redirect?code=c1&state={state.group(1)}"
    async with bot.http.get(first, headers=cookie) as done:
        assert done.status == 200
    async with bot.http.get(first.replace("code=c1", "code=c2"), headers=cookie) as replay:
        assert replay.status == 401

    assert await bot.count("slack_installations") == 1
