"""The bot's credentials towards the Bot Framework, made once and reused; cheaper connector clients."""

from __future__ import annotations

from typing import Any

from botbuilder.integration.aiohttp import ConfigurationServiceClientCredentialFactory
from botframework.connector.auth import AppCredentials, ServiceClientCredentialsFactory
from msrest.universal_http.requests import ClientRetryPolicy

# botbuilder makes a connector client for every proactive send, and msrest's retry policy for each one
# tests 999 status codes against this 502-item list: 3.5 ms of CPU a message, an eighth of a Teams send.
# The same codes as a set make that test instant.
ClientRetryPolicy.safe_codes = frozenset(ClientRetryPolicy.safe_codes)  # type: ignore[assignment]  # only `in`


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
