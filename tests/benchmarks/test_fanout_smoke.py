"""Smoke runs of the fan-out benchmark: small, with the limits scaled down, asserting on its figures."""

from __future__ import annotations

import io

import pytest

from benchmarks.fanout import FanoutResult, peak_in_window, print_report, run_fanout
from bot.bootstrap import CATCH_UP, PACE_MARGIN


def _sane(result: FanoutResult, people: int) -> None:
    assert result.messages == people
    assert (result.lost, result.duplicated, result.failed, result.unsettled) == (0, 0, 0, 0), result
    assert result.early == 0, "the bot retried into a conversation before its Retry-After had passed"
    assert 0 < result.wall < 20
    assert 0 < result.cpu_per_1000 < 1000
    assert result.sends_per_second == pytest.approx(people / result.wall)


def _kind(database_url: str) -> str:
    return "sqlite" if database_url.startswith("sqlite") else "postgres"


async def test_slack_under_scaled_limits(database_url: str) -> None:
    # 6,000 a minute (the bot is told 100/s): 200 people fit in the first window.
    result = await run_fanout(
        platform="slack",
        limits="published",
        people=200,
        database_kind=_kind(database_url),
        postgres_url=database_url,
        slack_per_minute=6000,
        give_up_after=20,
    )
    _sane(result, 200)
    assert result.minimum == pytest.approx(2.0)
    # Just under the limit, catching up a few calls at most, never more than 98% of it in Slack's minute.
    assert result.bot_rate == pytest.approx(100 * PACE_MARGIN) and result.bot_burst == CATCH_UP
    assert result.bot_window == (5880, 60.0)
    assert result.refused == 0
    assert result.peak_in_window <= 6000
    out = io.StringIO()
    print_report([result], out)
    assert "slack    published" in out.getvalue()
    assert "the platform allows 6000" in out.getvalue()


async def test_teams_under_published_limits() -> None:
    result = await run_fanout(platform="teams", limits="published", people=120, give_up_after=20)
    _sane(result, 120)
    assert result.minimum == pytest.approx(120 / 50)
    assert result.ratio is not None and result.ratio > 0.5  # a burst may start fast, never this fast
    assert result.bot_rate == pytest.approx(50 * PACE_MARGIN) and result.bot_window == (49, 1.0)
    assert result.limit_calls == 50 and result.limit_window == 1.0


async def test_slack_without_limits() -> None:
    result = await run_fanout(platform="slack", limits="none", people=200, give_up_after=20)
    _sane(result, 200)
    assert result.minimum is None and result.ratio is None
    assert result.bot_rate is None and result.refused == 0


def test_peak_in_window() -> None:
    assert peak_in_window([0.0, 0.5, 0.99, 1.0, 1.5, 3.0], 1.0) == 3
    assert peak_in_window([], 1.0) == 0
