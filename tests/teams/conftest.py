"""Fixtures for Teams tests: the local Bot Framework auth, and the fake connector with and without it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.teams.activities import APP_ID, make_member
from tests.teams.fake_connector import FakeConnector
from tests.teams.tokens import LocalAuth

APP_PASSWORD = "local-app-secret"


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
