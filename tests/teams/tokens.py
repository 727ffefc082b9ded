"""Local Bot Framework authentication for tests: the channel's signing keys and Entra ID's token endpoint.

:class:`LocalAuth` is an HTTPS server on 127.0.0.1 (a free port) that plays both sides of Bot Framework auth:

- **channel → bot**: the OpenID metadata document (``/.well-known/openid-configuration``) and the signing
  keys (``/keys``, each with the ``endorsements`` botframework-connector checks against the activity's
  channel id) that the Bot Connector publishes; :meth:`LocalAuth.channel_token` and friends mint the JWTs the
  channel puts in ``Authorization: Bearer`` when it posts an activity to the bot: valid, expired, for another
  audience, from another issuer, or signed by a key nobody published.
- **bot → channel**: the Entra ID token endpoint MSAL posts client credentials to
  (``/botframework.com/oauth2/v2.0/token``); the tokens it issues are what :class:`FakeConnector` checks.

:func:`settings_for` gives the configuration object ``ConfigurationBotFrameworkAuthentication`` reads, so a
real ``CloudAdapter`` validates incoming tokens against this server and gets outgoing tokens from it, with no
network.

What it takes to make botbuilder 4.17 / MSAL talk to a local server (read from their source):

- Any of the ``TO_BOT_FROM_CHANNEL_*`` / ``TO_CHANNEL_FROM_BOT_*`` settings switches botbuilder to its
  "parameterized" authentication, which reads every endpoint from configuration. Note the key spelling
  ``TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL`` (``OPENID``, not ``OPEN_ID``).
- MSAL only accepts an ``https`` authority, so the server speaks TLS with a certificate from a throwaway CA;
  while the server runs, ``REQUESTS_CA_BUNDLE`` points at a bundle holding that CA plus the previous bundle.
  (requests reads the variable on every call, so MSAL and botframework-connector's metadata fetch trust it.)
- botframework-connector builds MSAL's ``ConfidentialClientApplication`` without ``validate_authority`` (its
  own ``VALIDATE_AUTHORITY`` setting is ignored), so MSAL would ask login.microsoftonline.com to "discover"
  an unknown authority host. An authority whose tenant is ``adfs`` is exempt from instance discovery, so the
  login URL is ``https://127.0.0.1:PORT/adfs``; MSAL then reads ``/adfs/.well-known/openid-configuration``
  here and posts to the ``token_endpoint`` it names.
- botframework-connector fetches OpenID metadata and MSAL fetches tokens with blocking ``requests`` calls on
  the event loop's thread, so the server runs on a thread (and event loop) of its own: on the test's loop
  it would deadlock.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import datetime as dt
import functools
import hashlib
import ipaddress
import os
import shutil
import ssl
import tempfile
import threading
import uuid
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

import jwt
from aiohttp import web
from aiohttp.typedefs import Handler
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# The Bot Connector's own values (botframework.connector.auth.AuthenticationConstants).
CHANNEL_TOKEN_ISSUER = "https://api.botframework.com"
BOT_FRAMEWORK_SCOPE = "https://api.botframework.com"
# Channel ids the signing key vouches for; the real keys list about twenty.
DEFAULT_ENDORSEMENTS = ("msteams", "webchat", "directline", "emulator", "skype")
LOGIN_TENANT = "botframework.com"
# MSAL skips instance discovery for an authority whose tenant is "adfs" (see the module docstring).
MSAL_AUTHORITY_TENANT = "adfs"
CA_BUNDLE_VARIABLE = "REQUESTS_CA_BUNDLE"
BOT_TOKEN_LIFETIME = dt.timedelta(hours=1)


# ---- key material, made once per test process ----


@dataclass(frozen=True)
class KeyMaterial:
    """The RSA signing keys and the TLS certificate chain, generated once per process."""

    signing_key: rsa.RSAPrivateKey
    signing_kid: str
    unknown_key: rsa.RSAPrivateKey  # never published: tokens it signs must be refused
    unknown_kid: str
    directory: Path
    ca_file: Path  # the throwaway CA's certificate (PEM)
    cert_file: Path  # the server's certificate (PEM)
    key_file: Path  # the server's private key (PEM)


def _thumbprint(key: rsa.RSAPrivateKey) -> str:
    """The key's RFC 7638 JWK thumbprint, the kind of ``kid`` Microsoft publishes."""
    numbers = key.public_key().public_numbers()
    canonical = f'{{"e":"{_b64(_int_bytes(numbers.e))}","kty":"RSA","n":"{_b64(_int_bytes(numbers.n))}"}}'
    return _b64(hashlib.sha256(canonical.encode()).digest())


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _int_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def _certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 and localhost, signed by it; returns the PEM paths."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "nextpractice test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(server_key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = directory / "ca.pem"
    cert_file = directory / "server.pem"
    key_file = directory / "server-key.pem"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return ca_file, cert_file, key_file


@functools.cache
def key_material() -> KeyMaterial:
    """The process's keys and certificates (a second or so to make, so only once; removed at exit).

    Fixed for the whole process on purpose: botframework-connector caches OpenID metadata per URL for a day
    (``JwtTokenExtractor.metadataCache``), so a key that changed under a reused port would go unnoticed.
    """
    directory = Path(tempfile.mkdtemp(prefix="nextpractice-teams-auth-"))
    atexit.register(shutil.rmtree, directory, True)
    signing = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    unknown = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_file, cert_file, key_file = _certificates(directory)
    return KeyMaterial(
        signing, _thumbprint(signing), unknown, _thumbprint(unknown), directory, ca_file, cert_file, key_file
    )


def ca_bundle() -> Path:
    """A CA bundle trusting the local server and whatever the process trusted before (written once)."""
    material = key_material()
    bundle = material.directory / "bundle.pem"
    if not bundle.exists():
        previous = os.environ.get(CA_BUNDLE_VARIABLE, "")
        if not previous or previous == str(bundle):
            try:
                import certifi

                previous = certifi.where()
            except ImportError:  # pragma: no cover - requests depends on certifi
                previous = ""
        existing = Path(previous).read_text(encoding="utf-8") if previous and Path(previous).is_file() else ""
        bundle.write_text(material.ca_file.read_text(encoding="utf-8") + "\n" + existing, encoding="utf-8")
    return bundle


def jwk(key: rsa.RSAPrivateKey, kid: str, endorsements: Sequence[str]) -> dict[str, Any]:
    """A JSON Web Key as the Bot Framework publishes it, with its ``endorsements``."""
    numbers = key.public_key().public_numbers()
    return {
        "kty": "RSA",
        "use": "sig",
        "kid": kid,
        "x5t": kid,
        "n": _b64(_int_bytes(numbers.n)),
        "e": _b64(_int_bytes(numbers.e)),
        "endorsements": list(endorsements),
    }


# ---- an aiohttp application on a thread of its own ----


class BackgroundServer:
    """Serves an aiohttp application on 127.0.0.1 (a free port) from its own thread and event loop.

    botbuilder makes some HTTP calls with blocking ``requests`` on the calling event loop's thread (MSAL's
    token request, the OpenID metadata fetch, ``TeamsInfo.get_team_details``): a server on that same loop
    could never answer them. On a thread of its own it always can.
    """

    def __init__(self, app: web.Application, *, ssl_context: ssl.SSLContext | None = None, name: str) -> None:
        self._app = app
        self._ssl_context = ssl_context
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._port = 0
        self._error: BaseException | None = None
        # Every connection's transport, to abort at the end: the clients (requests sessions botbuilder never
        # closes) keep them alive, and a graceful TLS shutdown would outlive the loop (a ResourceWarning).
        self._transports: weakref.WeakSet[asyncio.BaseTransport] = weakref.WeakSet()
        app.middlewares.append(self._track)

    @web.middleware
    async def _track(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.transport is not None:
            self._transports.add(request.transport)
        return await handler(request)

    @property
    def port(self) -> int:
        if not self._port:
            raise RuntimeError(f"{self._name} is not running")
        return self._port

    def start(self) -> None:
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            runner = web.AppRunner(self._app, access_log=None)
            try:
                loop.run_until_complete(runner.setup())
                site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=self._ssl_context)
                loop.run_until_complete(site.start())
                self._port = int(runner.addresses[0][1])
                self._loop = loop
            except BaseException as exc:  # reported to the starting thread
                self._error = exc
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                for transport in list(self._transports):
                    if isinstance(transport, asyncio.Transport):
                        transport.abort()
                loop.run_until_complete(runner.cleanup())
                # Let the closed connections' transports finish closing before the loop goes.
                loop.run_until_complete(asyncio.sleep(0.01))
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=serve, name=self._name, daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError(f"{self._name} did not start within 10 s")
        if self._error is not None:
            raise RuntimeError(f"{self._name} failed to start") from self._error

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._loop = None
        self._thread = None
        self._port = 0


# ---- the local authority ----


@dataclass(frozen=True)
class BotSettings:
    """What ``ConfigurationBotFrameworkAuthentication`` (and its credential factory) read, by attribute.

    Pass an instance as its ``configuration``. Fields left ``None`` are read as "not configured".
    """

    APP_ID: str | None
    APP_PASSWORD: str | None
    APP_TYPE: str = "MultiTenant"  # read with .lower(): must never be None
    APP_TENANTID: str | None = None
    CHANNEL_SERVICE: str | None = None
    # botframework-connector passes this to its credentials but never on to MSAL; kept False for honesty.
    VALIDATE_AUTHORITY: bool = False
    TO_CHANNEL_FROM_BOT_LOGIN_URL: str | None = None
    TO_CHANNEL_FROM_BOT_OAUTH_SCOPE: str | None = None
    TO_BOT_FROM_CHANNEL_TOKEN_ISSUER: str | None = None
    TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL: str | None = None
    TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL: str | None = None
    OAUTH_URL: str | None = None
    CALLER_ID: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The configured values only, e.g. to set as environment variables or to log."""
        return {name: value for name, value in asdict(self).items() if value is not None}


@dataclass
class TokenRequest:
    """One client-credentials request to the token endpoint, as MSAL sent it."""

    client_id: str
    scope: str
    grant_type: str
    granted: bool
    form: dict[str, str] = field(repr=False)


class LocalAuth:
    """The Bot Framework's and Entra ID's auth endpoints on 127.0.0.1, over HTTPS.

    Use as ``with LocalAuth() as auth`` (or ``async with``). ``apps`` maps app ids to client secrets the token
    endpoint accepts (:func:`settings_for` registers its app too). ``endorsements`` are the channel ids the
    published signing key vouches for.
    """

    def __init__(
        self,
        *,
        apps: Mapping[str, str] | None = None,
        endorsements: Sequence[str] = DEFAULT_ENDORSEMENTS,
        channel_issuer: str = CHANNEL_TOKEN_ISSUER,
    ) -> None:
        self.material = key_material()
        self.apps: dict[str, str] = dict(apps or {})
        self.endorsements = tuple(endorsements)
        self.channel_issuer = channel_issuer
        self.token_requests: list[TokenRequest] = []
        self.metadata_requests = 0  # fetches of the channel's OpenID document
        self._lock = threading.Lock()
        self._server: BackgroundServer | None = None
        self._previous_bundle: str | None = None

    # ---- lifecycle ----

    def start(self) -> Self:
        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", self._channel_metadata)
        app.router.add_get("/keys", self._keys)
        app.router.add_get(f"/{MSAL_AUTHORITY_TENANT}/.well-known/openid-configuration", self._login_metadata)
        app.router.add_post(f"/{LOGIN_TENANT}/oauth2/v2.0/token", self._token)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.material.cert_file, self.material.key_file)
        self._server = BackgroundServer(app, ssl_context=context, name="local-bot-framework-auth")
        self._server.start()
        self._previous_bundle = os.environ.get(CA_BUNDLE_VARIABLE)
        os.environ[CA_BUNDLE_VARIABLE] = str(ca_bundle())
        self._forget_cached_metadata()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._forget_cached_metadata()
        self._server.stop()
        self._server = None
        if self._previous_bundle is None:
            os.environ.pop(CA_BUNDLE_VARIABLE, None)
        else:
            os.environ[CA_BUNDLE_VARIABLE] = self._previous_bundle

    def _forget_cached_metadata(self) -> None:
        """Drop botframework-connector's per-URL metadata cache for this server (ports get reused)."""
        from botframework.connector.auth.jwt_token_extractor import JwtTokenExtractor

        JwtTokenExtractor.metadataCache.pop(self.openid_metadata_url, None)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ---- addresses ----

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("LocalAuth is not running: use it as a (async) context manager")
        return f"https://127.0.0.1:{self._server.port}"

    @property
    def openid_metadata_url(self) -> str:
        """``TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL``: the channel's OpenID document."""
        return f"{self.url}/.well-known/openid-configuration"

    @property
    def jwks_url(self) -> str:
        return f"{self.url}/keys"

    @property
    def login_url(self) -> str:
        """``TO_CHANNEL_FROM_BOT_LOGIN_URL``: the authority MSAL gets the bot's tokens from."""
        return f"{self.url}/{MSAL_AUTHORITY_TENANT}"

    @property
    def token_url(self) -> str:
        return f"{self.url}/{LOGIN_TENANT}/oauth2/v2.0/token"

    @property
    def bot_token_issuer(self) -> str:
        """The ``iss`` of the tokens the token endpoint gives bots."""
        return f"{self.url}/{LOGIN_TENANT}/v2.0"

    def register_app(self, app_id: str, password: str) -> None:
        """Let the token endpoint accept ``app_id`` with ``password``."""
        with self._lock:
            self.apps[app_id] = password

    # ---- channel → bot tokens ----

    def channel_token(
        self,
        app_id: str,
        service_url: str,
        *,
        issuer: str | None = None,
        audience: str | None = None,
        lifetime: dt.timedelta = dt.timedelta(hours=1),
        issued_at: dt.datetime | None = None,
        key: Literal["known", "unknown"] = "known",
        kid: str | None = None,
        claims: Mapping[str, Any] | None = None,
    ) -> str:
        """A JWT as the Bot Connector signs it when it posts an activity to the bot ``app_id``.

        ``service_url`` must be the activity's ``serviceUrl`` (botbuilder compares the ``serviceurl`` claim).
        ``key="unknown"`` signs with a key absent from ``/keys``; ``kid`` overrides the header's key id.
        """
        now = issued_at or dt.datetime.now(dt.UTC)
        payload: dict[str, Any] = {
            "serviceurl": service_url,
            "nbf": int(now.timestamp()),
            "exp": int((now + lifetime).timestamp()),
            "iss": issuer or self.channel_issuer,
            "aud": audience or app_id,
            **dict(claims or {}),
        }
        material = self.material
        signer = material.signing_key if key == "known" else material.unknown_key
        key_id = kid or (material.signing_kid if key == "known" else material.unknown_kid)
        return jwt.encode(
            payload, signer, algorithm="RS256", headers={"kid": key_id, "x5t": key_id, "typ": "JWT"}
        )

    def valid_token(self, app_id: str, service_url: str) -> str:
        return self.channel_token(app_id, service_url)

    def expired_token(self, app_id: str, service_url: str) -> str:
        """Expired an hour ago: well beyond botframework-connector's five minutes of clock tolerance."""
        issued = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
        return self.channel_token(app_id, service_url, issued_at=issued, lifetime=dt.timedelta(hours=1))

    def wrong_audience_token(self, app_id: str, service_url: str) -> str:
        """Signed properly, but for another bot."""
        return self.channel_token(app_id, service_url, audience=str(uuid.uuid5(uuid.NAMESPACE_URL, app_id)))

    def wrong_issuer_token(self, app_id: str, service_url: str) -> str:
        """Signed with the published key, but not issued by the Bot Framework."""
        return self.channel_token(app_id, service_url, issuer="https://issuer.invalid/")

    def unknown_key_token(self, app_id: str, service_url: str, *, same_kid: bool = False) -> str:
        """Signed by a key absent from ``/keys``; with ``same_kid`` it claims the published key's id."""
        kid = self.material.signing_kid if same_kid else None
        return self.channel_token(app_id, service_url, key="unknown", kid=kid)

    # ---- bot → channel tokens ----

    def bot_token(self, app_id: str, *, audience: str = BOT_FRAMEWORK_SCOPE) -> str:
        """A token as Entra ID gives ``app_id`` for calling the Bot Connector."""
        now = dt.datetime.now(dt.UTC)
        payload = {
            "aud": audience,
            "iss": self.bot_token_issuer,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int((now + BOT_TOKEN_LIFETIME).timestamp()),
            "appid": app_id,
            "azp": app_id,
            "tid": LOGIN_TENANT,
            "ver": "2.0",
        }
        kid = self.material.signing_kid
        return jwt.encode(payload, self.material.signing_key, algorithm="RS256", headers={"kid": kid})

    def check_bot_token(self, authorization: str | None, *, app_id: str | None = None) -> str:
        """Why a call to the connector with this ``Authorization`` header must be refused, or "" if not.

        The token must come from this server's token endpoint, be unexpired, be for the Bot Framework and,
        when ``app_id`` is given, be that app's.
        """
        if not authorization:
            return "no Authorization header"
        scheme, _, token = authorization.partition(" ")
        if scheme != "Bearer" or not token:
            return f"the Authorization header is not a bearer token ({scheme!r})"
        try:
            claims = jwt.decode(
                token,
                self.material.signing_key.public_key(),
                algorithms=["RS256"],
                audience=BOT_FRAMEWORK_SCOPE,
                issuer=self.bot_token_issuer,
            )
        except jwt.PyJWTError as exc:
            return f"the bearer token is not valid: {exc}"
        if app_id and claims.get("appid") != app_id:
            return f"the bearer token is for app {claims.get('appid')!r}, not {app_id!r}"
        return ""

    # ---- HTTP ----

    async def _channel_metadata(self, request: web.Request) -> web.Response:
        with self._lock:
            self.metadata_requests += 1
        return web.json_response(
            {
                "issuer": self.channel_issuer,
                "authorization_endpoint": "https://invalid.botframework.com",
                "jwks_uri": self.jwks_url,
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            }
        )

    async def _keys(self, request: web.Request) -> web.Response:
        material = self.material
        return web.json_response(
            {"keys": [jwk(material.signing_key, material.signing_kid, self.endorsements)]}
        )

    async def _login_metadata(self, request: web.Request) -> web.Response:
        # What MSAL reads in "tenant discovery": it needs the authorization and token endpoints.
        return web.json_response(
            {
                "issuer": f"{self.url}/{MSAL_AUTHORITY_TENANT}",
                "authorization_endpoint": f"{self.url}/{MSAL_AUTHORITY_TENANT}/oauth2/authorize",
                "token_endpoint": self.token_url,
                "jwks_uri": self.jwks_url,
                "response_types_supported": ["code", "token"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
            }
        )

    async def _token(self, request: web.Request) -> web.Response:
        form = {key: value for key, value in (await request.post()).items() if isinstance(value, str)}
        client_id = form.get("client_id", "")
        scope = form.get("scope", "")
        grant_type = form.get("grant_type", "")
        with self._lock:
            expected = self.apps.get(client_id)
        error: tuple[int, str, str] | None = None
        if grant_type != "client_credentials":
            error = (
                400,
                "unsupported_grant_type",
                f"AADSTS70003: grant type {grant_type!r} is not supported.",
            )
        elif expected is None:
            error = (
                400,
                "unauthorized_client",
                f"AADSTS700016: Application with identifier '{client_id}' was not found in the directory "
                f"'{LOGIN_TENANT}'.",
            )
        elif form.get("client_secret") != expected:
            error = (401, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
        elif not scope.endswith("/.default"):
            error = (
                400,
                "invalid_scope",
                f"AADSTS1002012: The provided value for scope {scope} is not valid.",
            )
        with self._lock:
            self.token_requests.append(TokenRequest(client_id, scope, grant_type, error is None, form))
        if error is not None:
            status, code, description = error
            return web.json_response({"error": code, "error_description": description}, status=status)
        token = self.bot_token(client_id, audience=scope.removesuffix("/.default"))
        lifetime = int(BOT_TOKEN_LIFETIME.total_seconds()) - 1
        return web.json_response(
            {
                "token_type": "Bearer",
                "expires_in": lifetime,
                "ext_expires_in": lifetime,
                "access_token": token,
            }
        )


def bearer(token: str) -> dict[str, str]:
    """The request headers carrying ``token``."""
    return {"Authorization": f"Bearer {token}"}


def settings_for(local_auth: LocalAuth | None, app_id: str | None, app_password: str | None) -> BotSettings:
    """Configuration for ``ConfigurationBotFrameworkAuthentication`` that uses ``local_auth`` both ways.

    Registers ``app_id``/``app_password`` with the token endpoint. With no ``app_id`` (or no ``local_auth``)
    it returns the unauthenticated configuration instead: botbuilder's parameterized authentication
    mishandles a missing ``Authorization`` header when auth is disabled (it tests ``auth_header is None``
    but ``CloudAdapter.process`` passes ``""``, so every request is refused), while the built-in public-cloud
    one accepts it, and with auth disabled it never calls out.
    """
    if local_auth is None or not app_id:
        return BotSettings(APP_ID=app_id or None, APP_PASSWORD=app_password or None)
    local_auth.register_app(app_id, app_password or "")
    return BotSettings(
        APP_ID=app_id,
        APP_PASSWORD=app_password,
        TO_CHANNEL_FROM_BOT_LOGIN_URL=local_auth.login_url,
        TO_CHANNEL_FROM_BOT_OAUTH_SCOPE=BOT_FRAMEWORK_SCOPE,
        TO_BOT_FROM_CHANNEL_TOKEN_ISSUER=local_auth.channel_issuer,
        TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL=local_auth.openid_metadata_url,
        # Emulator- and skill-shaped tokens are checked against this document; never against the internet.
        TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL=local_auth.openid_metadata_url,
        OAUTH_URL=local_auth.url,
    )
