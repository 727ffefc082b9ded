"""Flaky platforms, for the local fakes (``FakeSlack``, ``FakeConnector``): random 429s and 5xx answers.

Opt-in: a fake given a :class:`Faults` refuses a share of the calls that deliver messages (Slack's
``chat.postMessage``/``chat.update``, the connector's create/send/reply/update) with HTTP 429 and
``Retry-After`` (``rate_limited``, 20% by default) or with a server error (``server_errors``, 5%).

The draw is seeded and made per conversation and per call into it (the n-th call into conversation c is
refused or not whatever order concurrent calls arrive in), so a run is reproducible under concurrency.

What the fake records, for tests to assert on (like :class:`tests.fake_limits.Limits`):

- ``calls``: every call the faults were asked about; ``throttled`` and ``errors``: the 429s and 5xx answered
  (``refusals`` lists them, by conversation);
- ``early``: calls into a conversation that arrived before the Retry-After that conversation was given had
  passed (a client retrying too soon: the bot must never do this).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.fake_limits import Early

TOO_MANY_REQUESTS = 429


@dataclass(frozen=True)
class Fault:
    """How to answer one call: an HTTP status, and for a 429 the Retry-After in whole seconds."""

    status: int
    retry_after: int | None = None


@dataclass
class Faults:
    """Seeded random refusals per call, with a record of what was refused; thread-safe (a fake may serve
    from a thread)."""

    seed: int = 0
    rate_limited: float = 0.20
    server_errors: float = 0.05
    retry_after: int = 1  # seconds; kept small so tests wait little
    server_status: int = 503
    clock: Callable[[], float] = time.monotonic
    calls: int = 0
    throttled: int = 0
    errors: int = 0
    refusals: list[tuple[str, int]] = field(default_factory=list)  # (conversation, status)
    early: list[Early] = field(default_factory=list)
    _seen: dict[str, int] = field(default_factory=dict, repr=False)  # calls so far per conversation
    _retry_at: dict[str, float] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        shares = (self.rate_limited, self.server_errors)
        if min(shares) < 0 or sum(shares) > 1:
            raise ValueError("the shares of 429s and 5xx must be between 0 and 1 together")
        if self.retry_after < 1 or self.server_status < 500:
            raise ValueError("Retry-After is at least 1 s and a server error is a 5xx")

    def check(self, conversation: str | None) -> Fault | None:
        """Account for one call into ``conversation`` (None: about no conversation); the fault to answer
        with, or None to serve it normally."""
        key = conversation or ""
        with self._lock:
            now = self.clock()
            self.calls += 1
            if conversation is not None and now < self._retry_at.get(key, 0.0):
                self.early.append(Early(key, self._retry_at[key] - now))
            n = self._seen.get(key, 0)
            self._seen[key] = n + 1
            # A draw of its own per (conversation, n-th call): the same calls fail whatever the arrival order.
            draw = random.Random(f"{self.seed}/{key}/{n}").random()
            if draw < self.rate_limited:
                self.throttled += 1
                self.refusals.append((key, TOO_MANY_REQUESTS))
                self._retry_at[key] = max(self._retry_at.get(key, 0.0), now + self.retry_after)
                return Fault(TOO_MANY_REQUESTS, self.retry_after)
            if draw < self.rate_limited + self.server_errors:
                self.errors += 1
                self.refusals.append((key, self.server_status))
                return Fault(self.server_status)
            return None

    def summary(self) -> dict[str, object]:
        """What happened so far, as plain data."""
        with self._lock:
            return {
                "calls": self.calls,
                "throttled": self.throttled,
                "errors": self.errors,
                "early": len(self.early),
                "earliest": max((e.too_soon for e in self.early), default=0.0),
            }
