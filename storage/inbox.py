"""Inbound events already handled: the database decides, so retries to any replica count once."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import cast

from sqlalchemy import Table, delete
from sqlalchemy.dialects import postgresql, sqlite

from dialogue.anonymity import coarse
from storage.models import InboxRow
from storage.sql import Repo, dialect_insert

_INBOX = cast(Table, InboxRow.__table__)


@functools.cache
def _record(dialect: str) -> postgresql.Insert | sqlite.Insert:
    """Record a key unless it is recorded (every inbound event asks); built once per dialect."""
    return dialect_insert(dialect, _INBOX).on_conflict_do_nothing()


class SqlInbox(Repo):
    """Implements :class:`dialogue.ports.InboxRepo`."""

    async def first_time(self, key: str, *, at: datetime) -> bool:
        """Record ``key``; False if it was recorded before.

        Only the hour of ``at`` is kept: a key may name the person's conversation (Teams), and its exact
        time could be matched against an anonymous question's post in the channel.
        """
        return await self.changed(_record(self.dialect), {"key": key, "at": coarse(at)}) == 1

    async def forget(self, key: str) -> None:
        """Delete ``key``'s record, if any."""
        await self.session.execute(delete(InboxRow).where(InboxRow.key == key))

    async def forget_before(self, before: datetime) -> int:
        """Delete the records older than ``before`` (by the index on ``at``); how many."""
        return await self.changed(delete(InboxRow).where(InboxRow.at < before))
