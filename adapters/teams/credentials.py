"""The bot's credentials and connector clients towards the Bot Framework, made once and reused."""

from __future__ import annotations

from typing import Any

import aiohttp
from botbuilder.integration.aiohttp import (
    ConfigurationBotFrameworkAuthentication,
    ConfigurationServiceClientCredentialFactory,
)
from botbuilder.schema import Activity
from botframework.connector.auth import (
    AppCredentials,
    AuthenticateRequestResult,
    AuthenticationConstants,
    ClaimsIdentity,
    ConnectorFactory,
    ServiceClientCredentialsFactory,
    UserTokenClient,
)

from adapters.teams.connector import TeamsConnector


class ReusedCredentialsFactory(ServiceClientCredentialsFactory):  # type: ignore[misc]  # untyped library
    """botbuilder's credentials from configuration, one per (app, scope, login endpoint).

    botbuilder makes new credentials, and so a new MSAL client with an empty token cache, for every turn
    and every proactive send; each then asks Entra ID for a token over a blocking HTTP call. Reusing them
    lets MSAL's cache answer until the token is near expiry (about once an hour).
    """

    def __init__(self, configuration: Any) -> None:
        self._inner = ConfigurationServiceClientCredentialFactory(configuration)
        self._made: dict[tuple[str, str, str, bool], AppCredentials] = {}

    async def is_valid_app_id(self, app_id: str) -> bool:
        """Whether ``app_id`` is this bot's."""
        return bool(await self._inner.is_valid_app_id(app_id))

    async def is_authentication_disabled(self) -> bool:
        """True with no app id: local development."""
        return bool(await self._inner.is_authentication_disabled())

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> AppCredentials:
        """The credentials for this combination, made on first use."""
        key = (app_id, oauth_scope, login_endpoint, validate_authority)
        if key not in self._made:
            self._made[key] = await self._inner.create_credentials(
                app_id, oauth_scope, login_endpoint, validate_authority
            )
        return self._made[key]


class ReusedConnectorsAuthentication(ConfigurationBotFrameworkAuthentication):  # type: ignore[misc]
    """botbuilder's authentication from configuration (credentials reused, as above), whose connector
    clients are :class:`TeamsConnector` on ``session``, one per (app, service URL, audience).

    botbuilder makes a new connector client for every turn and every proactive call, and making one costs
    milliseconds of CPU (msrest builds a serialiser and a deserialiser over all the connector's models):
    ``timeit`` of ``ConnectorClient(credentials, base_url=...)`` gave 3.0 ms on this project's 2-core box.
    """

    def __init__(self, configuration: Any, session: aiohttp.ClientSession) -> None:
        super().__init__(configuration, credentials_factory=ReusedCredentialsFactory(configuration))
        self._session = session
        self._made: dict[tuple[str | None, str, str | None], TeamsConnector] = {}
        self._token_clients: dict[str | None, UserTokenClient] = {}

    async def authenticate_request(self, activity: Activity, auth_header: str) -> AuthenticateRequestResult:
        """botbuilder's check of an incoming request; the turn's connector client is then one made before."""
        result = await super().authenticate_request(activity, auth_header)
        result.connector_factory = self.create_connector_factory(result.claims_identity)
        return result

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        """The factory botbuilder would make for ``claims_identity``, answering from what was made."""
        configured = super().create_connector_factory(claims_identity)
        return _ReusedConnectors(configured, _app_id(claims_identity), self)

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> UserTokenClient:
        """botbuilder's client of the token service (for sign-in cards; we have none), one per app: each
        turn asks for it, and making one builds another msrest client."""
        app_id = _app_id(claims_identity)
        if app_id not in self._token_clients:
            self._token_clients[app_id] = await super().create_user_token_client(claims_identity)
        return self._token_clients[app_id]

    async def connector(
        self, configured: ConnectorFactory, app_id: str | None, service_url: str, audience: str | None
    ) -> TeamsConnector:
        """The connector client for this app, service URL and audience, made on first use."""
        key = (app_id, service_url, audience)
        if key not in self._made:
            # botbuilder's own client, made once, tells which credentials it would use.
            credentials = (await configured.create(service_url, audience)).config.credentials
            self._made[key] = TeamsConnector(credentials, service_url, self._session)
        return self._made[key]


def _app_id(claims_identity: ClaimsIdentity) -> str | None:
    """The bot's app id in ``claims_identity``, as botbuilder reads it: the audience of a channel's token,
    the appid claim of the emulator's. botbuilder's factories depend on the identity only through it."""
    app_id: str | None = claims_identity.get_claim_value(
        AuthenticationConstants.AUDIENCE_CLAIM
    ) or claims_identity.get_claim_value(AuthenticationConstants.APP_ID_CLAIM)
    return app_id


class _ReusedConnectors(ConnectorFactory):  # type: ignore[misc]  # untyped library
    def __init__(
        self, configured: ConnectorFactory, app_id: str | None, reusing: ReusedConnectorsAuthentication
    ) -> None:
        self._configured = configured
        self._app_id = app_id
        self._reusing = reusing

    async def create(self, service_url: str, audience: str | None = None) -> TeamsConnector:
        """botbuilder's entry point: the connector client for ``service_url``."""
        return await self._reusing.connector(self._configured, self._app_id, service_url, audience)
