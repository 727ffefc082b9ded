"""Pacing of outbound calls: a token bucket per platform with a pause when the platform says "retry after",
and per-conversation windows."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

TIME_EPSILON = 1e-9  # a wait (in seconds) or a token short by this much is float rounding, not a shortfall


class RateLimiter:
    """At most ``rate`` calls per second on average (bursts up to ``burst``); ``rate=None`` means no limit.

    ``window`` ``(n, seconds)``: besides, never more than ``n`` calls in any ``seconds``, as platforms count.
    A bucket alone must either refuse to catch up after a late call (``burst=1``: the time is lost, and a
    fan-out falls behind the limit) or let a catch-up overfill a platform's window; with the window cap it
    can catch up as far as the window allows.

    :meth:`pause` holds every caller until the platform's ``Retry-After`` has passed, so one
    429 slows the whole platform rather than each message discovering it separately.
    """

    def __init__(
        self,
        rate: float | None = None,
        *,
        burst: int = 1,
        window: tuple[int, float] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive (or None for no limit)")
        if window is not None and (window[0] < 1 or window[1] <= 0):
            raise ValueError("a window needs at least one call and a positive length")
        self.rate = rate
        self.burst = max(1, burst)
        self.window = window
        self._recent: deque[float] = deque(maxlen=window[0] if window else 1)
        self._monotonic = monotonic
        self._sleep = sleep
        self._tokens = float(self.burst)
        self._stamp = monotonic()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    def pause(self, seconds: float) -> None:
        """Hold all calls for ``seconds`` from now (a longer earlier pause is kept)."""
        self._paused_until = max(self._paused_until, self._monotonic() + max(0.0, seconds))

    async def acquire(self) -> None:
        """Wait until one more call is allowed."""
        async with self._lock:  # callers queue in order, so nobody starves
            while True:
                now = self._monotonic()
                if now < self._paused_until:
                    await self._sleep(self._paused_until - now)
                    continue
                if self.rate is None:
                    return
                if self.window and len(self._recent) == self.window[0]:
                    full = self._recent[0] + self.window[1] - now  # until the oldest call leaves the window
                    if full > TIME_EPSILON:
                        await self._sleep(full)
                        continue
                self._tokens = min(float(self.burst), self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
                if self._tokens >= 1 - TIME_EPSILON:
                    self._tokens = max(0.0, self._tokens - 1)
                    self._recent.append(now)
                    return
                await self._sleep((1 - self._tokens) / self.rate)


Windows = Sequence[tuple[int, float]]


class ConversationLimiter:
    """Per-conversation limits as platforms publish them: at most ``n`` calls in any ``seconds`` window,
    for each ``(n, seconds)`` in ``windows`` (Teams: 7 in 1 s, 8 in 2 s, 60 in 30 s, 1800 in an hour).

    Keys are conversations; one conversation waiting does not hold up another.
    """

    def __init__(
        self,
        windows: Windows = (),
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if any(n < 1 or seconds <= 0 for n, seconds in windows):
            raise ValueError("each window needs at least one call and a positive length")
        self.windows = tuple(windows)
        self._horizon = max((seconds for _, seconds in self.windows), default=0.0)
        self._deepest = max((n for n, _ in self.windows), default=0)
        self._monotonic = monotonic
        self._sleep = sleep
        self._calls: dict[str, deque[float]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def acquire(self, key: str) -> None:
        """Wait until one more call in conversation ``key`` keeps within every window."""
        if not self.windows:
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            calls = self._calls.setdefault(key, deque(maxlen=self._deepest))
            while (wait := self._wait(calls, self._monotonic())) > 0:
                await self._sleep(wait)
            calls.append(self._monotonic())
        self._forget_idle()

    def _wait(self, calls: deque[float], now: float) -> float:
        wait = 0.0
        for n, seconds in self.windows:
            if len(calls) >= n:
                wait = max(wait, calls[-n] + seconds - now)  # the n-th latest call must leave the window
        return wait

    def _forget_idle(self) -> None:
        # A fan-out touches thousands of conversations once each; keep memory to those still in a window.
        if len(self._calls) < 4096:
            return
        cutoff = self._monotonic() - self._horizon
        for key in [k for k, calls in self._calls.items() if not calls or calls[-1] < cutoff]:
            if not self._locks[key].locked():
                del self._calls[key], self._locks[key]
