"""PostgreSQL restarted in the middle of traffic: requests during the outage get a clear error (Slack and
Teams then retry), nothing acknowledged is lost, the bot recovers by itself once the database is back.

The machine's PostgreSQL cannot be restarted in a test, so the bot reaches it through :class:`CutProxy`, a
TCP proxy on 127.0.0.1 that the test cuts (every connection dropped, new ones closed at once) and restores:
to the bot that is exactly a restart, its pooled connections die. PostgreSQL only: SQLite has no server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import make_url, text

from bot.bootstrap import App
from bot.server import Readiness, start, web_app
from tests.slack.harness import (
    SLACK_PAYLOADS,
    WORKSPACE,
    SlackBot,
    payload,
    signed_headers,
    slack_bot,
    wait_for,
)
from tests.teams.activities import make_member
from tests.teams.harness import people_csv, teams_bot

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
PEOPLE = "handle,name,time_zone,roles,team,slack_user_id,slack_team_id\n" + (
    f"amira,Amira,Europe/London,staff,Care,U0AMIRA,{WORKSPACE}\n"
)
AMIRA = "U0AMIRA"


class CutProxy:
    """A TCP proxy to ``host:port``; :meth:`cut` closes every connection and refuses new ones until
    :meth:`restore`."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.up = True
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self.address = ("", 0)

    async def __aenter__(self) -> CutProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.address = self._server.sockets[0].getsockname()[:2]
        return self

    async def __aexit__(self, *_: object) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def url(self, database_url: str) -> str:
        """``database_url`` pointed through the proxy."""
        return make_url(database_url).set(host=self.address[0], port=self.address[1]).render_as_string(False)

    def cut(self) -> None:
        """PostgreSQL "goes down": every open connection is reset, and new ones are closed on arrival."""
        self.up = False
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def restore(self) -> None:
        """PostgreSQL is back: new connections get through again (the old ones stay dead)."""
        self.up = True

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        if not self.up:
            client_writer.transport.abort()
            return
        try:
            server_reader, server_writer = await asyncio.open_connection(self.host, self.port)
        except OSError:
            client_writer.transport.abort()
            return
        self._writers |= {client_writer, server_writer}
        await asyncio.gather(
            _pipe(client_reader, server_writer), _pipe(server_reader, client_writer), return_exceptions=True
        )
        self._writers -= {client_writer, server_writer}


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        with contextlib.suppress(Exception):
            writer.transport.abort()


@pytest.fixture
def postgres_url(database_url: str) -> str:
    """The PostgreSQL run of ``database_url``; the SQLite one is skipped."""
    if make_url(database_url).get_backend_name() != "postgresql":
        pytest.skip("a database outage needs a database server: PostgreSQL only")
    return database_url


@asynccontextmanager
async def readyz(app: App) -> AsyncIterator[str]:
    """``/readyz`` of the running app, as ``nextpractice serve`` serves it; yields its URL."""
    readiness = Readiness(app.store.engine, app.head_revision, timeout=2)
    runner = await start(web_app(readiness=readiness), host="127.0.0.1", port=0)
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}/readyz"
    finally:
        await runner.cleanup()


def dm_event(n: int, text: str) -> str:
    """Amira's DM as event ``n``: the same event id each time it is built, as Slack's retries carry."""
    body = payload("message__message_body.json")
    ts = f"{time.time():.6f}"
    body.update(team_id=WORKSPACE, event_id=f"EvOutage{n}")
    body["event"].update(text=text, user=AMIRA, channel="D0AMIRA", channel_type="im", ts=ts)
    body["event"].pop("blocks", None)
    return json.dumps(body)


async def post(bot: SlackBot, body: str, *, retry: int = 0, form: bool = False) -> tuple[int, str]:
    """Post a signed body; ``retry`` > 0 marks it as Slack's n-th redelivery."""
    kind = "application/x-www-form-urlencoded" if form else "application/json"
    headers = {"Content-Type": kind, **signed_headers(body)}
    if retry:
        headers.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_error"})
    async with bot.http.post(bot.url, data=body.encode(), headers=headers) as response:
        return response.status, await response.text()


def slash(bot: SlackBot, text: str, key: str) -> str:
    """Amira's ``/idea text`` as Slack posts it."""
    fields = dict(
        urllib.parse.parse_qsl((SLACK_PAYLOADS / "slash_command__slash_command_body.form").read_text())
    )
    fields.update(
        command="/idea",
        text=text,
        user_id=AMIRA,
        team_id=WORKSPACE,
        trigger_id=f"t-{key}",
        response_url=bot.fake.response_url(key),
    )
    return urllib.parse.urlencode(fields)


async def ideas(app: App) -> list[str]:
    """The texts of the stored ideas, oldest first."""
    async with app.store.engine.connect() as db:
        return [row[0] for row in (await db.execute(text("SELECT text FROM ideas ORDER BY id"))).all()]


async def status_of(http: aiohttp.ClientSession, url: str) -> int:
    """The HTTP status of a GET."""
    async with http.get(url) as response:
        return response.status


async def test_slack_events_through_a_postgres_restart(postgres_url: str, tmp_path: Path) -> None:
    url = make_url(postgres_url)
    async with (
        CutProxy(url.host or "127.0.0.1", url.port or 5432) as proxy,
        slack_bot(proxy.url(postgres_url), tmp_path, PEOPLE, start_at=START) as bot,
        readyz(bot.app) as ready,
        aiohttp.ClientSession() as http,
    ):
        assert await status_of(http, ready) == 200
        assert (await post(bot, dm_event(1, "idea before the outage")))[0] == 200
        await wait_for(lambda: len(bot.posted("chat.postMessage")) == 1)

        proxy.cut()
        assert await status_of(http, ready) == 503
        # The event cannot be recorded: a 5xx, so Slack sends it again later (it is not acked).
        status, _ = await post(bot, dm_event(2, "idea during the outage"))
        assert status >= 500

        proxy.restore()
        # Back without a restart: pooled connections that died are replaced (pool_pre_ping).
        assert await status_of(http, ready) == 200
        assert (await post(bot, dm_event(2, "idea during the outage"), retry=1))[0] == 200
        assert (await post(bot, dm_event(2, "idea during the outage"), retry=2))[0] == 200  # a late copy
        assert (await post(bot, dm_event(3, "idea after the outage")))[0] == 200
        await wait_for(lambda: len(bot.posted("chat.postMessage")) == 3)
        await asyncio.sleep(0.3)  # time for a wrong second answer to the retried event to show

        assert sorted(await ideas(bot.app)) == [
            "after the outage",
            "before the outage",
            "during the outage",
        ]
        answers = [call["text"] for call in bot.posted("chat.postMessage")]
        # Sorted: replies are posted after the acks, in the background, so they may come in any order.
        assert sorted(answer.split(" is in")[0] for answer in answers) == [
            f"Thanks! Your idea #{n}" for n in (1, 2, 3)
        ]
        assert bot.fake.violations == []


async def test_a_slash_command_acked_during_an_outage_is_not_lost(postgres_url: str, tmp_path: Path) -> None:
    url = make_url(postgres_url)
    async with (
        CutProxy(url.host or "127.0.0.1", url.port or 5432) as proxy,
        slack_bot(proxy.url(postgres_url), tmp_path, PEOPLE, start_at=START) as bot,
    ):
        proxy.cut()
        status, _ = await post(bot, slash(bot, "sent by slash command mid-outage", "during"), form=True)
        await asyncio.sleep(0.5)  # the listener runs after the ack, and fails
        proxy.restore()

        # Acked: Slack will not send it again, so the person is told it was not saved, to send it again.
        assert status == 200
        await wait_for(lambda: bot.posted("response_url"))
        told = bot.posted("response_url")
        assert (
            len(told) == 1 and "was not saved" in told[0]["text"] and told[0]["response_type"] == "ephemeral"
        )
        assert await ideas(bot.app) == []
        status, _ = await post(bot, slash(bot, "sent by slash command mid-outage", "again"), form=True)
        assert status == 200
        await wait_for(lambda: len(bot.posted("response_url")) == 2)
        assert await ideas(bot.app) == ["sent by slash command mid-outage"]


async def test_a_teams_message_through_a_postgres_restart(postgres_url: str, tmp_path: Path) -> None:
    amira = make_member("Amira Hassan")
    people = people_csv([("amira", "Amira Hassan", "staff", "Care", amira)])
    url = make_url(postgres_url)
    async with (
        CutProxy(url.host or "127.0.0.1", url.port or 5432) as proxy,
        teams_bot(proxy.url(postgres_url), tmp_path, people=people) as bot,
    ):
        assert await bot.say(amira, "idea before the outage")
        during = bot.teams.personal_message("idea during the outage", sender=amira)

        proxy.cut()
        status, _ = await bot.post(during)
        assert status >= 500  # a turn that failed: Teams sends the activity again

        proxy.restore()
        mark = bot.mark()
        assert (await bot.post(during))[0] == 201
        assert (await bot.post(during))[0] == 201  # and a late duplicate changes nothing
        assert len(bot.since(mark, bot.chat(amira))) == 1
        assert await bot.say(amira, "idea after the outage")
        assert await ideas(bot.app) == ["before the outage", "during the outage", "after the outage"]
        assert bot.fake.violations == []


async def test_the_delivery_worker_waits_out_an_outage_saying_so_once_and_says_when_it_is_over(
    postgres_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = make_url(postgres_url)
    async with (
        CutProxy(url.host or "127.0.0.1", url.port or 5432) as proxy,
        slack_bot(proxy.url(postgres_url), tmp_path, PEOPLE, start_at=START) as bot,
    ):
        worker = bot.app.worker
        worker.poll_seconds = 0.05
        stop = asyncio.Event()
        proxy.cut()
        with caplog.at_level(logging.WARNING, logger="bot.delivery"):
            running = asyncio.create_task(worker.run(stop))
            await asyncio.sleep(1.0)  # some twenty polls against a database that is down
            proxy.restore()
            await wait_for(lambda: any("answers again" in r.getMessage() for r in caplog.records))
            stop.set()
            await running

        said = [r for r in caplog.records if r.name == "bot.delivery"]
        assert [r.levelno for r in said] == [logging.ERROR, logging.WARNING], [r.getMessage() for r in said]
        assert said[0].exc_info is not None and "could not reach the outbox" in said[0].getMessage()
        assert said[1].getMessage().startswith("delivery: the outbox answers again after")
