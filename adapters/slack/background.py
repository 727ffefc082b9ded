"""Work a Slack listener leaves running once Slack has its answer: mostly the calls back to Slack."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)


class Background:
    """Tasks started by listeners, kept until they finish (asyncio itself keeps only weak references).

    ``failed`` hears of each failure by the ``what`` its work was started with (for a metric: Slack has had
    its answer, so nobody else would notice).
    """

    def __init__(self, failed: Callable[[str], None] | None = None) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._failed = failed

    def start(self, work: Coroutine[Any, Any, object], what: str) -> None:
        """Run ``work`` (described as ``what`` if it fails) without waiting for it."""
        task = asyncio.create_task(self._logged(work, what))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _logged(self, work: Coroutine[Any, Any, object], what: str) -> None:
        try:
            await work
            return
        except SlackApiError as error:
            log.error("Slack refused a call after a %s: %s", what, error.response.get("error"))
        except Exception as exc:
            # Only the type: the message may quote what an anonymous author wrote.
            log.error("the work after a Slack %s failed: %s", what, type(exc).__name__)
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
