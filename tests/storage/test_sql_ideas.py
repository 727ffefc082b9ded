"""The idea repository on both engines."""

from __future__ import annotations

from dialogue.directory import Audience
from dialogue.ideas import Adoption, Comment, IdeaEvent, IdeaStatus
from storage import SqlStore
from tests.storage.helpers import at, person


async def test_campaigns_upsert_by_name(store: SqlStore) -> None:
    async with store.transaction() as tx:
        first = await tx.ideas.add_campaign(
            name="Waste", priority="Money", prompt="Ideas?", audience=Audience()
        )
        team = await tx.directory.upsert_team(name="Red", parent_id=None)
        other = await tx.ideas.add_campaign(
            name="Kindness", priority="People", prompt="?", audience=Audience()
        )
    async with store.transaction() as tx:
        again = await tx.ideas.add_campaign(
            name="waste", priority="Budget", prompt="Any ideas?", audience=Audience((team.id,))
        )
        assert again.id == first.id
        assert (again.name, again.priority, again.prompt) == ("Waste", "Budget", "Any ideas?")
        assert again.audience == Audience((team.id,))
        assert await tx.ideas.get_campaign(first.id) == again
        assert await tx.ideas.campaign_by_name("WASTE") == again
        assert await tx.ideas.campaign_by_name("nothing") is None
        assert await tx.ideas.campaigns() == [again, other]


async def test_ideas_filters_and_order_most_votes_then_newest(store: SqlStore) -> None:
    async with store.transaction() as tx:
        amira = await person(tx, "amira")
        ben = await person(tx, "ben")
        old = await tx.ideas.add_idea(
            text="old", at=at(0), author_id=amira.id, route=None, team_id=None, campaign_id=None
        )
        new = await tx.ideas.add_idea(
            text="new", at=at(5), author_id=ben.id, route=None, team_id=None, campaign_id=None
        )
        loved = await tx.ideas.add_idea(
            text="loved", at=at(1), author_id=amira.id, route=None, team_id=None, campaign_id=None
        )
        assert (loved.status, loved.votes, loved.owner_id) == (IdeaStatus.NEW, 0, None)
        assert loved.created_at == at(1)
        assert await tx.ideas.add_vote(loved.id, ben.id)
        assert not await tx.ideas.add_vote(loved.id, ben.id)
        assert await tx.ideas.add_vote(loved.id, amira.id)
    async with store.transaction() as tx:
        assert [i.text for i in await tx.ideas.ideas()] == ["loved", "new", "old"]
        assert [i.text for i in await tx.ideas.ideas(limit=2)] == ["loved", "new"]
        assert [i.text for i in await tx.ideas.ideas(author_id=amira.id)] == ["loved", "old"]
        assert (await tx.ideas.ideas())[0].votes == 2
        assert await tx.ideas.voters(loved.id) == sorted([amira.id, ben.id])
        await tx.ideas.set_owner(old.id, ben.id)
        assert [i.id for i in await tx.ideas.ideas(owner_id=ben.id)] == [old.id]
        assert await tx.ideas.set_status(new.id, IdeaStatus.NEW, IdeaStatus.UNDER_REVIEW)
        assert not await tx.ideas.set_status(new.id, IdeaStatus.NEW, IdeaStatus.DECLINED)
        assert [i.id for i in await tx.ideas.ideas(statuses=[IdeaStatus.UNDER_REVIEW])] == [new.id]
        assert await tx.ideas.ideas(statuses=[]) == []
        got = await tx.ideas.get_idea(new.id)
        assert got is not None
        assert got.status is IdeaStatus.UNDER_REVIEW
        assert await tx.ideas.get_idea(new.id + 100) is None


async def test_anonymous_idea_keeps_only_its_route(store: SqlStore) -> None:
    async with store.transaction() as tx:
        idea = await tx.ideas.add_idea(
            text="shh", at=at(0), author_id=None, route=None, team_id=None, campaign_id=None
        )
        await tx.ideas.set_route(idea.id, f"idea:{idea.id}#abc")
    async with store.transaction() as tx:
        stored = await tx.ideas.get_idea(idea.id)
        assert stored is not None
        assert stored.anonymous
        assert stored.route == f"idea:{idea.id}#abc"


async def test_history_comments_and_adoptions(store: SqlStore) -> None:
    async with store.transaction() as tx:
        amira = await person(tx, "amira")
        red = await tx.directory.upsert_team(name="Red", parent_id=None)
        blue = await tx.directory.upsert_team(name="Blue", parent_id=None)
        idea = await tx.ideas.add_idea(
            text="x", at=at(0), author_id=amira.id, route=None, team_id=red.id, campaign_id=None
        )
        submitted = IdeaEvent(idea_id=idea.id, at=at(0), by_id=None, kind="submitted")
        moved = IdeaEvent(
            idea_id=idea.id,
            at=at(2),
            by_id=amira.id,
            kind="status",
            from_status=IdeaStatus.NEW,
            to_status=IdeaStatus.UNDER_REVIEW,
            reason="promising",
        )
        await tx.ideas.add_event(moved)
        await tx.ideas.add_event(submitted)
        earlier = Comment(idea_id=idea.id, author_id=amira.id, text="first", at=at(1))
        # An anonymous author's comment keeps only the hour, so its time may read earlier than the one
        # before it: comments are listed as written.
        later = Comment(idea_id=idea.id, author_id=None, text="second", at=at(0), by_author=True)
        await tx.ideas.add_comment(earlier)
        await tx.ideas.add_comment(later)
        adoption = Adoption(idea_id=idea.id, team_id=blue.id, by_id=amira.id, note="we too", at=at(4))
        assert await tx.ideas.add_adoption(adoption)
        assert not await tx.ideas.add_adoption(Adoption(idea.id, blue.id, amira.id, "again", at(5)))
    async with store.transaction() as tx:
        assert await tx.ideas.history(idea.id) == [submitted, moved]
        assert await tx.ideas.comments(idea.id) == [earlier, later]
        assert await tx.ideas.adoptions(idea.id) == [adoption]
