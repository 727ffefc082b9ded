"""The question repository on both engines."""

from __future__ import annotations

from dialogue.qa import ModerationEntry, QaPost, QuestionStatus
from storage import SqlStore
from tests.storage.helpers import at, person

OPEN = QuestionStatus.OPEN


async def test_questions_order_most_votes_then_newest_and_upvotes_once(store: SqlStore) -> None:
    async with store.transaction() as tx:
        amira = await person(tx, "amira")
        ben = await person(tx, "ben")
        first = await tx.questions.add_question(
            text="first", at=at(0), asker_id=amira.id, route=None, addressed_to_id=None, status=OPEN
        )
        second = await tx.questions.add_question(
            text="second", at=at(1), asker_id=None, route="question:2#x", addressed_to_id=ben.id, status=OPEN
        )
        third = await tx.questions.add_question(
            text="third", at=at(2), asker_id=amira.id, route=None, addressed_to_id=None, status=OPEN
        )
        held = await tx.questions.add_question(
            text="held", at=at(3), asker_id=None, route=None, addressed_to_id=None, status=QuestionStatus.HELD
        )
        assert await tx.questions.add_upvote(third.id, ben.id)
        assert not await tx.questions.add_upvote(third.id, ben.id)
    async with store.transaction() as tx:
        listed = await tx.questions.questions(statuses=[OPEN])
        assert [q.text for q in listed] == ["third", "second", "first"]  # the newest are not the ones cut
        assert listed[0].votes == 1
        assert [q.text for q in await tx.questions.questions(statuses=[OPEN], limit=1)] == ["third"]
        assert [q.text for q in await tx.questions.questions(statuses=[OPEN], limit=1, offset=2)] == ["first"]
        assert await tx.questions.count(statuses=[OPEN]) == 3
        assert await tx.questions.upvoters(third.id) == [ben.id]
        assert await tx.questions.upvoters(first.id) == []
        assert [q.id for q in await tx.questions.questions(statuses=[QuestionStatus.HELD])] == [held.id]
        anonymous = await tx.questions.get_question(second.id)
        assert anonymous is not None
        assert anonymous.anonymous
        assert (anonymous.route, anonymous.addressed_to_id) == ("question:2#x", ben.id)
        await tx.questions.set_route(held.id, "question:4#y")
        stored = await tx.questions.get_question(held.id)
        assert stored is not None
        assert stored.route == "question:4#y"
        assert await tx.questions.get_question(first.id + 100) is None


async def test_set_status_only_from_expected(store: SqlStore) -> None:
    async with store.transaction() as tx:
        q = await tx.questions.add_question(
            text="?", at=at(0), asker_id=None, route=None, addressed_to_id=None, status=QuestionStatus.HELD
        )
        assert await tx.questions.set_status(q.id, [QuestionStatus.HELD], OPEN, posted_at=at(5))
        assert not await tx.questions.set_status(q.id, [QuestionStatus.HELD], QuestionStatus.REJECTED)
        posted = await tx.questions.get_question(q.id)
        assert posted is not None and posted.created_at == at(5)  # dated from its posting
        assert await tx.questions.set_status(q.id, [QuestionStatus.HELD, OPEN], QuestionStatus.ANSWERED)
        stored = await tx.questions.get_question(q.id)
        assert stored is not None
        assert stored.status is QuestionStatus.ANSWERED


async def test_overdue_flagging_and_next_overdue(store: SqlStore) -> None:
    async with store.transaction() as tx:
        a = await tx.questions.add_question(
            text="a", at=at(0), asker_id=None, route=None, addressed_to_id=None, status=OPEN
        )
        b = await tx.questions.add_question(
            text="b", at=at(10), asker_id=None, route=None, addressed_to_id=None, status=OPEN
        )
        answered = await tx.questions.add_question(
            text="c",
            at=at(1),
            asker_id=None,
            route=None,
            addressed_to_id=None,
            status=QuestionStatus.ANSWERED,
        )
    async with store.transaction() as tx:
        assert [q.id for q in await tx.questions.overdue(at(10))] == [a.id, b.id]
        assert [q.id for q in await tx.questions.overdue(at(5))] == [a.id]
        assert await tx.questions.next_overdue(at(0)) == at(10)
        assert await tx.questions.next_overdue(at(-1)) == at(0)
        assert await tx.questions.mark_flagged(a.id)
        assert not await tx.questions.mark_flagged(a.id)
        assert [q.id for q in await tx.questions.overdue(at(10))] == [b.id]
        assert await tx.questions.next_overdue(at(10)) is None
        flagged = await tx.questions.get_question(a.id)
        assert flagged is not None
        assert flagged.flagged
        assert answered.id not in {q.id for q in await tx.questions.overdue(at(100))}


async def test_posts_and_moderation_log(store: SqlStore) -> None:
    async with store.transaction() as tx:
        admin = await person(tx, "admin")
        q = await tx.questions.add_question(
            text="?", at=at(0), asker_id=None, route=None, addressed_to_id=None, status=OPEN
        )
        answer = QaPost(question_id=q.id, kind="answer", text="yes", at=at(1), author_id=admin.id)
        # The anonymous asker's follow-up keeps only the hour (earlier than the answer it follows): posts
        # are listed as written.
        followup = QaPost(
            question_id=q.id, kind="followup", text="more?", at=at(0), author_id=None, by_asker=True
        )
        await tx.questions.add_post(answer)
        await tx.questions.add_post(followup)
        old = ModerationEntry(question_id=q.id, admin_id=admin.id, decision="approved", reason="", at=at(1))
        new = ModerationEntry(
            question_id=q.id, admin_id=admin.id, decision="rejected", reason="rude", at=at(2)
        )
        await tx.questions.add_moderation(old)
        await tx.questions.add_moderation(new)
    async with store.transaction() as tx:
        assert await tx.questions.posts(q.id) == [answer, followup]
        assert await tx.questions.moderation_log() == [new, old]
        assert await tx.questions.moderation_log(limit=1) == [new]
