"""Socket Mode: ``nextpractice serve`` with an app-level token connects out to Slack (here the local API's
WebSocket), takes a slash command over the socket, acknowledges it and answers, with no public URL."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import urllib.parse
from pathlib import Path

from tests.reference import SLACK_PAYLOADS
from tests.slack.fake_api import FakeSlack
from tests.slack.harness import wait_for

PEOPLE = "handle,name,team,slack_user_id,slack_team_id\namira,Amira Hassan,Reablement,W111,T111\n"


def _socket_env(database_url: str, tmp_path: Path, api_url: str) -> dict[str, str]:
    """``serve`` in Socket Mode against the Slack Web API at ``api_url``."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "NEXTPRACTICE_DATA_DIR": str(tmp_path / "data"),
        "NEXTPRACTICE_SECRET_KEY": "socket-mode-tests-key-0123",
        "SLACK_BOT_TOKEN": "xoxb-socket-test",
        "SLACK_APP_TOKEN": "xapp-socket-test",
        "SLACK_API_URL": api_url,
        "PORT": "0",
        "PYTHONUNBUFFERED": "1",
    }


async def test_serve_takes_a_slash_command_over_the_socket(database_url: str, tmp_path: Path) -> None:
    people = tmp_path / "people.csv"
    people.write_text(PEOPLE)
    async with FakeSlack() as fake:
        env = _socket_env(database_url, tmp_path, fake.url)
        imported = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "directory", "import", str(people), env=env
        )
        assert await imported.wait() == 0
        log = tmp_path / "serve.log"
        with log.open("wb") as output:
            serve = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "serve", env=env, stdout=output, stderr=asyncio.subprocess.STDOUT
            )
        try:
            await asyncio.wait_for(fake.socket_connected.wait(), 30)
            fields = dict(
                urllib.parse.parse_qsl(
                    (SLACK_PAYLOADS / "slash_command__slash_command_body.form").read_text()
                )
            )
            fields.update(command="/idea", text="Put the key safe codes in the rota app", user_id="W111")
            fields.update(team_id="T111", response_url=fake.response_url("socket"))

            ack = await fake.over_socket("slash_commands", fields)

            assert ack["envelope_id"]
            await wait_for(lambda: fake.calls_to("response_url"), within=10)
            assert "Your idea #1 is in" in str(fake.calls_to("response_url")[0])
            assert fake.violations == []
        finally:
            serve.send_signal(signal.SIGTERM)
            await asyncio.wait_for(serve.wait(), 30)
        printed = log.read_text()
        assert "Slack: connected in Socket Mode" in printed and "Stopped." in printed, printed
        assert "/slack/events" not in printed  # no request URL is offered in Socket Mode


async def test_serve_stops_on_sigterm_while_slack_cannot_be_reached(
    database_url: str, tmp_path: Path
) -> None:
    env = {
        **_socket_env(database_url, tmp_path, "http://127.0.0.1:9/api/"),  # nothing listens there
        "TZ": "BST",  # a host zone no library can read: schedules carry their own, serve needs none
        "NEXTPRACTICE_RETENTION_DAYS": "30",
    }
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        serve = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "serve", env=env, stdout=output, stderr=asyncio.subprocess.STDOUT
        )
    try:
        # Delivery and the schedules run while Socket Mode keeps trying to connect.
        await wait_for(lambda: "Running. Stop with Ctrl-C." in log.read_text(), within=30)
    finally:
        serve.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(serve.wait(), 15)  # it waited on Slack, deaf to SIGTERM
    printed = log.read_text()
    assert code == 0 and "Stopped." in printed, printed
    assert "Messages kept: 30 days" in printed  # the operator sees the retention period took
    assert "Slack: connected in Socket Mode" not in printed
