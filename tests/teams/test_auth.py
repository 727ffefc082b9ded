"""Bot Framework authentication on our own /api/messages, configured from the environment as an admin would:
valid tokens get in and the replies go out with the bot's own token; every bad token is a 401 with nothing
written and the bot never running. Keys, OpenID metadata and the token endpoint are local
(tests/teams/tokens.py).
"""

from __future__ import annotations

import csv
import io
import tomllib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text

from adapters.teams import TEAMS_PATH, messages_route
from bot.bootstrap import App, build_app
from bot.cli import check_cron
from bot.clock import MovableClock
from bot.server import start, web_app
from bot.settings import Settings, TeamsSettings
from dialogue.directory_import import import_directory
from dialogue.programme import load_programme
from tests.teams.activities import APP_ID, TENANT_ID, TeamsActivities, make_member
from tests.teams.conftest import APP_PASSWORD
from tests.teams.fake_connector import FakeConnector
from tests.teams.harness import people_csv
from tests.teams.tokens import BOT_FRAMEWORK_SCOPE, LocalAuth, bearer

AMIRA = make_member("Amira Hassan")
PULSE = (
    '[[pulse]]\nname = "Quick"\n[[pulse.question]]\nkind = "scale"\ntext = "I can suggest improvements."\n'
)


@dataclass
class Secured:
    app: App
    auth: LocalAuth
    fake: FakeConnector
    teams: TeamsActivities
    url: str
    http: aiohttp.ClientSession

    async def post(self, body: dict[str, Any] | bytes, token: str | None) -> int:
        headers = bearer(token) if token is not None else {}
        if isinstance(body, bytes):
            headers["Content-Type"] = "application/json"
            request = self.http.post(self.url, data=body, headers=headers)
        else:
            request = self.http.post(self.url, json=body, headers=headers)
        async with request as response:
            return response.status

    async def written(self) -> int:
        """Rows anything in a turn would write: handled events, contacts, deliveries."""
        async with self.app.store.engine.connect() as db:
            counts = [
                (await db.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
                for table in ("inbox", "contacts", "deliveries")
            ]
        return int(sum(counts))


def environment(auth: LocalAuth, service_url: str) -> dict[str, str]:
    """What an admin sets for a single-tenant Azure bot, with the Bot Framework's endpoints made local."""
    auth.register_app(APP_ID, APP_PASSWORD)
    return {
        "MICROSOFT_APP_ID": APP_ID,
        "MICROSOFT_APP_PASSWORD": APP_PASSWORD,
        "MICROSOFT_APP_TYPE": "SingleTenant",
        "MICROSOFT_APP_TENANT_ID": TENANT_ID,
        "TEAMS_SERVICE_URL": service_url,
        "TO_CHANNEL_FROM_BOT_LOGIN_URL": auth.login_url,
        "TO_CHANNEL_FROM_BOT_OAUTH_SCOPE": BOT_FRAMEWORK_SCOPE,
        "TO_BOT_FROM_CHANNEL_TOKEN_ISSUER": auth.channel_issuer,
        "TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL": auth.openid_metadata_url,
        "TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL": auth.openid_metadata_url,
        "OAUTH_URL": auth.url,
    }


@pytest.fixture
async def secured(
    database_url: str, tmp_path: Path, local_auth: LocalAuth, secured_connector: FakeConnector
) -> AsyncIterator[Secured]:
    teams_settings = TeamsSettings.from_env(environment(local_auth, secured_connector.url))
    settings = Settings(
        data_dir=tmp_path,
        secret_key=b"teams-auth-tests-secret-00",
        database_url=database_url,
        teams=teams_settings,
    )
    app = await build_app(settings, clock=MovableClock(datetime(2026, 11, 30, 9, 0, tzinfo=UTC)))
    assert app.teams is not None
    route = messages_route(app.teams.adapter, app.teams.bot)
    runner = await start(web_app(teams=route), host="127.0.0.1", port=0)
    host, port = runner.addresses[0][:2]
    try:
        async with aiohttp.ClientSession() as http:
            teams = TeamsActivities(service_url=secured_connector.url)
            url = f"http://{host}:{port}{TEAMS_PATH}"
            yield Secured(app, local_auth, secured_connector, teams, url, http)
    finally:
        await runner.cleanup()
        await app.close()


async def test_a_valid_token_gets_in_and_replies_carry_the_bots_own_token(secured: Secured) -> None:
    for text_ in ("hello", "help", "idea Share spare PPE between patches"):
        body = secured.teams.personal_message(text_, sender=AMIRA)
        assert await secured.post(body, secured.auth.valid_token(APP_ID, secured.fake.url)) == 201

    replies = await secured.fake.wait_for(3)

    assert "Your idea #1 is in" in str(replies[-1].activity)
    assert secured.fake.violations == []  # every call carried a token the local Entra ID gave our app
    # One token for three replies: the credentials are reused, so MSAL's cache answers.
    assert [(r.client_id, r.granted) for r in secured.auth.token_requests] == [(APP_ID, True)]


BAD_TOKENS: dict[str, Callable[[LocalAuth, str], str | None]] = {
    "expired": lambda auth, url: auth.expired_token(APP_ID, url),
    "wrong audience (another bot)": lambda auth, url: auth.wrong_audience_token(APP_ID, url),
    "wrong issuer": lambda auth, url: auth.wrong_issuer_token(APP_ID, url),
    "signed by an unknown key": lambda auth, url: auth.unknown_key_token(APP_ID, url),
    "forged signature on a known key id": lambda auth, url: auth.unknown_key_token(
        APP_ID, url, same_kid=True
    ),
    "for another service url": lambda auth, url: auth.valid_token(APP_ID, "https://elsewhere.example/"),
    "not a JWT": lambda auth, url: "not-a-token",
    "no token": lambda auth, url: None,
}


@pytest.mark.parametrize("case", list(BAD_TOKENS))
async def test_a_bad_token_is_refused_with_401_and_nothing_is_written(secured: Secured, case: str) -> None:
    token = BAD_TOKENS[case](secured.auth, secured.fake.url)
    body = secured.teams.personal_message("idea Let me in", sender=AMIRA)

    assert await secured.post(body, token) == 401
    assert await secured.written() == 0
    assert secured.fake.calls == []
    # The same activity with a good token is then handled: the refusal did not mark it as seen.
    assert await secured.post(body, secured.auth.valid_token(APP_ID, secured.fake.url)) == 201


@pytest.mark.parametrize(
    "body", [b"{not json", b"[]", b'{"text": "no type"}', "\u00e9t\u00e9".encode("latin-1")]
)
async def test_a_body_that_is_not_an_activity_is_a_400(secured: Secured, body: bytes) -> None:
    assert await secured.post(body, secured.auth.valid_token(APP_ID, secured.fake.url)) == 400
    assert await secured.written() == 0


async def test_proactive_messages_carry_the_bots_own_token_too(secured: Secured) -> None:
    ben = make_member("Ben Carter")
    people = people_csv(
        [
            ("amira", "Amira Hassan", "staff", "Reablement", AMIRA),
            ("ben", "Ben Carter", "manager", "Reablement", ben),
        ]
    )
    await import_directory(secured.app.store, csv.DictReader(io.StringIO(people)))
    await load_programme(secured.app.store, tomllib.loads(PULSE), check_cron=check_cron)
    token = secured.auth.valid_token(APP_ID, secured.fake.url)
    assert await secured.post(secured.teams.personal_message("hello", sender=AMIRA), token) == 201
    assert await secured.post(secured.teams.personal_message("pulse send Quick", sender=ben), token) == 201

    await secured.app.worker.drain()  # the pulse goes out through the outbox, not in a turn

    chat = secured.teams.personal_conversation(AMIRA)["id"]
    pulse = [
        d for d in secured.fake.activities if d.conversation_id == chat and "suggest improvements" in str(d)
    ]
    assert len(pulse) == 1
    assert secured.fake.violations == []  # the outbox's calls carried a token the local Entra ID gave our app
    # Turns and outbox share the credentials, so MSAL's cache answered every call after the first.
    assert [(r.client_id, r.granted) for r in secured.auth.token_requests] == [(APP_ID, True)]
