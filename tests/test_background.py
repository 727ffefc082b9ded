"""Listeners' work after the platform has its answer: kept, logged without what people wrote, drained."""

from __future__ import annotations

import asyncio
import logging

import pytest
from slack_sdk.errors import SlackApiError

from adapters.background import Background
from adapters.slack.app import slack_background


async def test_work_within_the_grace_finishes_and_work_beyond_it_is_cancelled() -> None:
    background = Background("Slack")
    finished: list[str] = []
    forever = asyncio.Event()

    async def quick() -> None:
        await asyncio.sleep(0.05)
        finished.append("quick")

    async def stuck() -> None:
        await forever.wait()
        finished.append("stuck")

    background.start(quick(), "button click")
    background.start(stuck(), "button click")
    await asyncio.wait_for(background.drain(grace=0.5), timeout=5)
    forever.set()  # too late: the stuck work was cancelled, not left waiting
    await asyncio.sleep(0.05)

    assert finished == ["quick"]


async def test_a_failure_is_logged_by_its_type_only_and_reported(caplog: pytest.LogCaptureFixture) -> None:
    failures: list[str] = []
    background = Background("Teams", failures.append)

    async def fails() -> None:
        raise ValueError("my anonymous idea about the rota")

    with caplog.at_level(logging.ERROR):
        background.start(fails(), "message")
        await background.drain(grace=1)

    assert "ValueError" in caplog.text and "message" in caplog.text
    assert "rota" not in caplog.text
    assert failures == ["message"]


async def test_a_call_slack_refused_is_logged_by_slack_s_error_code(caplog: pytest.LogCaptureFixture) -> None:
    background = slack_background()

    async def refused() -> None:
        raise SlackApiError(
            "The request to the Slack API failed.", {"ok": False, "error": "message_not_found"}
        )

    with caplog.at_level(logging.ERROR):
        background.start(refused(), "button click")
        await background.drain(grace=1)

    assert "Slack refused a call after a button click: message_not_found" in caplog.text
