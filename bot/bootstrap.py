"""The composition root: builds the running bot from settings, and is the only place that knows every part.

Tests and the CLI call :func:`build_app` with their own clock or senders (cosmicpython's
``bootstrap``), so nothing else constructs stores, workers or the core by hand.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import gc
import logging
import math
import os
import socket
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp

from adapters.console import ConsoleSender
from adapters.slack import sender as slack_sender
from adapters.teams import sender as teams_sender
from bot.clock import SystemClock
from bot.delivery import DeliveryWorker
from bot.metrics import Metrics
from bot.ratelimit import ConversationLimiter, RateLimiter
from bot.settings import SECRET_FILE, Settings
from bot.slack import SlackParts, build_slack
from bot.teams import TeamsParts, build_teams
from dialogue.anonymity import Pseudonymiser
from dialogue.ports import Clock, Sender
from dialogue.service import Dialogue
from storage import SqlStore, default_database_url, head_revision, upgrade_database

log = logging.getLogger(__name__)

CONSOLE = "console"
SECRET_KEY = "anonymity secret"  # the name its fingerprint is kept under


class KeyMismatch(Exception):
    """The anonymity secret is not the one the database was first used with."""


SLACK = "slack"
DRAIN_SECONDS = 5.0  # on close, how long the calls after a platform's answers may still take
TEAMS = "teams"

# Platform events handled at once; with the delivery worker's sends this stays within the database pool
# (storage.store.POOL_SIZE + POOL_OVERFLOW), so a burst waits its turn instead of timing out.
EVENT_CONCURRENCY = 8
PACE_MARGIN = 0.98  # share of a platform's published rate the outbox uses
CATCH_UP = 2  # calls the outbox may make at once to catch up after falling behind its pace
ARRIVAL_SLACK = 1  # calls a platform's window is left short by: sent calls may arrive closer together


@dataclass
class App:
    """Everything a running bot is made of."""

    settings: Settings
    database_url: str
    store: SqlStore
    clock: Clock
    pseudonymiser: Pseudonymiser
    dialogue: Dialogue
    senders: dict[str, Sender]
    worker: DeliveryWorker
    metrics: Metrics  # this app's own Prometheus registry and metrics
    head_revision: str  # the schema revision this code needs (what /readyz compares with)
    http: aiohttp.ClientSession  # the platforms' API calls go through it
    slack: SlackParts | None = None
    teams: TeamsParts | None = None

    async def close(self) -> None:
        """Finish the listeners' calls after their answers (a few seconds at most), then release the platform
        connections and the database connections."""
        for parts in (self.slack, self.teams):
            if parts is not None:
                await parts.background.drain(grace=DRAIN_SECONDS)
        await self.http.close()
        await self.store.close()


def database_url(settings: Settings) -> str:
    """The configured database, or the SQLite file under the data directory."""
    return settings.database_url or default_database_url(settings.data_dir)


async def migrate(url: str) -> str:
    """Bring the database schema up to date; returns the revision it is at.

    Alembic's commands are synchronous (and run their own event loop for async engines),
    so they run in a thread rather than on this loop.
    """
    return await asyncio.to_thread(upgrade_database, url)


async def build_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    senders: Mapping[str, Sender] | None = None,
    concurrency: int = 16,
) -> App:
    """Migrate the database and wire store, core, senders and delivery worker together.

    ``senders`` add to (or replace) the configured platforms' senders. With no platform configured, the
    console's sender (printing to stdout) is the default; with Slack or Teams, messages go only to them,
    unless ``senders`` has the console's (the console and the demo), and even then a person is reached on
    the console only when they have no account on a connected platform.
    ``concurrency=1`` delivers strictly in outbox order (the console, for readable transcripts).
    """
    url = database_url(settings)
    await migrate(url)
    store = SqlStore(url)
    clock = clock or SystemClock()
    metrics = Metrics(store=store, clock=clock)
    pseudonymiser = Pseudonymiser(settings.secret_key)
    fingerprint = pseudonymiser.fingerprint()
    if await store.key_fingerprint(SECRET_KEY, fingerprint) != fingerprint:
        await store.close()
        raise KeyMismatch(
            "NEXTPRACTICE_SECRET_KEY is not the key this database was first used with. With another key the"
            " bot could not recognise anyone's earlier anonymous answers or ideas (people could answer a"
            " pulse twice, and anonymous authors would hear nothing back). Set the same"
            " NEXTPRACTICE_SECRET_KEY on every replica; a key the bot generated is in the data directory of"
            f" the first one that ran ({SECRET_FILE})."
        )
    base = settings.dialogue_settings()
    local = not settings.has_platform
    console = local or CONSOLE in (senders or {})
    # Q&A questions are also posted to the console's "#qa" channel, so the console shows the whole dialogue.
    platforms = [*base.channel_platforms, *([CONSOLE] if console else [])]
    if settings.slack is not None and settings.slack.qa_channel_id:
        platforms.append(SLACK)
    if settings.teams is not None and settings.teams.qa_channel_id:
        platforms.append(TEAMS)
    channel_platforms = tuple(dict.fromkeys(platforms))
    if not channel_platforms:
        log.warning(
            "NO Q&A CHANNEL: questions are kept but posted nowhere until SLACK_QA_CHANNEL_ID or "
            "TEAMS_QA_CHANNEL_ID names the channel they go to (see the README's set-up)."
        )
    dialogue = Dialogue(
        store=store,
        clock=clock,
        pseudonymiser=pseudonymiser,
        settings=dataclasses.replace(base, channel_platforms=channel_platforms),
        concurrency=EVENT_CONCURRENCY,
    )
    all_senders: dict[str, Sender] = {CONSOLE: ConsoleSender(print)} if local else {}
    slack: SlackParts | None = None
    teams: TeamsParts | None = None
    # HTTPS_PROXY and NO_PROXY, as on networks (the NHS's, councils') that reach the internet only through a
    # proxy; slack_sdk reads them itself, Entra ID's token fetch (requests) too. Only when one is set:
    # trust_env reads the environment again for every request (10,000 sends: 1,317/s without, 786/s with).
    http = aiohttp.ClientSession(trust_env=bool(urllib.request.getproxies()))
    if settings.slack is not None:
        slack = build_slack(
            settings.slack,
            dialogue=dialogue,
            store=store,
            clock=clock,
            session=http,
            qa_channel=settings.qa_channel,
            engine=store.engine,
            failed=functools.partial(metrics.platform_call_failed, SLACK),
        )
        all_senders[SLACK] = slack.sender
    if settings.teams is not None:
        teams = build_teams(
            settings.teams,
            dialogue=dialogue,
            store=store,
            clock=clock,
            session=http,
            qa_channel=settings.qa_channel,
            failed=functools.partial(metrics.platform_call_failed, TEAMS),
        )
        all_senders[TEAMS] = teams.sender
    all_senders.update(senders or {})
    worker = DeliveryWorker(
        store=store,
        senders=all_senders,
        pseudonymiser=pseudonymiser,
        clock=clock,
        worker_id=f"{socket.gethostname()}:{os.getpid()}",
        lease_seconds=settings.delivery_lease_seconds,
        concurrency=concurrency,
        metrics=metrics,
        last_resort={CONSOLE},
        limiters={
            SLACK: _rate_limiter(
                settings.slack_rate, slack_sender.MESSAGES_PER_SECOND, slack_sender.RATE_WINDOW
            ),
            TEAMS: _rate_limiter(
                settings.teams_rate, teams_sender.MESSAGES_PER_SECOND, teams_sender.RATE_WINDOW
            ),
        },
        conversation_limiters={
            SLACK: ConversationLimiter(slack_sender.CONVERSATION_LIMITS if settings.slack_rate != 0 else ()),
            TEAMS: ConversationLimiter(teams_sender.CONVERSATION_LIMITS if settings.teams_rate != 0 else ()),
        },
    )
    return App(
        settings=settings,
        database_url=url,
        store=store,
        clock=clock,
        pseudonymiser=pseudonymiser,
        dialogue=dialogue,
        senders=all_senders,
        worker=worker,
        metrics=metrics,
        head_revision=head_revision(),
        slack=slack,
        teams=teams,
        http=http,
    )


def settle() -> None:
    """Keep everything built so far (modules, the engine, the platforms' clients), which a serving process
    keeps until it exits, out of the garbage collector's full scans: each otherwise stalls the event loop for
    tens of milliseconds, long enough for paced sends to bunch up and overrun a platform's window. Call it
    once, in a long-running process, after :func:`build_app` (a process that builds many apps, like the
    tests, would keep every one of them)."""
    gc.collect()
    gc.freeze()


def _rate_limiter(configured: float | None, published: int, window: float) -> RateLimiter:
    """The platform's pace: as configured, else its published limit; 0 turns pacing off.

    Evenly spaced, a little under the limit, and never more in the platform's ``window`` seconds than that
    share of it: platforms count calls in sliding windows, and calls sent exactly at the limit arrive a
    little closer together sometimes, drawing a 429 that pauses all.
    """
    rate = published if configured is None else configured
    if not rate:
        return RateLimiter(None)
    most = max(1, min(math.floor(rate * window * PACE_MARGIN), math.floor(rate * window) - ARRIVAL_SLACK))
    return RateLimiter(rate * PACE_MARGIN, burst=CATCH_UP, window=(most, window))
