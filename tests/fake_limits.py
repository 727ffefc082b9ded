"""Rate limits as a platform enforces them, for the local fakes (``FakeSlack``, ``FakeConnector``).

Opt-in: a fake given a :class:`Limits` answers a call over a limit with HTTP 429 and ``Retry-After``, as
Slack and Teams do, and keeps count. Each limit is a sliding window, "at most ``n`` calls in any ``seconds``",
read strictly (no burst beyond ``n``):

- app-wide windows count every limited call (Slack: chat.postMessage in the workspace; Teams: every request
  of the app in the tenant);
- conversation windows count the calls into one conversation (a Slack channel or DM, a Teams chat or
  thread).

Only accepted calls count towards a window. Once a 429 has said "retry after s seconds", every call it covers
(the whole app for an app-wide limit, else that conversation) is refused until then, with the time left.
Retry-After is given in whole seconds (at least 1), as both platforms send it.

What the fake records, for benchmarks and tests to assert on:

- ``refused``: the 429s answered;
- ``early``: calls into a conversation that arrived before the Retry-After that conversation was given had
  passed (a client retrying too soon: the bot must never do this);
- ``during_pause``: calls that arrived while an app-wide Retry-After was running (calls already in flight when
  the 429 went out land here too, so this need not be zero).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

Windows = Sequence[tuple[int, float]]  # (calls, seconds): at most that many calls in any window that long


@dataclass(frozen=True)
class Early:
    """A call into ``conversation`` that came ``too_soon`` seconds before its Retry-After had passed."""

    conversation: str
    too_soon: float


@dataclass
class Limits:
    """Sliding-window limits per app and per conversation; thread-safe (a fake may serve from a thread)."""

    app: Windows = ()
    conversation: Windows = ()
    clock: Callable[[], float] = time.monotonic
    refused: int = 0
    early: list[Early] = field(default_factory=list)
    during_pause: int = 0
    _app_calls: deque[float] = field(default_factory=deque, repr=False)
    _calls: dict[str, deque[float]] = field(default_factory=dict, repr=False)
    _app_retry_at: float = field(default=0.0, repr=False)
    _retry_at: dict[str, float] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if any(n < 1 or seconds <= 0 for n, seconds in (*self.app, *self.conversation)):
            raise ValueError("each window needs at least one call and a positive length")

    def check(self, conversation: str | None) -> int | None:
        """Account for one call into ``conversation`` (None: a call about no conversation).

        Returns None when the call is allowed (and counts it), else the Retry-After in whole seconds.
        """
        with self._lock:
            now = self.clock()
            if now < self._app_retry_at:
                self.during_pause += 1
            if conversation is not None and now < self._retry_at.get(conversation, 0.0):
                self.early.append(Early(conversation, self._retry_at[conversation] - now))
            calls = self._calls.setdefault(conversation, deque()) if conversation is not None else None
            app_wait = max(self._app_retry_at - now, _wait(self._app_calls, self.app, now))
            own_wait = 0.0
            if calls is not None:
                own_wait = max(
                    self._retry_at.get(conversation or "", 0.0) - now, _wait(calls, self.conversation, now)
                )
            if app_wait <= 0 and own_wait <= 0:
                self._app_calls.append(now)
                if calls is not None:
                    calls.append(now)
                _trim(self._app_calls, self.app, now)
                if calls is not None:
                    _trim(calls, self.conversation, now)
                return None
            self.refused += 1
            retry_after = max(1, math.ceil(max(app_wait, own_wait)))
            if app_wait > 0:
                self._app_retry_at = max(self._app_retry_at, now + retry_after)
            if conversation is not None:
                self._retry_at[conversation] = max(self._retry_at.get(conversation, 0.0), now + retry_after)
            return retry_after

    def summary(self) -> dict[str, object]:
        """What happened so far, as plain data."""
        with self._lock:
            return {
                "refused": self.refused,
                "early": len(self.early),
                "earliest": max((e.too_soon for e in self.early), default=0.0),
                "during_pause": self.during_pause,
            }


def _wait(calls: deque[float], windows: Windows, now: float) -> float:
    """Seconds until one more call keeps within every window (0 or less: now)."""
    wait = 0.0
    for n, seconds in windows:
        if len(calls) >= n:
            wait = max(wait, calls[-n] + seconds - now)  # the n-th latest call must leave the window
    return wait


def _trim(calls: deque[float], windows: Windows, now: float) -> None:
    """Forget calls no window can see any more."""
    deepest = max((n for n, _ in windows), default=0)
    horizon = max((seconds for _, seconds in windows), default=0.0)
    while len(calls) > deepest or (calls and calls[0] <= now - horizon):
        calls.popleft()
