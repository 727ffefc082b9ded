"""Smoke runs of the ingest benchmark: tiny, on SQLite, asserting on the figures it returns."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.ingest import Options, PlatformRun, render, run

PEOPLE = 10


@pytest.mark.parametrize("platform", ["slack", "teams"])
async def test_a_tiny_run(platform: str, tmp_path: Path) -> None:
    # Short phases and one client: our Slack server acks faster than it stores, and each phase waits
    # until every tap is handled. Spec checks on: the local platform vouches for every call.
    options = Options(
        platforms=(platform,),
        seconds=0.5,
        rate=20,
        people=PEOPLE,
        clients=1,
        warmup=0,
        settle=5,
        check_spec=True,
        work_dir=tmp_path,
    )
    report = await run(options)

    [result] = report.runs
    assert isinstance(result, PlatformRun)
    assert result.platform == platform
    for server in (result.bare, result.ours):
        assert server["closed"].count > 0
        assert server["open"].count == 10  # 20 a second for half a second
    assert result.requests > 0
    assert result.errors == 0, render(report)
    assert result.people_tapped == PEOPLE  # the closed loop taps everyone, round robin
    assert result.answers_stored == result.people_tapped
    assert result.deliveries == {"sent": 1 + 2 * PEOPLE}  # manager's note, pulse, next question
    assert result.handled_rps > 0
    # A tap costs our server more CPU than an ack costs the bare one (it stores it and updates the card).
    assert result.cpu_ms["ours"] > result.cpu_ms["bare"] > 0
    assert result.ratio == pytest.approx(result.handled_rps / result.bare["closed"].throughput)
    if platform == "slack":
        assert len(result.card_latencies) == 10  # every open-loop tap's card update was paired
    assert report.machine["nproc"] >= 1
    assert f"{platform:<9}ours" in render(report)
