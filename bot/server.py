"""The HTTP side of ``nextpractice serve``: health checks and Slack's request URL."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

from adapters.teams import TEAMS_PATH

SLACK_PATH = "/slack/events"
TeamsRoute = Callable[[web.Request], Awaitable[web.StreamResponse]]


def web_app(*, slack: AsyncApp | None = None, teams: TeamsRoute | None = None) -> web.Application:
    """The aiohttp application: ``/healthz`` always, ``/slack/events`` when Slack is served over HTTP
    (with ``/slack/install`` and ``/slack/oauth_redirect`` in multi-workspace mode), and
    ``/api/messages`` when Teams is."""
    application = web.Application(client_max_size=1024 * 1024)  # Slack's payloads are far smaller

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    application.router.add_get("/healthz", healthz)
    if teams is not None:
        application.router.add_post(TEAMS_PATH, teams)
    if slack is not None:
        bolt = slack

        async def slack_events(request: web.Request) -> web.Response:
            return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

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
