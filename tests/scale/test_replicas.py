"""Two replicas of ``nextpractice serve`` on one PostgreSQL database share a 2,000-person fan-out: the
schedule is enqueued once, and each person gets exactly one message, on Slack or on Teams."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.scale.replicas import (
    Replica,
    due_pulse,
    free_port,
    fresh_database,
    outbox_counts,
    prepare,
    query,
    slack_people,
    slack_posts,
    slack_received,
    slack_user,
    teams_chat,
    teams_people,
    teams_received,
    teams_user,
    wait_until,
)
from tests.slack.fake_api import FakeSlack
from tests.teams.fake_connector import FakeConnector

pytestmark = pytest.mark.postgres

SLACK_PEOPLE = 1_000
TEAMS_PEOPLE = 1_000
RECIPIENTS = SLACK_PEOPLE + TEAMS_PEOPLE
# Nobody dies here: a lease far longer than any batch takes means no row is ever claimed twice.
LEASE_SECONDS = 60
# ~30 s on an idle 2-core machine; generous, because a shared machine can be several times slower.
WITHIN = 180.0  # seconds for the whole fan-out, from the replicas' start
SENT = 'nextpractice_deliveries_sent_total{platform="%s"}'
FIRED = 'nextpractice_scheduler_firings_total{kind="pulse"}'


async def test_two_replicas_send_each_of_2000_people_exactly_one_message(tmp_path: Path) -> None:
    async with (
        fresh_database("replicas") as url,
        FakeSlack(validate=False) as slack,  # per-call spec checks cost more CPU than the bot itself
        FakeConnector(validate=False) as teams,
    ):
        await prepare(url, slack_people(SLACK_PEOPLE) + teams_people(TEAMS_PEOPLE), due_pulse())
        replicas = [
            Replica(
                name,
                url,
                tmp_path / name,
                lease_seconds=LEASE_SECONDS,
                slack_url=slack.url,
                teams_url=teams.url,
                metrics_port=free_port(),
            )
            for name in ("a", "b")
        ]
        started = time.monotonic()
        for replica in replicas:  # together: both catch the due schedule up at start and race to enqueue it
            replica.start()
        try:

            async def all_sent() -> bool:
                assert all(replica.process and replica.process.poll() is None for replica in replicas)
                return await outbox_counts(url) == {"sent": RECIPIENTS}

            await wait_until(all_sent, within=WITHIN, what="the whole fan-out sent", every=0.25)
            took = time.monotonic() - started
            await asyncio.sleep(0.5)  # anything sent twice would arrive now
            samples = [await asyncio.to_thread(replica.scrape) for replica in replicas]
        finally:
            codes = [await replica.stop() for replica in replicas]
        output = "\n".join(replica.all_output() for replica in replicas)

        assert codes == [0, 0], output
        assert "Traceback" not in output, output
        # One occurrence, enqueued by one of the two replicas; the other's firing was a harmless repeat.
        assert await query(url, "SELECT count(*) FROM occurrences") == [(1,)]
        assert sum(sample.get(FIRED, 0) for sample in samples) == 1, samples
        assert await outbox_counts(url) == {"sent": RECIPIENTS}
        # Every person exactly once: nobody missing, nobody twice, nobody else.
        assert slack_received(slack) == {slack_user(i): 1 for i in range(SLACK_PEOPLE)}
        assert teams_received(teams) == {teams_chat(teams_user(i)): 1 for i in range(TEAMS_PEOPLE)}
        assert len(teams.calls_to("create_conversation")) == TEAMS_PEOPLE  # each 1:1 chat started once
        assert slack.violations == [] and teams.violations == []
        # Both replicas did part of the work, and their own counts add up to the fakes'.
        by_replica = {
            replica.name: (sample.get(SENT % "slack", 0), sample.get(SENT % "teams", 0))
            for replica, sample in zip(replicas, samples, strict=True)
        }
        assert sum(s for s, _ in by_replica.values()) == SLACK_PEOPLE, by_replica
        assert sum(t for _, t in by_replica.values()) == TEAMS_PEOPLE, by_replica
        assert all(s + t > 0 for s, t in by_replica.values()), by_replica
        # The fake sees it too: each replica's Slack token posted some of the messages.
        tokens = {token for _, token in slack_posts(slack)}
        assert tokens == {replica.token for replica in replicas}, tokens
        print(f"\n{RECIPIENTS} sent in {took:.1f}s by two replicas; (slack, teams) by replica: {by_replica}")
