"""The local APIs answer 429 with Retry-After to 20% of calls, and 5xx to 5%: everything is delivered, no
call comes before its Retry-After, and the failures show in metrics.

One app serves Slack and Teams at once, each platform's local API given seeded :class:`Faults`; a manager
sends a pulse to a few hundred people and the real delivery worker drains the outbox. The movable clock
makes retried rows due again at once; what keeps a retry from coming before its Retry-After in real time is
the worker's own pause of the platform, which is exactly what is under test.
"""

from __future__ import annotations

import csv
import io
import tomllib
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from adapters.slack import sender as slack_sender
from adapters.teams import sender as teams_sender
from bot.bootstrap import SLACK, TEAMS, App, build_app
from bot.cli import check_cron
from bot.clock import MovableClock
from bot.settings import Settings, SlackSettings, TeamsSettings
from dialogue.directory_import import import_directory
from dialogue.programme import load_programme
from tests.fake_faults import Faults
from tests.slack.fake_api import FakeSlack
from tests.teams.activities import TENANT_ID
from tests.teams.fake_connector import FakeConnector

START = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)  # a Monday morning in London
# People on each platform (the manager who sends the pulse is on Slack too). Each 429 pauses its
# platform for 1 s of real time, so more people means more seconds.
PER_PLATFORM = 60
CONCURRENCY = 64
ROUNDS = 40  # drain passes at most; each retry of a row needs one
STEP = timedelta(seconds=6)  # clock moved between passes: past any Retry-After and the server-error wait
PULSE = """\
[[pulse]]
name = "Quick pulse"
schedule = { cron = "0 9 * * MON", time_zone = "Europe/London" }
[[pulse.question]]
kind = "scale"
text = "I can suggest improvements."
"""


def people(per_platform: int) -> str:
    """The directory: a manager and ``per_platform`` staff on Slack, as many on Teams."""
    rows = ["handle,name,time_zone,roles,team,slack_user_id,slack_team_id,teams_user_id,teams_tenant"]
    rows.append("boss,The Boss,Europe/London,manager,Head Office,U0BOSS,T111,,")
    for n in range(per_platform):
        rows.append(f"s{n},Slack {n},Europe/London,staff,Team {n % 5},U{n:05d},T111,,")
        rows.append(f"t{n},Teams {n},Europe/London,staff,Team {n % 5},,,{_aad(n)},{TENANT_ID}")
    return "\n".join(rows) + "\n"


def _aad(n: int) -> str:
    """An Entra object id for Teams person ``n``."""
    return f"00000000-0000-4000-8000-{n:012d}"


@dataclass
class Flaky:
    """The app and the two flaky local platforms it delivers to."""

    app: App
    clock: MovableClock
    slack: FakeSlack
    teams: FakeConnector

    async def pending(self) -> int:
        """Outbox rows not yet sent nor given up on."""
        async with self.app.store.engine.connect() as db:
            query = "SELECT count(*) FROM deliveries WHERE status = 'pending'"
            return int((await db.execute(text(query))).scalar_one())

    async def deliver_everything(self) -> int:
        """Drain, move the clock past every retry's wait, and drain again until nothing is pending;
        returns the passes it took."""
        for passes in range(1, ROUNDS + 1):
            await self.app.worker.drain()
            if not await self.pending():
                return passes
            self.clock.set(self.clock.now() + STEP)
        raise AssertionError(f"still {await self.pending()} rows pending after {ROUNDS} passes")


@asynccontextmanager
async def flaky_bot(
    database_url: str, data_dir: Path, seed: int, per_platform: int = PER_PLATFORM
) -> AsyncIterator[Flaky]:
    """The bot on Slack and Teams, both answering 20% of deliveries with 429 and 5% with 503."""
    # Each platform draws its own faults (another seed), as two services fail independently.
    async with (
        FakeSlack(faults=Faults(seed=seed)) as slack,
        FakeConnector(faults=Faults(seed=seed + 1)) as teams,
    ):
        settings = Settings(
            data_dir=data_dir,
            secret_key=b"flaky-platforms-secret-000",
            database_url=database_url,
            slack=SlackSettings(bot_token="xoxb-test", signing_secret="secret", api_url=slack.url),
            teams=TeamsSettings(tenant_id=TENANT_ID, service_url=teams.url),
            # Pacing well above what a test sends, so the run is about retries and not the published rates.
            slack_rate=200,
            teams_rate=200,
        )
        clock = MovableClock(START)
        # Wide enough that the calls refused together wait out one pause together.
        app = await build_app(settings, clock=clock, concurrency=CONCURRENCY)
        try:
            report = await import_directory(app.store, csv.DictReader(io.StringIO(people(per_platform))))
            assert not report.errors, report.errors
            await load_programme(app.store, tomllib.loads(PULSE), check_cron=check_cron)
            yield Flaky(app, clock, slack, teams)
        finally:
            await app.close()


def samples(exposition: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Every sample called ``name`` in a Prometheus exposition, by its labels."""
    return {
        tuple(sorted(sample.labels.items())): float(sample.value)
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == name
    }


@pytest.fixture(autouse=True)
def _short_server_error_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 5xx is retried after the senders' TRANSIENT_WAIT (5 s, a real-time pause of the platform); 1 s here,
    like the fakes' Retry-After, keeps the run short without changing what is tested."""
    monkeypatch.setattr(slack_sender, "TRANSIENT_WAIT", 1.0)
    monkeypatch.setattr(teams_sender, "TRANSIENT_WAIT", 1.0)


@pytest.mark.parametrize("seed", [7])
async def test_flaky_platforms_deliver_everything_once_never_early_and_count_the_failures(
    database_url: str, tmp_path: Path, seed: int
) -> None:
    async with flaky_bot(database_url, tmp_path, seed) as bot:
        reply = await bot.app.dialogue.command_as("boss", "pulse send Quick pulse")
        assert "Quick pulse" in str(reply), reply

        passes = await bot.deliver_everything()

        # Every recipient got exactly one message: one DM per Slack user, one chat per Teams person.
        to_slack = Counter(message["channel"] for message in bot.slack.messages)
        assert sorted(to_slack) == sorted(["D0BOSS", *(f"D{n:05d}" for n in range(PER_PLATFORM))])
        assert set(to_slack.values()) == {1}
        to_teams = Counter(d.conversation_id for d in bot.teams.activities)
        assert len(to_teams) == PER_PLATFORM and set(to_teams.values()) == {1}
        assert bot.slack.violations == [] and bot.teams.violations == []

        # Both platforms really were flaky, and no call came before the Retry-After its conversation got.
        slack_faults, teams_faults = bot.slack.faults, bot.teams.faults
        assert slack_faults is not None and teams_faults is not None
        for faults in (slack_faults, teams_faults):
            assert faults.throttled > 0 and faults.errors > 0, faults.summary()
            assert faults.early == [], faults.summary()
        assert passes > 1

        # /metrics: every refusal is a retry (or a failure), and the 429s show as rate limited.
        exposition = (await bot.app.metrics.scrape()).decode()
        retried = samples(exposition, "nextpractice_deliveries_retried_total")
        failed = samples(exposition, "nextpractice_deliveries_failed_total")
        sent = samples(exposition, "nextpractice_deliveries_sent_total")
        for platform, faults, recipients in (
            (SLACK, slack_faults, PER_PLATFORM + 1),
            (TEAMS, teams_faults, PER_PLATFORM),
        ):
            limited = retried.get((("platform", platform), ("reason", "rate_limited")), 0.0)
            errors = retried.get((("platform", platform), ("reason", "error")), 0.0)
            gave_up = failed.get((("platform", platform),), 0.0)
            assert limited > 0, (platform, retried)
            refused = faults.throttled + faults.errors
            assert limited + errors + gave_up == refused, (platform, retried, faults.summary())
            assert gave_up == 0, (platform, failed)
            assert sent[(("platform", platform),)] == recipients
        assert bot.app.worker.stats.failed == 0


async def test_a_server_error_is_counted_as_an_error_not_as_a_rate_limit(
    database_url: str, tmp_path: Path
) -> None:
    # Only 5xx: every refusal the metrics see must be reason="error", as the metric's help says.
    async with flaky_bot(database_url, tmp_path, seed=3, per_platform=4) as bot:
        assert bot.slack.faults is not None and bot.teams.faults is not None
        for faults in (bot.slack.faults, bot.teams.faults):
            faults.rate_limited, faults.server_errors = 0.0, 1.0
        await bot.app.dialogue.command_as("boss", "pulse send Quick pulse")
        await bot.app.worker.drain()  # one pass: the refused rows wait for later

        retried = samples((await bot.app.metrics.scrape()).decode(), "nextpractice_deliveries_retried_total")
        assert bot.slack.faults.errors > 0 and bot.teams.faults.errors > 0
        assert retried.get((("platform", SLACK), ("reason", "error"))) == bot.slack.faults.errors
        assert retried.get((("platform", TEAMS), ("reason", "error"))) == bot.teams.faults.errors
        assert (("platform", SLACK), ("reason", "rate_limited")) not in retried
