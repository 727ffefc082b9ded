"""Work a listener leaves running once the platform has its answer: mostly the calls back to the platform."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)

_T = TypeVar("_T")
Explain = Callable[[Exception], str | None]  # the platform's own reason for a refused call, if it is one


async def within(work: Coroutine[Any, Any, _T], patience: float) -> asyncio.Future[_T]:
    """Start ``work`` and wait up to ``patience`` seconds for it: the platform must have its answer by then,
    done or not. The work goes on either way; its result comes from the returned future."""
    started = asyncio.ensure_future(work)
    await asyncio.wait({started}, timeout=patience)
    return started


class Background:
    """Tasks started by listeners, kept until they finish (asyncio itself keeps only weak references).

    ``failed`` hears of each failure by the ``what`` its work was started with (for a metric: the platform
    has had its answer, so nobody else would notice). ``explain`` names a platform's refusal (Slack's error
    code), which is logged in place of the exception's type.
    """

    def __init__(
        self,
        platform: str,
        failed: Callable[[str], None] | None = None,
        explain: Explain | None = None,
    ) -> None:
        self.platform = platform
        self._tasks: set[asyncio.Task[None]] = set()
        self._failed = failed
        self._explain = explain

    def start(self, work: Coroutine[Any, Any, object], what: str) -> None:
        """Run ``work`` (described as ``what`` if it fails) without waiting for it."""
        task = asyncio.create_task(self._logged(work, what))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _logged(self, work: Coroutine[Any, Any, object], what: str) -> None:
        try:
            await work
            return
        except Exception as exc:
            reason = self._explain(exc) if self._explain is not None else None
            if reason is not None:
                log.error("%s refused a call after a %s: %s", self.platform, what, reason)
            else:
                # Only the type: the message may quote what an anonymous author wrote.
                log.error("the work after a %s %s failed: %s", self.platform, what, type(exc).__name__)
        if self._failed is not None:
            self._failed(what)

    async def drain(self, grace: float) -> None:
        """Wait up to ``grace`` seconds for the running tasks, then cancel what is left."""
        if not self._tasks:
            return
        _done, pending = await asyncio.wait(set(self._tasks), timeout=grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
