"""The Slack listeners' work after their acks: kept running, logged without what people wrote, drained."""

from __future__ import annotations

import asyncio
import logging

import pytest

from adapters.slack.background import Background


async def test_work_within_the_grace_finishes_and_work_beyond_it_is_cancelled() -> None:
    background = Background()
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
    background = Background(failures.append)

    async def fails() -> None:
        raise ValueError("my anonymous idea about the rota")

    with caplog.at_level(logging.ERROR):
        background.start(fails(), "message")
        await background.drain(grace=1)

    assert "ValueError" in caplog.text and "message" in caplog.text
    assert "rota" not in caplog.text
    assert failures == ["message"]
