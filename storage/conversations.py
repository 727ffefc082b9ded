"""What a person's next free-text reply answers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, not_, or_, select

from storage.models import ConversationRow
from storage.sql import Repo


class SqlConversations(Repo):
    """Implements :class:`dialogue.ports.ConversationRepo` (one open prompt per person)."""

    async def set_awaiting(
        self, person_id: int, awaiting: str, *, at: datetime, keep: Sequence[str] = ()
    ) -> None:
        """Remember that the person's next reply answers ``awaiting`` (e.g. ``"item:12:4"``), unless what it
        answers now starts with one of ``keep``, in one upsert."""
        insert = self.insert(ConversationRow)
        kept = [ConversationRow.awaiting.startswith(prefix, autoescape=True) for prefix in keep]
        await self.session.execute(
            insert.values(person_id=person_id, awaiting=awaiting, at=at).on_conflict_do_update(
                index_elements=[ConversationRow.person_id],
                set_={"awaiting": awaiting, "at": insert.excluded.at},
                where=not_(or_(*kept)) if kept else None,
            )
        )

    async def awaiting(self, person_id: int) -> str | None:
        """What the person's next reply answers, if anything."""
        return await self.session.scalar(
            select(ConversationRow.awaiting).where(ConversationRow.person_id == person_id)
        )

    async def clear_awaiting(self, person_id: int, awaiting: str | None = None) -> None:
        """Forget it (only if it is still ``awaiting`` when given), in one conditional DELETE."""
        statement = delete(ConversationRow).where(ConversationRow.person_id == person_id)
        if awaiting is not None:
            statement = statement.where(ConversationRow.awaiting == awaiting)
        await self.session.execute(statement.execution_options(synchronize_session=False))
