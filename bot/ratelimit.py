"""Pacing of outbound calls per platform: a token bucket, and a pause when the platform says "retry after"."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class RateLimiter:
    """At most ``rate`` calls per second on average (bursts up to ``burst``); ``rate=None`` means no limit.

    :meth:`pause` holds every caller until the platform's ``Retry-After`` has passed, so one
    429 slows the whole platform rather than each message discovering it separately.
    """

    def __init__(
        self,
        rate: float | None = None,
        *,
        burst: int = 1,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive (or None for no limit)")
        self.rate = rate
        self.burst = max(1, burst)
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
                self._tokens = min(float(self.burst), self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await self._sleep((1 - self._tokens) / self.rate)
