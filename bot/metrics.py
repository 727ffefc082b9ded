"""The bot's Prometheus metrics, served on ``/metrics``.

Each running app owns a :class:`Metrics` with a registry of its own rather than
prometheus-client's global one, so several apps in one process (tests, tools) never
collide. Counters are counted where things happen (the delivery worker, the scheduler,
the HTTP middleware); the outbox gauges are read from the database at scrape time.
"""

from __future__ import annotations

import asyncio
import logging
import math

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

from dialogue.ports import Clock, Store

log = logging.getLogger(__name__)

# Retry reasons: the platform asked us to wait (HTTP 429 with Retry-After), or anything else.
RATE_LIMITED = "rate_limited"
ERROR = "error"
UNMATCHED = "unmatched"  # the route label of requests no route matched (never the raw path)
SCRAPE_TIMEOUT = 5.0  # seconds the outbox query may take before a scrape reports it as unknown


class Metrics:
    """The registry and every metric in it.

    With a ``store`` (and ``clock``), each :meth:`scrape` first reads the outbox's backlog.
    """

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, *, store: Store | None = None, clock: Clock | None = None) -> None:
        # Each counter's *_created series (when it was made) is noise on a dashboard: process-wide, once.
        disable_created_metrics()  # type: ignore[no-untyped-call]  # prometheus_client leaves it unannotated
        self.store = store
        self.clock = clock
        self.registry = CollectorRegistry()
        self.deliveries_sent = Counter(
            "nextpractice_deliveries_sent",
            "Outbox rows delivered to a platform (new messages and in-place updates).",
            ["platform"],
            registry=self.registry,
        )
        self.deliveries_failed = Counter(
            "nextpractice_deliveries_failed",
            "Outbox rows given up on (undeliverable, or out of attempts).",
            ["platform"],
            registry=self.registry,
        )
        self.deliveries_retried = Counter(
            "nextpractice_deliveries_retried",
            "Deliveries put back for a later attempt; reason rate_limited when the platform said when.",
            ["platform", "reason"],
            registry=self.registry,
        )
        self.deliveries_lapsed = Counter(
            "nextpractice_deliveries_lapsed",
            "Claimed rows a worker did not send because another had taken them over or might have (its lease "
            "lapsed: a stalled replica, or the database away while it waited).",
            registry=self.registry,
        )
        self.outbox_depth = Gauge(
            "nextpractice_outbox_depth",
            "Outbox rows due now and not yet sent (read from the database at scrape time).",
            registry=self.registry,
        )
        self.outbox_oldest_age = Gauge(
            "nextpractice_outbox_oldest_age_seconds",
            "How long the oldest due, unsent outbox row has been due; 0 when none is.",
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "nextpractice_request_seconds",
            "HTTP requests served, by route pattern, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.platform_calls_failed = Counter(
            "nextpractice_platform_calls_failed",
            "Calls back to a platform after it had its answer (replies, card updates, forms, the Home tab) "
            "that failed, by what had come in: it is stored, but the person may not have seen the result.",
            ["platform", "after"],
            registry=self.registry,
        )
        self.scheduler_firings = Counter(
            "nextpractice_scheduler_firings",
            "Scheduled runs the scheduler enqueued (a repeat firing of an enqueued run is not counted).",
            ["kind"],
            registry=self.registry,
        )

    def platforms(self, platforms: list[str]) -> None:
        """Start the delivery counters of these platforms at 0, so rates exist before the first event."""
        for platform in platforms:
            self.deliveries_sent.labels(platform)
            self.deliveries_failed.labels(platform)

    def sent(self, platform: str) -> None:
        """One outbox row delivered on ``platform``."""
        self.deliveries_sent.labels(platform).inc()

    def failed(self, platform: str) -> None:
        """One outbox row given up on."""
        self.deliveries_failed.labels(platform).inc()

    def retried(self, platform: str, *, rate_limited: bool) -> None:
        """One delivery put back for later."""
        self.deliveries_retried.labels(platform, RATE_LIMITED if rate_limited else ERROR).inc()

    def lapsed(self) -> None:
        """One claimed row left unsent: its lease lapsed."""
        self.deliveries_lapsed.inc()

    def platform_call_failed(self, platform: str, after: str) -> None:
        """A call back to ``platform`` after its answer to ``after`` (a button click, a form) failed."""
        self.platform_calls_failed.labels(platform, after).inc()

    def fired(self, kind: str) -> None:
        """The scheduler enqueued one run of a ``kind`` schedule (campaign, pulse, checkin)."""
        self.scheduler_firings.labels(kind).inc()

    def request(self, *, route: str, method: str, status: int, seconds: float) -> None:
        """One HTTP request served."""
        self.request_seconds.labels(route, method, str(status)).observe(seconds)

    async def refresh_outbox(self) -> None:
        """Set the outbox gauges from the database; NaN (unknown) when it cannot be read."""
        if self.store is None or self.clock is None:
            return
        store, now = self.store, self.clock.now()
        try:
            async with asyncio.timeout(SCRAPE_TIMEOUT), store.transaction(read_only=True) as tx:
                depth, oldest = await tx.outbox.backlog(now)
        except Exception as exc:  # a scrape must still answer, with the counters, when the database is down
            log.warning("metrics: cannot read the outbox: %s: %s", type(exc).__name__, exc)
            self.outbox_depth.set(math.nan)
            self.outbox_oldest_age.set(math.nan)
            return
        self.outbox_depth.set(depth)
        self.outbox_oldest_age.set(max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0)

    async def scrape(self) -> bytes:
        """The exposition text of every metric, with the outbox gauges read just now."""
        await self.refresh_outbox()
        return generate_latest(self.registry)
