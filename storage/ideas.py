"""Campaigns, ideas, their history, votes, comments and adoptions."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, select, update

from dialogue.directory import Audience
from dialogue.ideas import Adoption, Campaign, Comment, Idea, IdeaEvent, IdeaStatus
from storage.directory import name_key
from storage.models import (
    AdoptionRow,
    CampaignRow,
    CommentRow,
    DeliveryRow,
    IdeaEventRow,
    IdeaRow,
    IdeaVoteRow,
)
from storage.sql import Repo


def _campaign(row: CampaignRow) -> Campaign:
    return Campaign(
        id=row.id,
        name=row.name,
        priority=row.priority,
        prompt=row.prompt,
        audience=Audience(tuple(row.audience)),
        active=row.active,
    )


def _idea(row: IdeaRow) -> Idea:
    return Idea(
        id=row.id,
        text=row.text,
        status=IdeaStatus(row.status),
        created_at=row.created_at,
        author_id=row.author_id,
        route=row.route,
        team_id=row.team_id,
        campaign_id=row.campaign_id,
        owner_id=row.owner_id,
        votes=row.votes,
    )


def _status(value: str | None) -> IdeaStatus | None:
    return IdeaStatus(value) if value is not None else None


class SqlIdeas(Repo):
    """Implements :class:`dialogue.ports.IdeaRepo`."""

    async def add_campaign(self, *, name: str, priority: str, prompt: str, audience: Audience) -> Campaign:
        """Create a campaign, or update the one with this name (case-insensitive)."""
        insert = self.insert(CampaignRow)
        row = await self.session.scalar(
            insert.values(
                name=name.strip(),
                name_key=name_key(name),
                priority=priority,
                prompt=prompt,
                audience=list(audience.team_ids),
                active=True,
            )
            .on_conflict_do_update(
                index_elements=[CampaignRow.name_key],
                set_={
                    "priority": insert.excluded.priority,
                    "prompt": insert.excluded.prompt,
                    "audience": insert.excluded.audience,
                },
            )
            .returning(CampaignRow)
            .execution_options(populate_existing=True)
        )
        assert row is not None
        return _campaign(row)

    async def get_campaign(self, campaign_id: int) -> Campaign | None:
        """The campaign with this id."""
        row = await self.session.get(CampaignRow, campaign_id, populate_existing=True)
        return _campaign(row) if row else None

    async def campaign_by_name(self, name: str) -> Campaign | None:
        """Case-insensitive lookup by name."""
        row = await self.session.scalar(
            select(CampaignRow)
            .where(CampaignRow.name_key == name_key(name))
            .execution_options(populate_existing=True)
        )
        return _campaign(row) if row else None

    async def campaigns(self) -> list[Campaign]:
        """Every campaign, ordered by id."""
        rows = await self.session.scalars(
            select(CampaignRow).order_by(CampaignRow.id).execution_options(populate_existing=True)
        )
        return [_campaign(row) for row in rows]

    async def ideas_per_campaign(self) -> dict[int, int]:
        """How many ideas each campaign has brought in (campaigns with none left out)."""
        rows = await self.session.execute(
            select(IdeaRow.campaign_id, func.count())
            .where(IdeaRow.campaign_id.is_not(None), _listed())
            .group_by(IdeaRow.campaign_id)
        )
        return {campaign_id: count for campaign_id, count in rows if campaign_id is not None}

    async def add_idea(
        self,
        *,
        text: str,
        at: datetime,
        author_id: int | None,
        route: str | None,
        team_id: int | None,
        campaign_id: int | None,
    ) -> Idea:
        """Store a new idea with status NEW and no votes."""
        row = IdeaRow(
            text=text,
            status=IdeaStatus.NEW.value,
            created_at=at,
            author_id=author_id,
            route=route,
            team_id=team_id,
            campaign_id=campaign_id,
            votes=0,
        )
        self.session.add(row)
        await self.session.flush()
        return _idea(row)

    async def set_route(self, idea_id: int, route: str) -> None:
        """Set the pseudonymous reply route of an anonymous idea (it depends on the id)."""
        await self.session.execute(update(IdeaRow).where(IdeaRow.id == idea_id).values(route=route))

    async def get_idea(self, idea_id: int) -> Idea | None:
        """The idea with this id."""
        row = await self.session.get(IdeaRow, idea_id, populate_existing=True)
        return _idea(row) if row else None

    async def ideas(
        self,
        *,
        statuses: Collection[IdeaStatus] | None = None,
        author_id: int | None = None,
        owner_id: int | None = None,
        campaign_id: int | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> list[Idea]:
        """Ideas matching every given filter (withdrawn ones only if asked for), most votes first, then newest
        first."""
        query = select(IdeaRow).where(_status_in(statuses) if statuses is not None else _listed())
        if author_id is not None:
            query = query.where(IdeaRow.author_id == author_id)
        if owner_id is not None:
            query = query.where(IdeaRow.owner_id == owner_id)
        if campaign_id is not None:
            query = query.where(IdeaRow.campaign_id == campaign_id)
        rows = await self.session.scalars(
            query.order_by(IdeaRow.votes.desc(), IdeaRow.created_at.desc(), IdeaRow.id.desc())
            .limit(limit)
            .offset(offset)
            .execution_options(populate_existing=True)
        )
        return [_idea(row) for row in rows]

    async def count_ideas(self, *, statuses: Collection[IdeaStatus] | None = None) -> int:
        """How many ideas have one of these statuses (any but withdrawn, if None)."""
        where = _status_in(statuses) if statuses is not None else _listed()
        return int(await self.session.scalar(select(func.count()).select_from(IdeaRow).where(where)) or 0)

    async def set_status(self, idea_id: int, expected: IdeaStatus, status: IdeaStatus) -> bool:
        """Move the idea from ``expected`` to ``status``; False if it was no longer ``expected``."""
        changed = await self.changed(
            update(IdeaRow)
            .where(IdeaRow.id == idea_id, IdeaRow.status == IdeaStatus(expected).value)
            .values(status=IdeaStatus(status).value)
        )
        return changed == 1

    async def withdraw(self, idea_id: int) -> bool:
        """See :meth:`dialogue.ports.IdeaRepo.withdraw`."""
        withdrawn = await self.changed(
            update(IdeaRow)
            .where(IdeaRow.id == idea_id, IdeaRow.status == IdeaStatus.NEW.value)
            .values(status=IdeaStatus.WITHDRAWN.value, text="", author_id=None, route=None)
        )
        if withdrawn != 1:
            return False
        await self.session.execute(delete(CommentRow).where(CommentRow.idea_id == idea_id))
        await self.session.execute(delete(IdeaEventRow).where(IdeaEventRow.idea_id == idea_id))
        await self.session.execute(delete(IdeaVoteRow).where(IdeaVoteRow.idea_id == idea_id))
        # The messages about it go too, not only their words: a comment's notice went to its author alone,
        # so its row (a person, or an anonymous author's route) would still say who shared it.
        await self.session.execute(
            delete(DeliveryRow).where(DeliveryRow.key.startswith(f"idea:{idea_id}:", autoescape=True))
        )
        return True

    async def set_owner(self, idea_id: int, owner_id: int) -> None:
        """Make ``owner_id`` responsible for the idea."""
        await self.session.execute(update(IdeaRow).where(IdeaRow.id == idea_id).values(owner_id=owner_id))

    async def add_event(self, event: IdeaEvent) -> None:
        """Append an entry to the idea's history."""
        self.session.add(
            IdeaEventRow(
                idea_id=event.idea_id,
                at=event.at,
                by_id=event.by_id,
                kind=event.kind,
                from_status=event.from_status.value if event.from_status else None,
                to_status=event.to_status.value if event.to_status else None,
                reason=event.reason,
            )
        )
        await self.session.flush()

    async def history(self, idea_id: int) -> list[IdeaEvent]:
        """The idea's events, oldest first."""
        rows = await self.session.scalars(
            select(IdeaEventRow)
            .where(IdeaEventRow.idea_id == idea_id)
            .order_by(IdeaEventRow.at, IdeaEventRow.id)
        )
        return [
            IdeaEvent(
                idea_id=row.idea_id,
                at=row.at,
                by_id=row.by_id,
                kind=row.kind,
                from_status=_status(row.from_status),
                to_status=_status(row.to_status),
                reason=row.reason,
            )
            for row in rows
        ]

    async def add_vote(self, idea_id: int, person_id: int) -> bool:
        """Record a vote; False if this person already voted for this idea."""
        added = await self.session.scalar(
            self.insert(IdeaVoteRow)
            .values(idea_id=idea_id, person_id=person_id)
            .on_conflict_do_nothing()
            .returning(IdeaVoteRow.idea_id)
        )
        if added is None:
            return False
        # The counter moves with the vote in this transaction, so ordering by votes needs no COUNT.
        await self.session.execute(
            update(IdeaRow).where(IdeaRow.id == idea_id).values(votes=IdeaRow.votes + 1)
        )
        return True

    async def voters(self, idea_id: int) -> list[int]:
        """Who voted for the idea."""
        found = await self.session.scalars(
            select(IdeaVoteRow.person_id)
            .where(IdeaVoteRow.idea_id == idea_id)
            .order_by(IdeaVoteRow.person_id)
        )
        return list(found)

    async def add_comment(self, comment: Comment) -> None:
        """Add a comment to an idea."""
        self.session.add(
            CommentRow(
                idea_id=comment.idea_id,
                author_id=comment.author_id,
                text=comment.text,
                at=comment.at,
                by_author=comment.by_author,
            )
        )
        await self.session.flush()

    async def comments(self, idea_id: int) -> list[Comment]:
        """In the order written (an anonymous author's keep only the hour: their times may read earlier)."""
        rows = await self.session.scalars(
            select(CommentRow).where(CommentRow.idea_id == idea_id).order_by(CommentRow.id)
        )
        return [
            Comment(idea_id=r.idea_id, author_id=r.author_id, text=r.text, at=r.at, by_author=r.by_author)
            for r in rows
        ]

    async def add_adoption(self, adoption: Adoption) -> bool:
        """Record an adoption; False if that team already adopted this idea."""
        added = await self.session.scalar(
            self.insert(AdoptionRow)
            .values(
                idea_id=adoption.idea_id,
                team_id=adoption.team_id,
                by_id=adoption.by_id,
                note=adoption.note,
                at=adoption.at,
            )
            .on_conflict_do_nothing()
            .returning(AdoptionRow.id)
        )
        return added is not None

    async def adoptions(self, idea_id: int) -> list[Adoption]:
        """The idea's adoptions, oldest first."""
        rows = await self.session.scalars(
            select(AdoptionRow).where(AdoptionRow.idea_id == idea_id).order_by(AdoptionRow.at, AdoptionRow.id)
        )
        return [
            Adoption(idea_id=r.idea_id, team_id=r.team_id, by_id=r.by_id, note=r.note, at=r.at) for r in rows
        ]


def _status_in(statuses: Collection[IdeaStatus]) -> ColumnElement[bool]:
    return IdeaRow.status.in_([IdeaStatus(s).value for s in statuses])


def _listed() -> ColumnElement[bool]:
    """Every idea but those withdrawn, whose words are gone: what "any status" lists and counts."""
    return IdeaRow.status != IdeaStatus.WITHDRAWN.value
