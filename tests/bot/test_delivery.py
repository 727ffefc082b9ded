"""The delivery worker against a real database and a recording sender (one fake per port)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from bot.clock import MovableClock, SystemClock
from bot.delivery import DeliveryWorker
from bot.metrics import Metrics
from bot.ratelimit import RateLimiter
from dialogue.anonymity import Pseudonymiser
from dialogue.directory import Role
from dialogue.events import Identity
from dialogue.messages import Message
from dialogue.outbox import Address, DeliveryStatus, NewDelivery, RetryLater, Undeliverable
from dialogue.text import t
from storage import SqlStore

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@dataclass
class RecordingSender:
    """A platform that records what it was asked to do, and fails on request."""

    platform: str = "chat"
    sent: list[tuple[str, str | None, str, str]] = field(default_factory=list)  # target, thread, text, ref
    updated: list[tuple[str, str]] = field(default_factory=list)
    failures: dict[str, list[Exception]] = field(default_factory=dict)  # target -> errors to raise in turn
    anonymous: list[str] = field(default_factory=list)  # targets told they were an anonymous author

    async def send(self, *, to: Address, message: Message) -> str:
        target = to.identity.user_id if to.identity else f"#{to.channel}"
        if to.anonymous:
            self.anonymous.append(target)
        if self.failures.get(target):
            raise self.failures[target].pop(0)
        ref = f"{self.platform}-{len(self.sent) + 1}"
        self.sent.append((target, to.thread_ref, message.fallback(), ref))
        return ref

    async def update(self, *, ref: str, message: Message) -> None:
        self.updated.append((ref, message.fallback()))

    def texts_to(self, target: str) -> list[str]:
        return [text for who, _, text, _ in self.sent if who == target]


@dataclass
class FakeWaits:
    """The rate limiter's time: sleeping moves it on at once, and is recorded."""

    now: float = 0.0
    slept: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@dataclass
class Rig:
    store: SqlStore
    clock: MovableClock
    sender: RecordingSender
    worker: DeliveryWorker
    anon: Pseudonymiser
    people: dict[str, int]
    waits: FakeWaits

    async def enqueue(self, *deliveries: NewDelivery) -> int:
        async with self.store.transaction() as tx:
            return await tx.outbox.enqueue(deliveries, now=self.clock.now())

    async def counts(self) -> dict[str, int]:
        async with self.store.transaction() as tx:
            return await tx.outbox.counts()


@pytest.fixture
async def rig(store: SqlStore) -> Rig:
    clock = MovableClock(START)
    anon = Pseudonymiser(b"delivery-test-secret-0123456789")
    people: dict[str, int] = {}
    async with store.transaction() as tx:
        for handle in ("amira", "ben", "chloe"):
            person = await tx.directory.upsert_person(
                handle=handle, display_name=handle.title(), time_zone="Europe/London", roles={Role.STAFF}
            )
            await tx.directory.add_identity(person.id, Identity("chat", "T1", handle))
            people[handle] = person.id
        # Chloe has only an account on a platform this bot is not connected to.
        await tx.directory.add_identity(people["chloe"], Identity("elsewhere", "X", "chloe"))
        await tx.directory.touch_identity(Identity("elsewhere", "X", "chloe"))
    sender = RecordingSender()
    waits = FakeWaits()
    worker = DeliveryWorker(
        store=store,
        senders={"chat": sender},
        pseudonymiser=anon,
        clock=clock,
        worker_id="test",
        max_attempts=3,
        limiters={"chat": RateLimiter(monotonic=waits.monotonic, sleep=waits.sleep)},
    )
    return Rig(store, clock, sender, worker, anon, people, waits)


def hello(key: str, person_id: int | None = None, **kwargs: object) -> NewDelivery:
    return NewDelivery(key=key, message=Message(t(f"hello {key}")), person_id=person_id, **kwargs)  # type: ignore[arg-type]


async def test_each_row_is_sent_once_and_its_platform_ref_recorded(rig: Rig) -> None:
    assert await rig.enqueue(hello("a", rig.people["amira"]), hello("b", rig.people["ben"])) == 2
    assert await rig.enqueue(hello("a", rig.people["amira"])) == 0  # the same key again is ignored

    assert await rig.worker.drain() == 2
    assert await rig.worker.drain() == 0

    assert [(who, text) for who, _, text, _ in rig.sender.sent] == [("amira", "hello a"), ("ben", "hello b")]
    assert await rig.counts() == {"sent": 2}
    async with rig.store.transaction() as tx:
        assert await tx.outbox.sent_ref("a") == ("chat", "chat-1")


async def test_a_person_on_an_unconnected_platform_falls_back_to_a_connected_account(rig: Rig) -> None:
    await rig.enqueue(hello("c", rig.people["chloe"]))

    await rig.worker.drain()

    assert rig.sender.texts_to("chloe") == ["hello c"]


async def test_the_console_reaches_only_people_with_no_account_on_another_connected_platform(
    store: SqlStore,
) -> None:
    # Amira tried the bot on the console after Slack ("chat" here) knew her: her messages still go to chat.
    async with store.transaction() as tx:
        amira = await tx.directory.upsert_person(
            handle="amira", display_name="Amira", time_zone="Europe/London", roles={Role.STAFF}
        )
        dev = await tx.directory.upsert_person(
            handle="dev", display_name="Dev", time_zone="Europe/London", roles={Role.STAFF}
        )
        await tx.directory.add_identity(amira.id, Identity("chat", "T1", "amira"))
        await tx.directory.add_identity(amira.id, Identity("console", "", "amira"))
        await tx.directory.touch_identity(Identity("console", "", "amira"))
        await tx.directory.add_identity(dev.id, Identity("console", "", "dev"))  # no chat account
    chat, console = RecordingSender(), RecordingSender(platform="console")
    worker = DeliveryWorker(
        store=store,
        senders={"console": console, "chat": chat},
        pseudonymiser=Pseudonymiser(b"delivery-test-secret-0123456789"),
        clock=MovableClock(START),
        worker_id="test",
        last_resort={"console"},
    )
    async with store.transaction() as tx:
        await tx.outbox.enqueue([hello("a", amira.id), hello("d", dev.id)], now=START)

    await worker.drain()

    assert chat.texts_to("amira") == ["hello a"] and console.texts_to("amira") == []
    assert console.texts_to("dev") == ["hello d"]


async def test_retry_after_holds_the_platform_and_the_message_is_sent_later(rig: Rig) -> None:
    rig.sender.failures["amira"] = [RetryLater(30, "rate limited", rate_limited=True)]
    await rig.enqueue(hello("a", rig.people["amira"]), hello("b", rig.people["ben"]))

    await rig.worker.drain()
    # Ben's message waited out the 30 seconds the platform asked for; Amira's is due again then.
    assert rig.waits.slept == [30]
    assert rig.sender.texts_to("ben") == ["hello b"]
    assert rig.sender.texts_to("amira") == []
    assert rig.worker.stats.rate_limited == 1

    rig.clock.set(START + timedelta(seconds=29))
    await rig.worker.drain()
    assert rig.sender.texts_to("amira") == []

    rig.clock.set(START + timedelta(seconds=30))
    await rig.worker.drain()
    assert rig.sender.texts_to("amira") == ["hello a"]
    assert await rig.counts() == {"sent": 2}


async def test_network_trouble_waits_longer_each_time_so_an_outage_of_minutes_loses_nothing(rig: Rig) -> None:
    # The senders say "Teams unreachable" with a five-second wait; taken as it was, a minute's outage used
    # up every attempt and failed the whole pulse.
    rig.sender.failures["amira"] = [RetryLater(5, "Teams unreachable: ConnectionError")] * 2
    await rig.enqueue(hello("a", rig.people["amira"]))

    tried: list[int] = []
    for seconds in range(0, 16):
        rig.clock.set(START + timedelta(seconds=seconds))
        await rig.worker.drain()
        attempts = 2 - len(rig.sender.failures["amira"]) + len(rig.sender.texts_to("amira"))
        tried += [seconds] * (attempts - len(tried))

    assert tried == [0, 5, 15]  # 5 s, then 10 s: doubling, as for any other failure
    assert rig.sender.texts_to("amira") == ["hello a"]


async def test_undeliverable_fails_at_once_and_errors_give_up_after_max_attempts(rig: Rig) -> None:
    rig.sender.failures["amira"] = [Undeliverable("user left")]
    rig.sender.failures["ben"] = [ConnectionError("down")] * 5
    await rig.enqueue(hello("a", rig.people["amira"]), hello("b", rig.people["ben"]))

    for minutes in range(0, 60, 5):
        rig.clock.set(START + timedelta(minutes=minutes))
        await rig.worker.drain()

    assert rig.sender.sent == []
    assert await rig.counts() == {"failed": 2}
    assert rig.worker.stats.failed == 2


async def test_a_pseudonymous_route_reaches_its_person_without_storing_who(rig: Rig) -> None:
    route = rig.anon.route("idea:7", rig.people["ben"])
    await rig.enqueue(NewDelivery(key="idea:7:status", message=Message(t("moved on")), route=route))
    await rig.enqueue(hello("named", rig.people["ben"]))

    await rig.worker.drain()

    assert sorted(rig.sender.texts_to("ben")) == ["hello named", "moved on"]
    assert rig.sender.anonymous == ["ben"]  # once: the sender may say whom it reached for the named one only
    async with rig.store.transaction() as tx:
        # A platform's ref names the chat, the same for both: the anonymous one keeps none.
        assert await tx.outbox.sent_ref("named") is not None
        assert await tx.outbox.sent_ref("idea:7:status") is None
        assert await tx.outbox.counts() == {"sent": 2}
    # Nor which platform it went to: in an organisation on both, that alone narrows down who the author is.
    async with rig.store.engine.connect() as db:
        kept = await db.execute(text("SELECT key, platform FROM deliveries ORDER BY key"))
        assert [tuple(row) for row in kept] == [("idea:7:status", None), ("named", "chat")]


async def test_a_message_to_an_anonymous_author_leaves_the_same_trace_whether_it_reached_them_or_not(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    # Amira is still here; Ben has left (switched off); Chloe is only on a platform not connected; the
    # platform refuses Amira's second message. Were any outcome kept, switching people off one by one and
    # commenting on an anonymous idea would show who wrote it.
    async with rig.store.transaction() as tx:
        await tx.directory.set_active(rig.people["ben"], False)
    rig.sender.failures["amira"] = [Undeliverable("the person removed the app")]
    for handle, key in (("amira", "gone:amira"), ("amira", "idea:1"), ("ben", "idea:2"), ("chloe", "idea:3")):
        route = rig.anon.route(key, rig.people[handle])
        await rig.enqueue(NewDelivery(key=f"{key}:moved", message=Message(t("moved on")), route=route))

    with caplog.at_level(logging.DEBUG, logger="bot.delivery"):
        await rig.worker.drain()

    assert rig.sender.texts_to("amira") == ["moved on"]  # one of her two reached her
    async with rig.store.engine.connect() as db:
        rows = await db.execute(
            text("SELECT status, platform, platform_ref, last_error, attempts FROM deliveries ORDER BY key")
        )
        assert {tuple(row) for row in rows} == {("sent", None, None, "", 0)}
    logged = [r.getMessage() for r in caplog.records]
    assert all(r.levelno <= logging.DEBUG for r in caplog.records), logged
    assert not any("directory" in line or "app" in line or "connected" in line for line in logged), logged


async def test_an_anonymous_authors_message_is_tried_once_and_ends_as_one_that_could_not_be_sent(
    rig: Rig,
) -> None:
    # A retry leaves attempts, an error and a later send; a message to an author switched off leaves none
    # of those. Read while the platform was down, the difference named the author.
    async with rig.store.transaction() as tx:
        await tx.directory.set_active(rig.people["ben"], False)
    rig.sender.failures["amira"] = [
        ConnectionError("chat D0AMIRA unreachable"),
        RetryLater(30, "rate limited", rate_limited=True),
    ]
    for handle, key in (("amira", "idea:1"), ("ben", "idea:2"), ("amira", "idea:3")):
        route = rig.anon.route(key, rig.people[handle])
        await rig.enqueue(NewDelivery(key=f"{key}:moved", message=Message(t("moved on")), route=route))

    await rig.worker.drain()

    async with rig.store.engine.connect() as db:
        kept = await db.execute(text("SELECT key, status, attempts, last_error, platform FROM deliveries"))
        assert sorted(tuple(row) for row in kept) == [
            (f"idea:{n}:moved", "sent", 0, "", None) for n in (1, 2, 3)
        ]
    assert rig.worker.stats.sent == 3 and rig.sender.sent == []


async def test_thread_replies_wait_for_the_thread_and_updates_edit_in_place(rig: Rig) -> None:
    reply = Message(t("an answer"), thread="question:1")
    root = Message(t("a question"), anchor="question:1")
    await rig.enqueue(NewDelivery(key="q1:answer", message=reply, channel="qa", platform="chat"))
    await rig.worker.drain()
    assert rig.sender.sent == []  # the thread's first message is not out yet

    await rig.enqueue(NewDelivery(key="q1", message=root, channel="qa", platform="chat"))
    for minutes in (1, 2):  # the root goes first; the reply follows at its next retry
        rig.clock.set(START + timedelta(minutes=minutes))
        await rig.worker.drain()
    await rig.enqueue(NewDelivery(key="q1:closed", message=Message(t("closed")), replaces="q1"))
    await rig.worker.drain()

    assert rig.sender.sent == [
        ("#qa", None, "a question", "chat-1"),
        ("#qa", "chat-1", "an answer", "chat-2"),
    ]
    assert rig.sender.updated == [("chat-1", "closed")]


async def test_an_update_of_a_message_that_failed_for_good_fails_at_once_without_retries(rig: Rig) -> None:
    rig.sender.failures["amira"] = [Undeliverable("not in the workspace")]
    await rig.enqueue(hello("q", rig.people["amira"]), hello("r", rig.people["ben"]))
    await rig.worker.drain()
    await rig.enqueue(
        NewDelivery(key="q:closed", message=Message(t("closed")), replaces="q"),
        NewDelivery(key="r:closed", message=Message(t("closed")), replaces="r"),
    )

    await rig.worker.drain()

    assert rig.sender.updated == [("chat-1", "closed")]  # Ben's, in place
    assert rig.worker.stats.retried == 0  # Amira's failed at its first try: nothing to wait for
    async with rig.store.transaction() as tx:
        assert await tx.outbox.status_of("q:closed") is DeliveryStatus.FAILED
        assert await tx.outbox.status_of("r:closed") is DeliveryStatus.SENT
        assert await tx.outbox.status_of("nothing") is None


async def test_a_fan_out_records_its_sends_in_few_transactions_and_each_once(rig: Rig) -> None:
    people = []
    async with rig.store.transaction() as tx:
        for n in range(40):
            person = await tx.directory.upsert_person(
                handle=f"p{n}", display_name=f"P {n}", time_zone="UTC", roles={Role.STAFF}
            )
            await tx.directory.add_identity(person.id, Identity("chat", "T1", f"p{n}"))
            people.append(person.id)
    await rig.enqueue(*(hello(f"m{n}", person_id) for n, person_id in enumerate(people)))

    assert await rig.worker.drain() == 40

    assert sorted(who for who, _, _, _ in rig.sender.sent) == sorted(f"p{n}" for n in range(40))
    assert await rig.counts() == {"sent": 40}
    async with rig.store.transaction() as tx:
        assert await tx.outbox.sent_ref("m7") is not None
    # Sends that finish while a group is being written share the next transaction.
    assert rig.worker.marks.groups < 40


@dataclass
class GatedSender(RecordingSender):
    """A platform where chosen messages hang until their gate opens (a slow call)."""

    gates: dict[str, asyncio.Event] = field(default_factory=dict)  # message text -> gate
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)  # notified at each send
    at_gate: list[str] = field(default_factory=list)  # texts that came to their gate

    async def send(self, *, to: Address, message: Message) -> str:
        gate = self.gates.get(message.fallback())
        if gate is not None:
            async with self.changed:
                self.at_gate.append(message.fallback())
                self.changed.notify_all()
            await gate.wait()
        ref = await super().send(to=to, message=message)
        async with self.changed:
            self.changed.notify_all()
        return ref

    async def until(self, condition: Callable[[], bool]) -> None:
        async with asyncio.timeout(5), self.changed:
            await self.changed.wait_for(condition)


async def _running(rig: Rig, sender: GatedSender, *, batch: int) -> tuple[asyncio.Event, asyncio.Task[None]]:
    worker = DeliveryWorker(
        store=rig.store,
        senders={"chat": sender},
        pseudonymiser=rig.anon,
        clock=rig.clock,
        worker_id="test",
        concurrency=2,
        batch=batch,
    )
    stop = asyncio.Event()
    return stop, asyncio.create_task(worker.run(stop))


async def test_the_next_batch_goes_out_while_a_slow_send_of_the_last_one_is_still_waiting(rig: Rig) -> None:
    sender = GatedSender(gates={"hello a1": asyncio.Event()})
    await rig.enqueue(hello("a1", rig.people["amira"]), hello("b1", rig.people["ben"]))
    await rig.enqueue(hello("b2", rig.people["ben"]), hello("b3", rig.people["ben"]))
    stop, running = await _running(rig, sender, batch=2)

    # Amira's message hangs at the platform; Ben's later ones, claimed in the next batch, do not wait for it.
    await sender.until(lambda: sender.texts_to("ben") == ["hello b1", "hello b2", "hello b3"])
    assert sender.texts_to("amira") == []

    sender.gates["hello a1"].set()
    await sender.until(lambda: sender.texts_to("amira") == ["hello a1"])
    stop.set()
    await running
    assert await rig.counts() == {"sent": 4}


async def test_a_persons_messages_keep_their_order_across_batches(rig: Rig) -> None:
    sender = GatedSender(gates={"hello a1": asyncio.Event()})
    await rig.enqueue(hello("a1", rig.people["amira"]), hello("b1", rig.people["ben"]))
    await rig.enqueue(hello("a2", rig.people["amira"]), hello("b2", rig.people["ben"]))
    stop, running = await _running(rig, sender, batch=2)

    await sender.until(lambda: sender.texts_to("ben") == ["hello b1", "hello b2"])
    await asyncio.sleep(0.1)  # time enough for Amira's second message to overtake her first, were it let
    assert sender.texts_to("amira") == []

    sender.gates["hello a1"].set()
    await sender.until(lambda: len(sender.texts_to("amira")) == 2)
    assert sender.texts_to("amira") == ["hello a1", "hello a2"]
    stop.set()
    await running
    assert await rig.counts() == {"sent": 4}


def _worker(
    rig: Rig, sender: RecordingSender, name: str = "test", metrics: Metrics | None = None
) -> DeliveryWorker:
    return DeliveryWorker(
        store=rig.store,
        senders={"chat": sender},
        pseudonymiser=rig.anon,
        clock=rig.clock,
        worker_id=name,
        concurrency=2,
        batch=2,
        poll_seconds=0.05,
        metrics=metrics,
    )


async def test_a_row_whose_lease_may_run_out_before_its_send_ends_is_renewed_first(rig: Rig) -> None:
    sender = GatedSender(gates={"hello a1": asyncio.Event(), "hello a2": asyncio.Event()})
    await rig.enqueue(hello("a1", rig.people["amira"]), hello("a2", rig.people["amira"]))
    worker = _worker(rig, sender)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    await sender.until(lambda: sender.at_gate == ["hello a1"])  # a1 hangs at the platform; a2 waits

    # By a2's turn its lease is in its last quarter (the clock jumped; a stalled process does the same):
    # a send begun now could outlast it, so the lease is renewed before a2 goes out.
    rig.clock.set(rig.clock.now() + timedelta(seconds=100))
    sender.gates["hello a1"].set()
    await sender.until(lambda: sender.at_gate == ["hello a1", "hello a2"])
    async with rig.store.transaction() as tx:  # past the first lease, another worker finds nothing to take
        later = rig.clock.now() + timedelta(seconds=30)
        assert await tx.outbox.claim(worker="other", now=later, limit=9, lease_seconds=60) == []
    sender.gates["hello a2"].set()
    await sender.until(lambda: len(sender.texts_to("amira")) == 2)
    stop.set()
    await running
    assert sender.texts_to("amira") == ["hello a1", "hello a2"]
    assert worker.stats.lapsed == 0
    assert await rig.counts() == {"sent": 2}


async def test_a_row_another_worker_took_over_is_not_sent_again(rig: Rig) -> None:
    mine, theirs = GatedSender(gates={"hello a1": asyncio.Event()}), GatedSender()
    await rig.enqueue(hello("a1", rig.people["amira"]), hello("a2", rig.people["amira"]))
    metrics = Metrics()
    first = _worker(rig, mine, "first", metrics)
    stop = asyncio.Event()
    running = asyncio.create_task(first.run(stop))
    await mine.until(lambda: mine.at_gate == ["hello a1"])

    # The lease ran out while a1 hung at the platform; another worker takes both rows over.
    rig.clock.set(rig.clock.now() + timedelta(seconds=130))
    assert await _worker(rig, theirs, "second").drain() == 2
    mine.gates["hello a1"].set()
    await mine.until(lambda: len(mine.sent) == 1)
    await asyncio.sleep(0.2)  # time enough for a2 to go out from the first worker too, were it let
    stop.set()
    await running
    # a1 was in flight at the takeover and went twice (the window the outbox keeps small); a2 went once.
    assert mine.texts_to("amira") == ["hello a1"]
    assert theirs.texts_to("amira") == ["hello a1", "hello a2"]
    assert first.stats.lapsed == 1
    assert "nextpractice_deliveries_lapsed_total 1.0" in (await metrics.scrape()).decode()
    assert await rig.counts() == {"sent": 2}


async def test_a_batch_that_waits_longer_than_its_lease_keeps_it(rig: Rig) -> None:
    """A rate-limit pause can hold claimed rows past their lease; renewals keep another worker off them."""
    mine, theirs = GatedSender(gates={"hello a1": asyncio.Event()}), RecordingSender()
    async with rig.store.transaction() as tx:  # due now by the wall clock, which this test runs on
        await tx.outbox.enqueue(
            [hello("a1", rig.people["amira"]), hello("a2", rig.people["amira"])], now=SystemClock().now()
        )
    stop = asyncio.Event()

    def worker(name: str, sender: RecordingSender) -> asyncio.Task[None]:
        return asyncio.create_task(
            DeliveryWorker(
                store=rig.store,
                senders={"chat": sender},
                pseudonymiser=rig.anon,
                clock=SystemClock(),
                worker_id=name,
                lease_seconds=2.0,
                poll_seconds=0.05,
            ).run(stop)
        )

    first = worker("first", mine)
    await mine.until(lambda: mine.at_gate == ["hello a1"])
    second = worker("second", theirs)
    await asyncio.sleep(5.0)  # two and a half leases
    mine.gates["hello a1"].set()
    await mine.until(lambda: len(mine.sent) == 2)
    stop.set()
    await asyncio.gather(first, second)
    assert mine.texts_to("amira") == ["hello a1", "hello a2"]
    assert theirs.sent == []
    assert await rig.counts() == {"sent": 2}
