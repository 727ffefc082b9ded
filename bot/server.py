"""The HTTP side of ``nextpractice serve``: health checks and Slack's request URL."""

from __future__ import annotations

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

SLACK_PATH = "/slack/events"


def web_app(*, slack: AsyncApp | None = None) -> web.Application:
    """The aiohttp application: ``/healthz`` always, ``/slack/events`` when Slack is served over HTTP."""
    application = web.Application(client_max_size=1024 * 1024)  # Slack's payloads are far smaller

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    application.router.add_get("/healthz", healthz)
    if slack is not None:
        bolt = slack

        async def slack_events(request: web.Request) -> web.Response:
            return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

        application.router.add_post(SLACK_PATH, slack_events)
    return application


async def start(application: web.Application, *, host: str, port: int) -> web.AppRunner:
    """Serve ``application`` on ``host:port`` until the returned runner is cleaned up."""
    runner = web.AppRunner(application)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
