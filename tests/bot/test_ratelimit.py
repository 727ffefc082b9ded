"""The per-platform rate limiter, on a fake monotonic clock so the test measures pacing exactly."""

from __future__ import annotations

import pytest

from bot.ratelimit import RateLimiter


class FakeTime:
    """A monotonic clock that moves only when the limiter sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_calls_are_spaced_to_the_rate_after_the_burst() -> None:
    time = FakeTime()
    limiter = RateLimiter(2.0, burst=2, monotonic=time.monotonic, sleep=time.sleep)
    stamps = []
    for _ in range(6):
        await limiter.acquire()
        stamps.append(time.now)

    assert stamps == pytest.approx([0.0, 0.0, 0.5, 1.0, 1.5, 2.0])


async def test_a_pause_holds_every_call_until_retry_after_has_passed() -> None:
    time = FakeTime()
    limiter = RateLimiter(None, monotonic=time.monotonic, sleep=time.sleep)
    await limiter.acquire()
    limiter.pause(30)
    limiter.pause(5)  # a shorter, later advice does not shorten the first

    await limiter.acquire()

    assert time.now == pytest.approx(30.0)


async def test_no_limit_never_waits() -> None:
    time = FakeTime()
    limiter = RateLimiter(monotonic=time.monotonic, sleep=time.sleep)
    for _ in range(1000):
        await limiter.acquire()

    assert time.slept == []


def test_a_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(0)
