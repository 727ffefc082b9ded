"""Fixtures for Teams tests: the local Bot Framework auth, and the fake connector with and without it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from aiohttp import web

from tests.teams.activities import APP_ID, make_member
from tests.teams.fake_connector import FakeConnector
from tests.teams.tokens import LocalAuth

APP_PASSWORD = "local-app-secret"
Answer = Callable[[web.Request], web.Response]


@pytest.fixture
def local_auth() -> Iterator[LocalAuth]:
    """The Bot Framework's OpenID keys and Entra ID's token endpoint, on 127.0.0.1 over HTTPS."""
    with LocalAuth(apps={APP_ID: APP_PASSWORD}) as auth:
        yield auth


@pytest.fixture
async def fake_connector() -> AsyncIterator[FakeConnector]:
    """A connector that does not look at tokens (a bot with no app id), with a roster of three."""
    members = [make_member(name) for name in ("Amira Haddad", "Ben Okafor", "Chloe Martin")]
    async with FakeConnector(members=members) as fake:
        yield fake


@pytest.fixture
async def secured_connector(local_auth: LocalAuth) -> AsyncIterator[FakeConnector]:
    """A connector that wants ``local_auth``'s bearer tokens for :data:`APP_ID`, with a roster of three."""
    members = [make_member(name) for name in ("Amira Haddad", "Ben Okafor", "Chloe Martin")]
    async with FakeConnector(members=members, auth=local_auth, app_id=APP_ID) as fake:
        yield fake


@pytest.fixture
async def connector() -> AsyncIterator[tuple[list[Answer], str]]:
    """A bare HTTP server on 127.0.0.1 that answers each call with the next scripted answer (a connector
    answering as it may, or a forward proxy answering for one)."""
    answers: list[Answer] = []

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        return answers.pop(0)(request)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield answers, f"http://{host}:{port}/"
    finally:
        await runner.cleanup()
