"""The ``bot`` fixture: see :mod:`tests.e2e.harness`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.harness import Bot, start_bot


@pytest.fixture
async def bot(database_url: str, tmp_path: Path) -> AsyncIterator[Bot]:
    """The bot for :data:`ORGANISATION` on SQLite and on PostgreSQL, its clock at Monday 08:00."""
    running = await start_bot(database_url, tmp_path)
    yield running
    await running.app.close()
