"""The per-platform and per-conversation rate limiters, on a fake monotonic clock: pacing measured exactly."""

from __future__ import annotations

import asyncio

import pytest

from adapters.teams.sender import CONVERSATION_LIMITS as TEAMS_LIMITS
from bot.ratelimit import ConversationLimiter, RateLimiter


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


async def _stamps(calls: int, late: float = 0.0) -> list[float]:
    """When each of ``calls`` got through a 10/s limiter that may catch up 4 and allows 10 in any second."""
    time = FakeTime()
    limiter = RateLimiter(10.0, burst=4, window=(10, 1.0), monotonic=time.monotonic, sleep=time.sleep)
    stamps = []
    for n in range(calls):
        if n == calls // 2:
            time.now += late  # the caller was busy elsewhere for a while
        await limiter.acquire()
        stamps.append(time.now)
    return stamps


@pytest.mark.parametrize("late", [0.0, 0.15, 0.35])
async def test_a_late_caller_catches_up_without_overfilling_the_platforms_window(late: float) -> None:
    on_time = await _stamps(60)
    stamps = await _stamps(60, late)

    # Never more than 10 in any 1 s, as the platform counts...
    assert max(sum(1 for s in stamps if start <= s < start + 1.0) for start in stamps) <= 10
    # ...yet the time lost is made up: 60 calls end when they would have without the delay.
    assert stamps[-1] == pytest.approx(on_time[-1])


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


def most_in_any_window(stamps: list[float], seconds: float) -> int:
    """The most calls that fell in any window of ``seconds`` (windows start at a call)."""
    return max(sum(1 for t in stamps if start <= t < start + seconds - 1e-9) for start in stamps)


async def test_one_conversation_keeps_within_every_teams_window() -> None:
    time = FakeTime()
    limiter = ConversationLimiter(TEAMS_LIMITS, monotonic=time.monotonic, sleep=time.sleep)
    stamps = []
    for _ in range(130):
        await limiter.acquire("a:chat-with-amira")
        stamps.append(time.now)

    assert most_in_any_window(stamps, 1.0) == 7
    assert most_in_any_window(stamps, 2.0) == 8
    assert most_in_any_window(stamps, 30.0) == 60
    # As fast as the windows allow: 130 calls take two 30-second windows and a little more.
    assert 60.0 <= stamps[-1] <= 63.0


async def test_other_conversations_do_not_wait_for_a_busy_one() -> None:
    time = FakeTime()
    limiter = ConversationLimiter(TEAMS_LIMITS, monotonic=time.monotonic, sleep=time.sleep)
    for _ in range(8):
        await limiter.acquire("busy")
    waited_at = time.now

    for person in range(500):
        await limiter.acquire(f"person-{person}")

    assert time.now == waited_at  # 500 different chats, one message each: no waiting at all


async def test_callers_to_one_conversation_wait_their_turn_concurrently() -> None:
    time = FakeTime()
    limiter = ConversationLimiter([(2, 1.0)], monotonic=time.monotonic, sleep=time.sleep)
    stamps: list[float] = []

    async def call() -> None:
        await limiter.acquire("qa-thread")
        stamps.append(time.now)

    await asyncio.gather(*(call() for _ in range(6)))

    assert sorted(stamps) == pytest.approx([0.0, 0.0, 1.0, 1.0, 2.0, 2.0])


def test_a_window_needs_a_count_and_a_length() -> None:
    with pytest.raises(ValueError, match="window"):
        ConversationLimiter([(0, 1.0)])
