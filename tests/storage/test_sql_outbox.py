"""The outbox on both engines: idempotent enqueue, claims and leases, outcomes and lookups."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from dialogue.messages import Choices, Message, Option
from dialogue.outbox import DeliveryStatus, NewDelivery, Sent
from dialogue.surveys import OccurrenceKind
from dialogue.text import t
from storage import SqlStore
from tests.storage.helpers import at, person

LEASE = 60.0


def _message(text: str = "hello", *, anchor: str | None = None, thread: str | None = None) -> Message:
    return Message(t(text), anchor=anchor, thread=thread)


async def test_enqueue_skips_existing_keys_and_defaults_not_before_to_now(store: SqlStore) -> None:
    rich = Message(
        t("Rate it"),
        choices=(Choices(action="answer", ref="1:2", options=(Option("Good", "5"), Option("Bad", "1"))),),
        anchor="question:1",
        context="closes Friday",
    )
    async with store.transaction() as tx:
        amira = await person(tx, "amira")
        added = await tx.outbox.enqueue(
            [
                NewDelivery(key="a", message=rich, person_id=amira.id, group="occurrence:1"),
                NewDelivery(key="b", message=_message(), channel="qa", platform="slack", not_before=at(5)),
                NewDelivery(key="a", message=_message("duplicate in the batch"), person_id=amira.id),
            ],
            now=at(0),
        )
        assert added == 2
        assert await tx.outbox.enqueue([], now=at(0)) == 0
    async with store.transaction() as tx:
        again = [
            NewDelivery(key="b", message=_message("again"), channel="qa", platform="slack"),
            NewDelivery(key="c", message=_message(), route="idea:1#x", replaces="a"),
        ]
        assert await tx.outbox.enqueue(again, now=at(1)) == 1
        assert await tx.outbox.counts() == {"pending": 3}
        claimed = await tx.outbox.claim(worker="w", now=at(10), limit=10, lease_seconds=LEASE)
    a, b, c = claimed
    assert (a.key, a.message, a.person_id, a.group, a.not_before) == (
        "a",
        rich,
        amira.id,
        "occurrence:1",
        at(0),
    )
    assert (b.key, b.channel, b.platform, b.not_before, b.message) == ("b", "qa", "slack", at(5), _message())
    assert (c.key, c.route, c.replaces, c.person_id, c.not_before) == ("c", "idea:1#x", "a", None, at(1))
    assert all(d.status is DeliveryStatus.SENDING and d.attempts == 0 for d in claimed)


async def test_claim_takes_due_rows_oldest_first_and_leases_them(store: SqlStore) -> None:
    async with store.transaction() as tx:
        await tx.outbox.enqueue(
            [NewDelivery(key=f"k{i}", message=_message(), channel="qa", platform="x") for i in range(5)]
            + [NewDelivery(key="later", message=_message(), channel="qa", platform="x", not_before=at(30))],
            now=at(0),
        )
    async with store.transaction() as tx:
        first = await tx.outbox.claim(worker="w1", now=at(1), limit=3, lease_seconds=LEASE)
        assert [d.key for d in first] == ["k0", "k1", "k2"]
    async with store.transaction() as tx:
        second = await tx.outbox.claim(worker="w2", now=at(1), limit=10, lease_seconds=LEASE)
        assert [d.key for d in second] == ["k3", "k4"]  # leased rows and future rows wait
        assert await tx.outbox.claim(worker="w2", now=at(1.5), limit=10, lease_seconds=LEASE) == []
        assert await tx.outbox.counts() == {"pending": 1, "sending": 5}
    async with store.transaction() as tx:
        # w1 died: once its lease has run out its rows are claimed again, with the later row now due.
        reclaimed = await tx.outbox.claim(worker="w3", now=at(30), limit=10, lease_seconds=LEASE)
        assert [d.key for d in reclaimed] == ["k0", "k1", "k2", "k3", "k4", "later"]


async def test_outcomes_sent_retry_and_failed(store: SqlStore) -> None:
    async with store.transaction() as tx:
        await tx.outbox.enqueue(
            [
                NewDelivery(key=k, message=_message(), channel="qa", platform="slack")
                for k in ("ok", "again", "bad")
            ],
            now=at(0),
        )
        ok, again, bad = await tx.outbox.claim(worker="w", now=at(0), limit=10, lease_seconds=LEASE)
        await tx.outbox.mark_sent([Sent(ok.id, "slack", "ts-1", at(1))])
        await tx.outbox.mark_retry(again.id, error="429", not_before=at(5))
        await tx.outbox.mark_failed(bad.id, error="channel gone")
    async with store.transaction() as tx:
        assert await tx.outbox.counts() == {"sent": 1, "pending": 1, "failed": 1}
        assert await tx.outbox.sent_ref("ok") == ("slack", "ts-1")
        assert await tx.outbox.sent_ref("again") is None
        assert await tx.outbox.sent_ref("missing") is None
        assert await tx.outbox.next_due(at(0)) == at(5)
        assert await tx.outbox.next_due(at(5)) is None
        assert await tx.outbox.claim(worker="w", now=at(4), limit=10, lease_seconds=LEASE) == []
        [retried] = await tx.outbox.claim(worker="w", now=at(5), limit=10, lease_seconds=LEASE)
        assert (retried.key, retried.attempts, retried.last_error) == ("again", 1, "429")
        assert retried.not_before == at(5)
        # Sent and failed rows are never claimed again, even long after.
        assert await tx.outbox.claim(worker="w", now=at(1000), limit=10, lease_seconds=LEASE) == [retried]


async def test_anchor_ref_finds_the_sent_thread_root_on_that_platform(store: SqlStore) -> None:
    async with store.transaction() as tx:
        await tx.outbox.enqueue(
            [
                NewDelivery(
                    key="root-slack", message=_message(anchor="question:7"), channel="qa", platform="slack"
                ),
                NewDelivery(
                    key="root-teams", message=_message(anchor="question:7"), channel="qa", platform="teams"
                ),
                NewDelivery(key="edit", message=_message(anchor="question:7"), replaces="root-slack"),
                NewDelivery(
                    key="reply", message=_message(thread="question:7"), channel="qa", platform="slack"
                ),
            ],
            now=at(0),
        )
        assert await tx.outbox.anchor_ref("question:7", "slack") is None  # not sent yet
        deliveries = {
            d.key: d for d in await tx.outbox.claim(worker="w", now=at(0), limit=10, lease_seconds=LEASE)
        }
        # One call for several, as the delivery worker records a group of sends.
        await tx.outbox.mark_sent(
            [
                Sent(deliveries["root-slack"].id, "slack", "ts-1", at(1)),
                Sent(deliveries["edit"].id, "slack", "ts-1", at(2)),
                Sent(deliveries["reply"].id, "slack", "ts-2", at(3)),
            ]
        )
    async with store.transaction() as tx:
        assert await tx.outbox.anchor_ref("question:7", "slack") == "ts-1"
        assert await tx.outbox.anchor_ref("question:7", "teams") is None
        assert await tx.outbox.anchor_ref("question:8", "slack") is None
        # And back: a reply in the platform thread "ts-1" belongs to question 7; "ts-2" starts nothing.
        assert await tx.outbox.thread_of("slack", "ts-1") == "question:7"
        assert await tx.outbox.thread_of("slack", "ts-2") is None
        assert await tx.outbox.thread_of("teams", "ts-1") is None


async def test_keys_in_group(store: SqlStore) -> None:
    async with store.transaction() as tx:
        await tx.outbox.enqueue(
            [
                NewDelivery(key="x2", message=_message(), channel="c", platform="p", group="occurrence:1"),
                NewDelivery(key="x1", message=_message(), channel="c", platform="p", group="occurrence:1"),
                NewDelivery(key="y", message=_message(), channel="c", platform="p", group="occurrence:2"),
                NewDelivery(key="z", message=_message(), channel="c", platform="p"),
            ],
            now=at(0),
        )
        assert await tx.outbox.keys_in_group("occurrence:1") == ["x2", "x1"]
        assert await tx.outbox.keys_in_group("occurrence:3") == []


# SQLite has a single writer (BEGIN IMMEDIATE), so racing claimers are a PostgreSQL matter.
@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_concurrent_claimers_never_share_a_row(database_url: str, store: SqlStore) -> None:
    async with store.transaction() as tx:
        rows = [NewDelivery(key=f"k{i}", message=_message(), channel="c", platform="p") for i in range(200)]
        assert await tx.outbox.enqueue(rows, now=at(0)) == 200
    stores = [SqlStore(database_url), SqlStore(database_url)]
    # Each claimer's first batch is held until all four hold one: their claims overlap for certain (on a
    # busy machine, two drained everything before the other two had started).
    together = asyncio.Barrier(4)

    async def drain(worker: str, other_store: SqlStore) -> list[int]:
        claimed: list[int] = []
        while True:
            async with other_store.transaction() as tx:
                batch = await tx.outbox.claim(worker=worker, now=at(1), limit=7, lease_seconds=LEASE)
                if not claimed:
                    await asyncio.wait_for(together.wait(), timeout=30)
                await asyncio.sleep(0)  # hold the row locks while the other claimers run
            if not batch:
                return claimed
            claimed.extend(d.id for d in batch)

    try:
        results = await asyncio.gather(*(drain(f"w{n}", s) for n in range(2) for s in stores))
    finally:
        for other_store in stores:
            await other_store.close()
    every = [i for ids in results for i in ids]
    assert len(every) == 200
    assert len(set(every)) == 200
    assert all(results)  # every claimer got some work


async def test_still_to_pick_gives_the_latest_versions_that_still_have_buttons(store: SqlStore) -> None:
    ask = Choices("pulse.answer", "1:1", (Option("1", "1"), Option("2", "2")))
    async with store.transaction() as tx:
        amira = await person(tx, "amira")
        await tx.outbox.enqueue(
            [
                NewDelivery(key="q1", person_id=amira.id, message=Message(t("Q1"), choices=(ask,))),
                NewDelivery(key="q2", person_id=amira.id, message=Message(t("Q2"), choices=(ask,))),
                NewDelivery(key="note", person_id=amira.id, message=_message("no buttons")),
                NewDelivery(key="q2:closed", replaces="q2", message=_message("Q2 closed")),
                NewDelivery(key="q3", person_id=amira.id, message=Message(t("Q3"), choices=(ask,))),
            ],
            now=at(0),
        )
        sent = await tx.outbox.claim(worker="w", now=at(0), limit=10, lease_seconds=LEASE)
        await tx.outbox.mark_sent([Sent(d.id, "console", f"ref-{d.key}", at(1)) for d in sent])
    async with store.transaction(read_only=True) as tx:
        found = await tx.outbox.still_to_pick(amira.id, "console", limit=5)
        newest = await tx.outbox.still_to_pick(amira.id, "console", limit=1)
        elsewhere = await tx.outbox.still_to_pick(amira.id, "slack", limit=5)

    # Q2 closed (its update has no buttons) and the note never had any; oldest first.
    assert [(ref, m.text.plain()) for ref, m in found] == [("ref-q1", "Q1"), ("ref-q3", "Q3")]
    assert [ref for ref, _ in newest] == ["ref-q3"]
    assert elsewhere == []


async def test_sent_between_gives_new_messages_without_buttons_between_two_marks(store: SqlStore) -> None:
    ask = Choices("pulse.answer", "1:1", (Option("1", "1"), Option("2", "2")))
    async with store.transaction() as tx:
        amira = await person(tx, "amira")
        before = await tx.outbox.newest_id()
        await tx.outbox.enqueue(
            [
                NewDelivery(key="note1", person_id=amira.id, message=_message("first news")),
                NewDelivery(key="q", person_id=amira.id, message=Message(t("Q"), choices=(ask,))),
                NewDelivery(key="note1:closed", replaces="note1", message=_message("an update")),
                NewDelivery(key="note2", person_id=amira.id, message=_message("second news")),
            ],
            now=at(0),
        )
        sent = await tx.outbox.claim(worker="w", now=at(0), limit=10, lease_seconds=LEASE)
        await tx.outbox.mark_sent([Sent(d.id, "console", f"ref-{d.key}", at(1)) for d in sent])
        middle = await tx.outbox.newest_id()
        await tx.outbox.enqueue(
            [NewDelivery(key="later", person_id=amira.id, message=_message("later"))], now=at(2)
        )
    async with store.transaction(read_only=True) as tx:
        found = await tx.outbox.sent_between(amira.id, "console", after=before, until=middle, limit=5)
        newest = await tx.outbox.sent_between(amira.id, "console", after=None, until=middle, limit=1)
        none_after = await tx.outbox.sent_between(
            amira.id, "console", after=middle, until=middle + 10, limit=5
        )

    # No buttons, no updates, oldest first; "later" is not sent yet.
    assert [m.text.plain() for m in found] == ["first news", "second news"]
    assert [m.text.plain() for m in newest] == ["second news"]
    assert none_after == [] and before < middle


async def test_failed_rows_are_queued_again_except_old_ones_and_those_of_closed_runs(store: SqlStore) -> None:
    async with store.transaction() as tx:
        done = await tx.surveys.add_occurrence(
            key="run",
            kind=OccurrenceKind.PULSE,
            target_id=1,
            opens_at=at(0),
            closes_at=at(50),
            remind_at=None,
            schedule_id=None,
        )
        assert done is not None
        await tx.outbox.enqueue([NewDelivery(key="old", message=_message(), channel="qa")], now=at(0))
        rows = [
            NewDelivery(key="auth", message=_message(), channel="qa"),
            NewDelivery(key="gone", message=_message(), channel="qa"),
            NewDelivery(key="closed-run", message=_message(), channel="qa", group=f"occurrence:{done.id}"),
        ]
        await tx.outbox.enqueue(rows, now=at(100))
        for row in await tx.outbox.claim(worker="w", now=at(100), limit=10, lease_seconds=LEASE):
            await tx.outbox.mark_failed(
                row.id, error="channel_not_found" if row.key == "gone" else "invalid_auth"
            )
        await tx.surveys.close(done.id, at=at(60))

    async with store.transaction() as tx:
        assert await tx.outbox.requeue_failed(since=at(50), now=at(200), error="invalid_auth") == 1
        assert await tx.outbox.requeue_failed(since=at(50), now=at(200)) == 1  # "gone", any error
    async with store.transaction() as tx:
        again = await tx.outbox.claim(worker="w", now=at(200), limit=10, lease_seconds=LEASE)
        assert sorted(row.key for row in again) == ["auth", "gone"]
        assert all(row.attempts == 0 and row.last_error == "" for row in again)
        assert await tx.outbox.counts() == {"failed": 2, "sending": 2}  # the old one, the closed run's


async def test_prune_deletes_old_messages_but_thread_roots_open_runs_and_pending_ones(
    store: SqlStore,
) -> None:
    async with store.transaction() as tx:
        still_open = await tx.surveys.add_occurrence(
            key="open", kind=OccurrenceKind.PULSE, target_id=1, opens_at=at(0), closes_at=at(10_000),
            remind_at=None, schedule_id=None,
        )  # fmt: skip
        assert still_open is not None
        await tx.outbox.enqueue(
            [
                NewDelivery(key="old-note", message=_message("Your idea moved"), channel="qa"),
                NewDelivery(key="old-failed", message=_message("Amira wrote ..."), channel="qa"),
                NewDelivery(
                    key="thread-root", message=_message("Question #1", anchor="question:1"), channel="qa"
                ),
                NewDelivery(
                    key="open-run", message=_message("Q1"), channel="qa", group=f"occurrence:{still_open.id}"
                ),
                NewDelivery(key="old-pending", message=_message("later"), channel="qa", not_before=at(9_000)),
            ],
            now=at(0),
        )
        await tx.outbox.enqueue([NewDelivery(key="recent", message=_message(), channel="qa")], now=at(500))
        for row in await tx.outbox.claim(worker="w", now=at(500), limit=10, lease_seconds=LEASE):
            if row.key == "old-failed":
                await tx.outbox.mark_failed(row.id, error="channel_not_found")
            else:
                await tx.outbox.mark_sent([Sent(row.id, "slack", f"ref-{row.key}", at(500))])

    async with store.transaction() as tx:
        assert await tx.outbox.prune(before=at(100)) == 2

    async with store.engine.connect() as db:
        kept = (await db.execute(text("SELECT key FROM deliveries ORDER BY key"))).scalars().all()
    assert kept == ["old-pending", "open-run", "recent", "thread-root"]
