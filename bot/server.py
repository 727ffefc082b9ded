"""The HTTP side of ``nextpractice serve``: health checks, metrics, Slack's request URL, Teams' endpoint."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.teams import TEAMS_PATH
from bot.metrics import UNMATCHED, Metrics
from storage import current_revision, older_revisions

SLACK_PATH = "/slack/events"
TeamsRoute = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Readiness:
    """What ``/readyz`` checks: the database answers, and its schema is at the revision this code needs.

    ``head`` is found once at start-up (reading Alembic's scripts is file IO); each check is
    one short async query on ``engine``.
    """

    engine: AsyncEngine
    head: str
    timeout: float = 5.0
    older: frozenset[str] = field(default_factory=older_revisions)  # revisions before ``head``

    async def check(self) -> str | None:
        """None when ready, else why not (one line, for people)."""
        try:
            async with asyncio.timeout(self.timeout):
                revision = await current_revision(self.engine)
        except TimeoutError:
            return f"database unreachable: no answer within {self.timeout:g}s"
        except Exception as exc:  # any failure to reach the database is a "not ready", never a 500
            detail = (str(exc).strip().splitlines() or [""])[0][:300]  # SQLAlchemy appends SQL and links
            return f"database unreachable: {type(exc).__name__}: {detail}".rstrip(": ")
        # A revision this version does not know is newer (a rolling upgrade has begun): migrations only add,
        # so this replica serves on until it is replaced.
        if revision != self.head and (revision is None or revision in self.older):
            return (
                f"database at revision {revision or 'none'}, this version needs {self.head}: "
                "run nextpractice db upgrade"
            )
        return None


def _route_label(request: web.Request) -> str:
    """The matched route's pattern (``/slack/events``), never the raw path, which anyone can vary."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else UNMATCHED


def _timing(metrics: Metrics) -> Middleware:
    """Times every request into ``nextpractice_request_seconds``."""

    @web.middleware
    async def timed(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as http:
            status = http.status
            raise
        finally:
            metrics.request(
                route=_route_label(request),
                method=request.method,
                status=status,
                seconds=time.perf_counter() - started,
            )

    return timed


def web_app(
    *,
    slack: AsyncApp | None = None,
    teams: TeamsRoute | None = None,
    readiness: Readiness | None = None,
    metrics: Metrics | None = None,
) -> web.Application:
    """The aiohttp application: ``/healthz`` always, ``/readyz`` with ``readiness``, ``/metrics`` (and
    request timings) with ``metrics``, ``/slack/events`` when Slack is served over HTTP (with
    ``/slack/install`` and ``/slack/oauth_redirect`` in multi-workspace mode), and ``/api/messages``
    when Teams is."""
    middlewares: list[Middleware] = [_timing(metrics)] if metrics is not None else []
    # Slack's payloads are far smaller than the limit.
    application = web.Application(client_max_size=1024 * 1024, middlewares=middlewares)

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    application.router.add_get("/healthz", healthz)
    if readiness is not None:
        ready = readiness

        async def readyz(_request: web.Request) -> web.Response:
            problem = await ready.check()
            if problem is not None:
                return web.json_response({"status": "not ready", "reason": problem}, status=503)
            return web.json_response({"status": "ready", "revision": ready.head})

        application.router.add_get("/readyz", readyz)
    if metrics is not None:
        exposition = metrics

        async def prometheus(_request: web.Request) -> web.Response:
            body = await exposition.scrape()
            return web.Response(body=body, headers={"Content-Type": exposition.content_type})

        application.router.add_get("/metrics", prometheus)
    if teams is not None:
        application.router.add_post(TEAMS_PATH, teams)
    if slack is not None:
        bolt = slack

        async def slack_events(request: web.Request) -> web.Response:
            try:
                bolt_request = await to_bolt_request(request)
            # Bolt parses the body before it checks the signature; a body that is not UTF-8, not JSON or
            # not a JSON object breaks that parsing, so it is the sender's error, not ours.
            except (ValueError, TypeError, AttributeError, KeyError):
                return web.json_response({"error": "the body is not valid JSON or form data"}, status=400)
            return await to_aiohttp_response(await bolt.async_dispatch(bolt_request))

        application.router.add_post(SLACK_PATH, slack_events)
        oauth = slack.oauth_flow
        if oauth is not None:
            # Multi-workspace mode: the "Add to Slack" page and Slack's redirect back after approval.
            async def slack_install(request: web.Request) -> web.Response:
                page = await oauth.handle_installation(await to_bolt_request(request))
                return await to_aiohttp_response(page)

            async def slack_oauth_redirect(request: web.Request) -> web.Response:
                outcome = await oauth.handle_callback(await to_bolt_request(request))
                return await to_aiohttp_response(outcome)

            application.router.add_get(oauth.install_path, slack_install)
            application.router.add_get(oauth.redirect_uri_path, slack_oauth_redirect)
    return application


async def start(application: web.Application, *, host: str, port: int) -> web.AppRunner:
    """Serve ``application`` on ``host:port`` until the returned runner is cleaned up."""
    runner = web.AppRunner(application)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
