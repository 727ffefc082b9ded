"""Inbound events already handled: the database decides, so retries to any replica count once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete

from storage.models import InboxRow
from storage.sql import Repo


class SqlInbox(Repo):
    """Implements :class:`dialogue.ports.InboxRepo`."""

    async def first_time(self, key: str, *, at: datetime) -> bool:
        """Record ``key``; False if it was recorded before."""
        statement = self.insert(InboxRow).values(key=key, at=at).on_conflict_do_nothing()
        return await self.changed(statement) == 1

    async def forget(self, key: str) -> None:
        """Delete ``key``'s record, if any."""
        await self.session.execute(delete(InboxRow).where(InboxRow.key == key))
