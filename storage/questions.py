"""Questions to senior managers, their threads, upvotes and moderation."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, select, update

from dialogue.messages import Message, message_to_data
from dialogue.qa import ModerationEntry, QaPost, Question, QuestionStatus
from dialogue.text import t
from storage.models import DeliveryRow, ModerationRow, QaPostRow, QuestionRow, UpvoteRow
from storage.sql import Repo


def _question(row: QuestionRow) -> Question:
    return Question(
        id=row.id,
        text=row.text,
        status=QuestionStatus(row.status),
        created_at=row.created_at,
        asker_id=row.asker_id,
        route=row.route,
        addressed_to_id=row.addressed_to_id,
        votes=row.votes,
        flagged=row.flagged,
    )


# Overdue means: still open (unanswered) and not yet flagged.
_WAITING = (QuestionRow.status == QuestionStatus.OPEN.value, QuestionRow.flagged.is_(False))
# Held for moderation and not yet brought to the moderators' attention (``flagged`` serves both waits).
_HELD = (QuestionRow.status == QuestionStatus.HELD.value, QuestionRow.flagged.is_(False))


class SqlQuestions(Repo):
    """Implements :class:`dialogue.ports.QuestionRepo`."""

    async def add_question(
        self,
        *,
        text: str,
        at: datetime,
        asker_id: int | None,
        route: str | None,
        addressed_to_id: int | None,
        status: QuestionStatus,
    ) -> Question:
        """Store a new question with no upvotes."""
        row = QuestionRow(
            text=text,
            status=QuestionStatus(status).value,
            created_at=at,
            asker_id=asker_id,
            route=route,
            addressed_to_id=addressed_to_id,
            votes=0,
            flagged=False,
        )
        self.session.add(row)
        await self.session.flush()
        return _question(row)

    async def set_route(self, question_id: int, route: str) -> None:
        """Set the pseudonymous reply route of an anonymous asker (it depends on the id)."""
        await self.session.execute(
            update(QuestionRow).where(QuestionRow.id == question_id).values(route=route)
        )

    async def get_question(self, question_id: int) -> Question | None:
        """The question with this id."""
        row = await self.session.get(QuestionRow, question_id, populate_existing=True)
        return _question(row) if row else None

    async def questions(
        self, *, statuses: Collection[QuestionStatus], limit: int = 20, offset: int = 0
    ) -> list[Question]:
        """Most votes first, then newest first."""
        rows = await self.session.scalars(
            select(QuestionRow)
            .where(QuestionRow.status.in_([QuestionStatus(s).value for s in statuses]))
            .order_by(QuestionRow.votes.desc(), QuestionRow.created_at.desc(), QuestionRow.id.desc())
            .limit(limit)
            .offset(offset)
            .execution_options(populate_existing=True)
        )
        return [_question(row) for row in rows]

    async def count(self, *, statuses: Collection[QuestionStatus]) -> int:
        """How many questions have one of these statuses."""
        found = await self.session.scalar(
            select(func.count())
            .select_from(QuestionRow)
            .where(QuestionRow.status.in_([QuestionStatus(s).value for s in statuses]))
        )
        return int(found or 0)

    async def set_status(
        self,
        question_id: int,
        expected: Collection[QuestionStatus],
        status: QuestionStatus,
        *,
        posted_at: datetime | None = None,
    ) -> bool:
        """Change the status if it is one of ``expected``; False otherwise. ``posted_at`` dates it anew."""
        values: dict[str, object] = {"status": QuestionStatus(status).value}
        if posted_at is not None:  # posted now: its wait for an answer starts now, unflagged
            values["created_at"] = posted_at
            values["flagged"] = False
        changed = await self.changed(
            update(QuestionRow)
            .where(
                QuestionRow.id == question_id,
                QuestionRow.status.in_([QuestionStatus(s).value for s in expected]),
            )
            .values(**values)
        )
        return changed == 1

    async def withdraw(self, question_id: int, expected: Collection[QuestionStatus]) -> bool:
        """See :meth:`dialogue.ports.QuestionRepo.withdraw`."""
        withdrawn = await self.changed(
            update(QuestionRow)
            .where(
                QuestionRow.id == question_id,
                QuestionRow.status.in_([QuestionStatus(s).value for s in expected]),
            )
            .values(status=QuestionStatus.WITHDRAWN.value, text="", asker_id=None, route=None)
        )
        if withdrawn != 1:
            return False
        await self.session.execute(delete(QaPostRow).where(QaPostRow.question_id == question_id))
        about = DeliveryRow.key.startswith(f"question:{question_id}:", autoescape=True)
        # The post keeps its platform reference (it is replaced in place), not its words; the messages to
        # its asker go altogether (their person, or anonymous route, would still say who asked it).
        await self.session.execute(delete(DeliveryRow).where(about, DeliveryRow.channel.is_(None)))
        await self.session.execute(
            update(DeliveryRow)
            .where(about)
            .values(message=message_to_data(Message(t("(withdrawn by whoever asked it)"))))
        )
        return True

    async def upvoters(self, question_id: int) -> list[int]:
        """Who upvoted the question."""
        found = await self.session.scalars(
            select(UpvoteRow.person_id)
            .where(UpvoteRow.question_id == question_id)
            .order_by(UpvoteRow.person_id)
        )
        return list(found)

    async def add_upvote(self, question_id: int, person_id: int) -> bool:
        """False if this person already upvoted this question."""
        added = await self.session.scalar(
            self.insert(UpvoteRow)
            .values(question_id=question_id, person_id=person_id)
            .on_conflict_do_nothing()
            .returning(UpvoteRow.question_id)
        )
        if added is None:
            return False
        await self.session.execute(
            update(QuestionRow).where(QuestionRow.id == question_id).values(votes=QuestionRow.votes + 1)
        )
        return True

    async def add_post(self, post: QaPost) -> None:
        """Add an answer or follow-up to the question's thread."""
        self.session.add(
            QaPostRow(
                question_id=post.question_id,
                kind=post.kind,
                text=post.text,
                at=post.at,
                author_id=post.author_id,
                by_asker=post.by_asker,
            )
        )
        await self.session.flush()

    async def posts(self, question_id: int) -> list[QaPost]:
        """Answers and follow-ups in the order written (see :meth:`SqlIdeas.comments`)."""
        rows = await self.session.scalars(
            select(QaPostRow).where(QaPostRow.question_id == question_id).order_by(QaPostRow.id)
        )
        return [
            QaPost(
                question_id=r.question_id,
                kind=r.kind,
                text=r.text,
                at=r.at,
                author_id=r.author_id,
                by_asker=r.by_asker,
            )
            for r in rows
        ]

    async def put_to(self, person_id: int) -> list[Question]:
        """Questions put to this person that nobody has answered yet (open, or held), oldest first."""
        rows = await self.session.scalars(
            select(QuestionRow)
            .where(
                QuestionRow.addressed_to_id == person_id,
                QuestionRow.status.in_([QuestionStatus.OPEN.value, QuestionStatus.HELD.value]),
            )
            .order_by(QuestionRow.created_at, QuestionRow.id)
            .execution_options(populate_existing=True)
        )
        return [_question(row) for row in rows]

    async def overdue(self, before: datetime) -> list[Question]:
        """Open (unanswered), unflagged questions asked at or before ``before``, oldest first."""
        return await self._unflagged(_WAITING, before)

    async def held_waiting(self, before: datetime) -> list[Question]:
        """Questions held for moderation since ``before`` or earlier that moderators were not reminded of."""
        return await self._unflagged(_HELD, before)

    async def _unflagged(self, waiting: tuple[ColumnElement[bool], ...], before: datetime) -> list[Question]:
        rows = await self.session.scalars(
            select(QuestionRow)
            .where(*waiting, QuestionRow.created_at <= before)
            .order_by(QuestionRow.created_at, QuestionRow.id)
            .execution_options(populate_existing=True)
        )
        return [_question(row) for row in rows]

    async def next_held(self, after_created: datetime) -> datetime | None:
        """The earliest created_at after ``after_created`` among held questions not yet reminded of."""
        return await self.session.scalar(
            select(func.min(QuestionRow.created_at)).where(*_HELD, QuestionRow.created_at > after_created)
        )

    async def mark_flagged(self, question_id: int) -> bool:
        """False if it was already flagged."""
        changed = await self.changed(
            update(QuestionRow)
            .where(QuestionRow.id == question_id, QuestionRow.flagged.is_(False))
            .values(flagged=True)
        )
        return changed == 1

    async def next_overdue(self, after_created: datetime) -> datetime | None:
        """The earliest created_at after ``after_created`` among open, unflagged questions."""
        return await self.session.scalar(
            select(func.min(QuestionRow.created_at)).where(*_WAITING, QuestionRow.created_at > after_created)
        )

    async def add_moderation(self, entry: ModerationEntry) -> None:
        """Record a moderation decision."""
        self.session.add(
            ModerationRow(
                question_id=entry.question_id,
                admin_id=entry.admin_id,
                decision=entry.decision,
                reason=entry.reason,
                at=entry.at,
            )
        )
        await self.session.flush()

    async def moderation_log(self, limit: int = 50) -> list[ModerationEntry]:
        """Newest first."""
        return await self._moderation(limit)

    async def last_moderation(self, question_id: int) -> ModerationEntry | None:
        """The question's latest moderation decision, if any."""
        found = await self._moderation(1, ModerationRow.question_id == question_id)
        return found[0] if found else None

    async def _moderation(self, limit: int, *where: ColumnElement[bool]) -> list[ModerationEntry]:
        rows = await self.session.scalars(
            select(ModerationRow)
            .where(*where)
            .order_by(ModerationRow.at.desc(), ModerationRow.id.desc())
            .limit(limit)
        )
        return [
            ModerationEntry(
                question_id=r.question_id, admin_id=r.admin_id, decision=r.decision, reason=r.reason, at=r.at
            )
            for r in rows
        ]
