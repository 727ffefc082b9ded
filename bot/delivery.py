"""The delivery worker: drains the outbox through the platforms' senders.

Each row is marked sent in its own transaction straight after the platform accepted it,
so a crash can repeat at most the messages that were in flight at that moment; rows
claimed but not yet sent are picked up again when their lease runs out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from bot.ratelimit import RateLimiter
from dialogue.anonymity import Pseudonymiser
from dialogue.outbox import Address, Delivery, RetryLater, Undeliverable
from dialogue.ports import Clock, Sender, Store

log = logging.getLogger(__name__)

# How long to wait before retrying a failure the platform gave no advice about: 5 s doubling to 30 min.
BASE_BACKOFF = 5.0
MAX_BACKOFF = 1800.0


@dataclass
class DeliveryStats:
    """What the worker has done since it started (for logs and metrics)."""

    sent: int = 0
    updated: int = 0
    retried: int = 0
    failed: int = 0
    rate_limited: int = 0
    by_platform: dict[str, int] = field(default_factory=dict)


class DeliveryWorker:
    """Claims due outbox rows, sends them, and records the outcome.

    Rows for the same recipient are sent in order; different recipients are sent
    concurrently (up to ``concurrency``) under each platform's :class:`RateLimiter`.
    """

    def __init__(
        self,
        *,
        store: Store,
        senders: Mapping[str, Sender],
        pseudonymiser: Pseudonymiser,
        clock: Clock,
        worker_id: str,
        limiters: Mapping[str, RateLimiter] | None = None,
        batch: int = 100,
        concurrency: int = 16,
        lease_seconds: float = 120.0,
        max_attempts: int = 8,
        poll_seconds: float = 1.0,
    ) -> None:
        self.store = store
        self.senders = dict(senders)
        self.pseudonymiser = pseudonymiser
        self.clock = clock
        self.worker_id = worker_id
        self.limiters = {p: (limiters or {}).get(p) or RateLimiter() for p in self.senders}
        self.batch = batch
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self.poll_seconds = poll_seconds
        self.stats = DeliveryStats()
        self._slots = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Look at the outbox now rather than at the next poll (call after enqueueing)."""
        self._wake.set()

    async def run_once(self) -> int:
        """Claim one batch of due rows and deliver it; returns how many rows were handled."""
        async with self.store.transaction() as tx:
            claimed = await tx.outbox.claim(
                worker=self.worker_id,
                now=self.clock.now(),
                limit=self.batch,
                lease_seconds=self.lease_seconds,
            )
        queues: dict[str, list[Delivery]] = {}
        for delivery in claimed:
            queues.setdefault(_recipient(delivery), []).append(delivery)
        await asyncio.gather(*(self._deliver_in_order(q) for q in queues.values()))
        return len(claimed)

    async def drain(self) -> int:
        """Deliver everything due now (rows retried for later stay); returns how many rows were handled."""
        total = 0
        while handled := await self.run_once():
            total += handled
        return total

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set, polling when idle; a database outage is logged and waited out."""
        while not stop.is_set():
            try:
                handled = await self.run_once()
            except Exception:
                log.exception("delivery: could not reach the outbox; trying again shortly")
                handled = 0
            if handled:
                continue
            self._wake.clear()
            waits = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
            await asyncio.wait(waits, timeout=self.poll_seconds, return_when=asyncio.FIRST_COMPLETED)
            for waiting in waits:
                waiting.cancel()

    async def _deliver_in_order(self, deliveries: list[Delivery]) -> None:
        for delivery in deliveries:
            async with self._slots:
                await self._deliver(delivery)

    async def _deliver(self, delivery: Delivery) -> None:
        platform = "?"
        try:
            if delivery.replaces:
                platform, ref = await self._update(delivery)
                self.stats.updated += 1
            else:
                platform, address = await self._address(delivery)
                await self.limiters[platform].acquire()
                ref = await self.senders[platform].send(to=address, message=delivery.message)
                self.stats.sent += 1
            self.stats.by_platform[platform] = self.stats.by_platform.get(platform, 0) + 1
            async with self.store.transaction() as tx:
                now = self.clock.now()
                await tx.outbox.mark_sent(delivery.id, platform=platform, platform_ref=ref, at=now)
        except RetryLater as later:
            if platform in self.limiters and later.retry_after > 0:
                self.limiters[platform].pause(later.retry_after)
                self.stats.rate_limited += 1
            await self._retry(delivery, str(later), later.retry_after)
        except Undeliverable as gone:
            await self._fail(delivery, str(gone) or "undeliverable")
        except Exception as exc:  # a sender's unexpected error must not stop the other deliveries
            log.warning("delivery %s: %s: %s", delivery.id, type(exc).__name__, exc)
            await self._retry(delivery, f"{type(exc).__name__}: {exc}", None)

    async def _address(self, delivery: Delivery) -> tuple[str, Address]:
        """The platform and address of a new message.

        The person behind a pseudonymous route is found only here, in memory, and never stored.
        """
        if delivery.channel is not None:
            platform = delivery.platform or ""
            if platform not in self.senders:
                raise Undeliverable(f"no {platform or 'platform'} connection for channel #{delivery.channel}")
            thread_ref = None
            if delivery.message.thread:
                async with self.store.transaction() as tx:
                    thread_ref = await tx.outbox.anchor_ref(delivery.message.thread, platform)
                if thread_ref is None:
                    # The thread's first message is not out yet; replies wait for it.
                    raise RetryLater(BASE_BACKOFF, f"waiting for thread {delivery.message.thread}")
            return platform, Address(channel=delivery.channel, thread_ref=thread_ref)
        async with self.store.transaction() as tx:
            directory = tx.directory
            if delivery.route is not None:
                person = self.pseudonymiser.resolve(delivery.route, await directory.people())
            else:
                person = await directory.get_person(delivery.person_id) if delivery.person_id else None
            if person is None or not person.active:
                raise Undeliverable("the recipient is no longer in the directory")
            identities = await directory.identities(person.id)
        wanted = [delivery.platform] if delivery.platform else list(self.senders)
        for identity in identities:  # most recently used first
            if identity.platform in wanted and identity.platform in self.senders:
                return identity.platform, Address(identity=identity)
        raise Undeliverable("the recipient has no account on a connected platform")

    async def _update(self, delivery: Delivery) -> tuple[str, str]:
        """Edit the earlier message in place; returns its platform and ref."""
        replaces = delivery.replaces or ""
        async with self.store.transaction() as tx:
            sent = await tx.outbox.sent_ref(replaces)
        if sent is None:
            if delivery.attempts + 1 >= self.max_attempts:
                raise Undeliverable(f"the message it updates ({replaces}) was never sent")
            raise RetryLater(BASE_BACKOFF, f"waiting for {replaces} to be sent")
        platform, ref = sent
        sender = self.senders.get(platform)
        if sender is None:
            raise Undeliverable(f"no {platform} connection to update the message")
        await self.limiters[platform].acquire()
        await sender.update(ref=ref, message=delivery.message)
        return platform, ref

    async def _retry(self, delivery: Delivery, error: str, retry_after: float | None) -> None:
        attempts = delivery.attempts + 1
        if attempts >= self.max_attempts:
            await self._fail(delivery, f"gave up after {attempts} attempts: {error}")
            return
        backoff = min(MAX_BACKOFF, BASE_BACKOFF * 2 ** (attempts - 1))
        wait = retry_after if retry_after is not None else backoff
        self.stats.retried += 1
        async with self.store.transaction() as tx:
            await tx.outbox.mark_retry(
                delivery.id, error=error[:500], not_before=self.clock.now() + timedelta(seconds=wait)
            )

    async def _fail(self, delivery: Delivery, error: str) -> None:
        # The key, not the recipient: a routed (anonymous) delivery must leave no trace of its person.
        log.warning("delivery %s (%s) failed: %s", delivery.id, delivery.key, error)
        self.stats.failed += 1
        async with self.store.transaction() as tx:
            await tx.outbox.mark_failed(delivery.id, error=error[:500])


def _recipient(delivery: Delivery) -> str:
    """Who a row goes to, so one recipient's messages keep their order."""
    if delivery.person_id is not None:
        return f"p:{delivery.person_id}"
    if delivery.route is not None:
        return f"r:{delivery.route}"
    if delivery.channel is not None:
        return f"c:{delivery.platform}:{delivery.channel}"
    return f"u:{delivery.replaces}"
