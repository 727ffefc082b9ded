"""SIGKILL one of two replicas at random moments of a 5,000-person fan-out, ten times, restarting it each
time: everyone still gets the message, and the only repeats are messages that were in flight at a kill.

What "in flight" means here is exact: right after each kill the test reads which outbox rows the dead
process held (``status = 'sending'``, ``claimed_by`` its worker id). At the end, the ones among them that
the Slack fake had received from that process (each incarnation posts with its own token) are the
messages at risk: the platform has them, the outbox never heard. Every repeat must be one of those, and
there can be at most the worker's concurrency of them per kill.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.scale.replicas import (
    Replica,
    due_pulse,
    fresh_database,
    outbox_counts,
    prepare,
    query,
    slack_people,
    slack_posts,
    slack_received,
    slack_user,
    wait_until,
)
from tests.slack.fake_api import FakeSlack

pytestmark = pytest.mark.postgres

RECIPIENTS = 5_000
KILLS = 10
WORKER_CONCURRENCY = 16  # bot.bootstrap's default: at most this many messages are in flight at a kill
# Long enough that a live replica always finishes its claimed batch inside its lease (the lease is not
# renewed), short enough that a dead replica's rows are soon taken over.
LEASE_SECONDS = 10
GAP_SECONDS = (1.0, 4.0)  # between a kill and the next, at random
# Each replica's pace: the fan-out then lasts at least RECIPIENTS / (2 x 60) = 42 s on any machine, longer
# than ten kills can take (at most 40 s), so every kill lands in the middle of it.
SLACK_RATE = 60
WITHIN = 240.0  # seconds for the fan-out to finish after the last kill
SEED_VARIABLE = "NEXTPRACTICE_KILL_SEED"  # set it to replay a run


@dataclass(frozen=True)
class Kill:
    """One SIGKILL: whom, when, and the outbox rows the dead process held."""

    replica: str
    token: str  # the dead incarnation's Slack token
    at: float  # seconds since the replicas started
    held: frozenset[str]  # Slack user ids of the rows it had claimed and not recorded as sent
    unsent: int  # rows of the fan-out not yet recorded as sent at the kill

    def at_risk(self, posts: list[tuple[str, str]]) -> set[str]:
        """Of the rows it held, those whose message the platform had received from it."""
        return {user for user, token in posts if token == self.token} & self.held


async def _held_by(url: str, worker_id: str) -> frozenset[str]:
    rows = await query(
        url,
        "SELECT i.user_id FROM deliveries d JOIN identities i ON i.person_id = d.person_id"
        " AND i.platform = 'slack' WHERE d.status = 'sending' AND d.claimed_by = :worker",
        worker=worker_id,
    )
    return frozenset(user for (user,) in rows)


async def _unsent(url: str) -> int:
    counts = await outbox_counts(url)
    return sum(counts.values()) - counts.get("sent", 0) if counts else RECIPIENTS


async def test_ten_kills_during_a_5000_fan_out_lose_nothing_and_repeat_only_what_was_in_flight(
    tmp_path: Path, record_property: pytest.RecordProperty
) -> None:
    seed = int(os.environ.get(SEED_VARIABLE) or random.SystemRandom().randrange(2**31))
    rng = random.Random(seed)
    print(f"\nseed {seed} (replay with {SEED_VARIABLE}={seed})")
    record_property("seed", seed)
    async with fresh_database("kill") as url, FakeSlack(validate=False) as slack:
        setup_started = time.monotonic()
        await prepare(url, slack_people(RECIPIENTS), due_pulse(), bulk=True)
        print(f"setup: {time.monotonic() - setup_started:.1f}s")
        replicas = [
            Replica(
                name,
                url,
                tmp_path / name,
                lease_seconds=LEASE_SECONDS,
                slack_url=slack.url,
                slack_rate=SLACK_RATE,
            )
            for name in ("a", "b")
        ]
        started = time.monotonic()
        for replica in replicas:
            replica.start()
        kills: list[Kill] = []
        try:
            for _ in range(KILLS):
                await asyncio.sleep(rng.uniform(*GAP_SECONDS))

                async def someone_running() -> bool:
                    return any(replica.running() for replica in replicas)

                await wait_until(someone_running, within=60, what="a replica serving")
                victim = rng.choice([replica for replica in replicas if replica.running()])
                victim.kill()
                # Its rows keep its worker id until their lease runs out: read them well before that.
                held = await _held_by(url, victim.worker_id)
                unsent = await _unsent(url)
                kills.append(Kill(victim.name, victim.token, time.monotonic() - started, held, unsent))
                print(
                    f"kill {len(kills)}: {victim.name} {kills[-1].at:.1f}s, held {len(held)}, unsent {unsent}"
                )
                victim.start()

            async def all_sent() -> bool:
                for replica in replicas:
                    replica.running()  # fails if a replica died on its own
                return await outbox_counts(url) == {"sent": RECIPIENTS}

            await wait_until(all_sent, within=WITHIN, what="the fan-out finished after the kills", every=0.25)
            took = time.monotonic() - started
            await asyncio.sleep(0.5)  # anything sent twice would arrive now
        finally:
            codes = [await replica.stop() for replica in replicas]
        output = "\n".join(replica.all_output() for replica in replicas)

        assert codes == [0, 0], output
        # Every kill hit the fan-out while it was under way, so the test proved something.
        assert all(kill.unsent > 0 for kill in kills), [kill.unsent for kill in kills]
        assert await outbox_counts(url) == {"sent": RECIPIENTS}
        # Twelve starts in all, each catching the due schedule up: one occurrence.
        assert await query(url, "SELECT count(*) FROM occurrences") == [(1,)]
        received = slack_received(slack)
        assert set(received) == {slack_user(i) for i in range(RECIPIENTS)}, "someone got no message"
        repeats = Counter({user: n - 1 for user, n in received.items() if n > 1})
        posts = slack_posts(slack)
        at_risk = [kill.at_risk(posts) for kill in kills]
        duplicates = sum(repeats.values())
        print(
            f"{RECIPIENTS} recipients, {KILLS} kills in {took:.1f}s: {duplicates} duplicates; "
            f"in flight at each kill {[len(risk) for risk in at_risk]}, held {[len(k.held) for k in kills]}"
        )
        record_property("duplicates", duplicates)
        # A repeat only ever comes from a message in flight at a kill: sent by the dead process, not
        # yet recorded; and none twice. Their number is bounded by the worker's concurrency per kill.
        assert max(repeats.values(), default=0) <= 1, repeats.most_common(5)
        assert set(repeats) <= set().union(*at_risk), sorted(set(repeats) - set().union(*at_risk))[:10]
        assert all(len(risk) <= WORKER_CONCURRENCY for risk in at_risk), [len(risk) for risk in at_risk]
        assert duplicates <= WORKER_CONCURRENCY * KILLS
        assert slack.violations == []
