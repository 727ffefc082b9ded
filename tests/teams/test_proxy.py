"""Networks that reach the internet only through a proxy (the NHS's, many councils'): the bot's calls to
Teams go through the one ``HTTP(S)_PROXY`` names, as slack_sdk's and Entra ID's token fetch's do."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web

from bot.bootstrap import build_app
from bot.clock import MovableClock
from bot.settings import Settings, TeamsSettings
from dialogue.messages import Message
from dialogue.outbox import Address
from dialogue.text import t
from tests.teams.conftest import Answer

CHANNEL = "19:qa@thread.tacv2"
CONNECTOR = "http://connector.invalid/teams/"  # resolvable only by the proxy


async def test_messages_to_teams_go_through_the_proxy_the_environment_names(
    connector: tuple[list[Answer], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A forward proxy on 127.0.0.1 that answers for the connector itself, recording what it was asked for.
    answers, url = connector
    asked: list[str] = []

    def forward(request: web.Request) -> web.Response:
        asked.append(f"{request.method} {request.url}")
        return web.json_response({"id": "1700000000001"}, status=201)

    answers.append(forward)
    monkeypatch.setenv("HTTP_PROXY", url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    settings = Settings(
        data_dir=tmp_path,
        secret_key=b"proxy-test-secret-0000000",
        teams=TeamsSettings(service_url=CONNECTOR, qa_channel_id=CHANNEL),
    )
    app = await build_app(settings, clock=MovableClock(datetime(2026, 11, 30, 9, 0, tzinfo=UTC)))
    try:
        ref = await app.senders["teams"].send(to=Address(channel="qa"), message=Message(t("Question #1")))
    finally:
        await app.close()

    assert ref == f"{CHANNEL};messageid=1700000000001"
    assert asked == [f"POST {CONNECTOR}v3/conversations/{CHANNEL}/activities"]  # the proxy fetched it
