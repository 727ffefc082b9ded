"""The bot's settings, read once from environment variables (see the README's table)."""

from __future__ import annotations

import ipaddress
import math
import os
import re
import secrets
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dialogue.directory import is_entra_id
from dialogue.quiet import QuietHours, parse_quiet
from dialogue.settings import DialogueSettings

SECRET_FILE = "secret.key"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("text", "json")

# People paste URLs as their database host prints them; SQLAlchemy needs the async driver named.
_DRIVERS = {
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
}


# What an OAuth installation asks for: the manifest's bot scopes (manifest/slack.yaml, least privilege).
SLACK_BOT_SCOPES = (
    "channels:history",
    "chat:write",
    "commands",
    "im:history",
    "users:read",
    "usergroups:read",
)


@dataclass(frozen=True)
class SlackOAuth:
    """Multi-workspace mode: workspaces install the app through Slack's OAuth flow (``SLACK_CLIENT_ID``)."""

    client_id: str
    client_secret: str
    scopes: tuple[str, ...] = SLACK_BOT_SCOPES
    qa_team_id: str = ""  # the workspace whose SLACK_QA_CHANNEL_ID receives questions


@dataclass(frozen=True)
class SlackSettings:
    """Slack to serve: one workspace (``SLACK_BOT_TOKEN``) or many through OAuth (``SLACK_CLIENT_ID``)."""

    bot_token: str
    signing_secret: str
    app_token: str = ""  # with it, Socket Mode (no public URL needed)
    api_url: str = "https://slack.com/api/"
    qa_channel_id: str = ""  # the channel questions are posted to
    oauth: SlackOAuth | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SlackSettings | None:
        """None when Slack is not configured; a ``ValueError`` when it is configured by halves."""
        token = env.get("SLACK_BOT_TOKEN", "").strip()
        client_id = env.get("SLACK_CLIENT_ID", "").strip()
        if not token and not client_id:
            return None
        secret = env.get("SLACK_SIGNING_SECRET", "").strip()
        app_token = env.get("SLACK_APP_TOKEN", "").strip()
        api_url = env.get("SLACK_API_URL", "").strip() or "https://slack.com/api/"
        api_url = api_url if api_url.endswith("/") else api_url + "/"
        qa_channel_id = env.get("SLACK_QA_CHANNEL_ID", "").strip()
        if client_id:
            oauth = _oauth(env, client_id, secret, token)
            return cls("", secret, api_url=api_url, qa_channel_id=qa_channel_id, oauth=oauth)
        if not token.startswith("xoxb-"):
            raise ValueError("SLACK_BOT_TOKEN must be the app's bot token, starting xoxb-")
        if not secret and not app_token:
            raise ValueError(
                "with SLACK_BOT_TOKEN, set SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode)"
            )
        if app_token and not app_token.startswith("xapp-"):
            raise ValueError("SLACK_APP_TOKEN must be an app-level token, starting xapp-")
        return cls(token, secret, app_token=app_token, api_url=api_url, qa_channel_id=qa_channel_id)


def _oauth(env: Mapping[str, str], client_id: str, signing_secret: str, bot_token: str) -> SlackOAuth:
    client_secret = env.get("SLACK_CLIENT_SECRET", "").strip()
    if bot_token:
        raise ValueError("set SLACK_CLIENT_ID (many workspaces) or SLACK_BOT_TOKEN (one workspace), not both")
    if not client_secret or not signing_secret:
        raise ValueError(
            "with SLACK_CLIENT_ID, set SLACK_CLIENT_SECRET and SLACK_SIGNING_SECRET too"
            " (OAuth installs need HTTP mode)"
        )
    if env.get("SLACK_APP_TOKEN", "").strip():
        raise ValueError("multi-workspace mode runs over HTTP: unset SLACK_APP_TOKEN (Socket Mode)")
    return SlackOAuth(
        client_id=client_id, client_secret=client_secret, qa_team_id=env.get("SLACK_QA_TEAM_ID", "").strip()
    )


# botbuilder's own configuration names for the Bot Framework endpoints (sovereign clouds, local tests).
TEAMS_ENDPOINT_KEYS = (
    "CHANNEL_SERVICE",
    "TO_CHANNEL_FROM_BOT_LOGIN_URL",
    "TO_CHANNEL_FROM_BOT_OAUTH_SCOPE",
    "TO_BOT_FROM_CHANNEL_TOKEN_ISSUER",
    "TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL",
    "TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL",
    "OAUTH_URL",
)
TEAMS_SERVICE_URL = "https://smba.trafficmanager.net/teams/"  # Teams' global connector, any region


TEAMS_CHANNEL = re.compile(r"^19:[^\s/]+@thread\.(?:tacv2|skype)$")


def _teams_channel(raw: str) -> str:
    """The channel id in ``TEAMS_QA_CHANNEL_ID``, from the id itself or the link *Get link to channel* gives
    (``https://teams.microsoft.com/l/channel/19%3a...%40thread.tacv2/General?groupId=...``), decoded."""
    text = raw.strip()
    if not text:
        return ""
    link = urllib.parse.urlsplit(text)
    if link.scheme in ("http", "https"):
        parts = link.path.split("/")
        text = parts[parts.index("channel") + 1] if "channel" in parts[:-1] else ""
    channel = urllib.parse.unquote(text)
    if not TEAMS_CHANNEL.match(channel):
        raise ValueError(
            "TEAMS_QA_CHANNEL_ID must be a channel id like 19:abc123@thread.tacv2 (or the link Teams gives "
            f"for the channel: ⋯ > Get link to channel), not {raw.strip()!r}"
        )
    return channel


@dataclass(frozen=True)
class TeamsSettings:
    """The Teams bot: set when ``MICROSOFT_APP_ID`` is, or ``TEAMS_UNAUTHENTICATED=1`` for local trials."""

    app_id: str = ""  # empty: no Bot Framework authentication (local development only)
    app_password: str = ""
    app_type: str = "SingleTenant"
    tenant_id: str = ""
    qa_channel_id: str = ""  # the channel questions are posted to (its id, 19:...@thread.tacv2)
    service_url: str = TEAMS_SERVICE_URL
    endpoints: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> TeamsSettings | None:
        """None when Teams is not configured; a ``ValueError`` when it is configured by halves."""
        # Lower case, as Bot Framework's tokens carry the ids: botbuilder compares them as they are.
        app_id = env.get("MICROSOFT_APP_ID", "").strip().lower()
        if not app_id and env.get("MicrosoftAppId", "").strip():
            raise ValueError(
                "MicrosoftAppId is set (the Bot Framework samples' name): this bot reads MICROSOFT_APP_ID, "
                "MICROSOFT_APP_PASSWORD, MICROSOFT_APP_TENANT_ID and MICROSOFT_APP_TYPE"
            )
        if not app_id and env.get("TEAMS_UNAUTHENTICATED", "").strip() not in ("1", "true", "yes"):
            return None
        app_type = env.get("MICROSOFT_APP_TYPE", "").strip() or "SingleTenant"
        tenant = env.get("MICROSOFT_APP_TENANT_ID", "").strip().lower()
        if app_type not in ("SingleTenant", "MultiTenant", "UserAssignedMSI"):
            raise ValueError("MICROSOFT_APP_TYPE must be SingleTenant, MultiTenant or UserAssignedMSI")
        for name, value, where in (
            ("MICROSOFT_APP_ID", app_id, "the Azure Bot's Configuration page"),
            ("MICROSOFT_APP_TENANT_ID", tenant, "the app registration's Overview page"),
        ):
            if value and not is_entra_id(value):
                raise ValueError(
                    f"{name} must be a GUID like 5a0c1d9e-3b2f-4c1a-9e8d-7f6a5b4c3d2e, from {where}, not "
                    f"{value!r}"
                )
        if app_id and app_type == "SingleTenant" and not tenant:
            raise ValueError("a SingleTenant bot needs MICROSOFT_APP_TENANT_ID (the Azure directory id)")
        if app_id and app_type != "UserAssignedMSI" and not env.get("MICROSOFT_APP_PASSWORD", "").strip():
            raise ValueError("with MICROSOFT_APP_ID, set MICROSOFT_APP_PASSWORD (the client secret)")
        return cls(
            app_id=app_id,
            app_password=env.get("MICROSOFT_APP_PASSWORD", "").strip(),
            app_type=app_type,
            tenant_id=tenant,
            qa_channel_id=_teams_channel(env.get("TEAMS_QA_CHANNEL_ID", "")),
            service_url=env.get("TEAMS_SERVICE_URL", "").strip() or TEAMS_SERVICE_URL,
            endpoints=tuple(
                (key, env[key].strip()) for key in TEAMS_ENDPOINT_KEYS if env.get(key, "").strip()
            ),
        )


@dataclass(frozen=True)
class Settings:
    """Everything configurable, with the defaults a first install gets."""

    data_dir: Path
    secret_key: bytes
    database_url: str | None = None
    min_group_size: int = 5
    overdue_days: int = 5
    premoderate_anonymous: bool = False
    qa_channel: str = "qa"
    log_level: str = "INFO"
    log_format: str = "text"  # "json": one JSON object per line
    delivery_lease_seconds: int = 120
    retention_days: int | None = None  # serve deletes messages sent longer ago than this; None: kept
    quiet_hours: QuietHours | None = None  # when messages nobody asked for wait (dialogue.quiet)
    # Messages a second per platform; None: the platform's published limit. 0: no pacing (local fakes only).
    slack_rate: float | None = None  # messages a second; None: the platform's published limit; 0: no pacing
    teams_rate: float | None = None
    host: str = "0.0.0.0"
    port: int = 3000
    slack: SlackSettings | None = None
    teams: TeamsSettings | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the settings; a bad value raises ``ValueError`` naming the variable and what it needs.

        Without ``NEXTPRACTICE_SECRET_KEY`` a random key is generated once into the data
        directory (readable by the owner only) and reused on every later start; not for PostgreSQL,
        whose database is shared by replicas and commands run elsewhere.
        """
        env = os.environ if env is None else env
        data_dir = Path(env.get("NEXTPRACTICE_DATA_DIR") or "data")
        url = _database_url(env.get("DATABASE_URL", ""))
        teams = TeamsSettings.from_env(env)
        return cls(
            data_dir=data_dir,
            secret_key=_secret(env.get("NEXTPRACTICE_SECRET_KEY", ""), data_dir, url),
            database_url=url,
            min_group_size=_int(env, "NEXTPRACTICE_MIN_GROUP_SIZE", 5, minimum=2),
            overdue_days=_int(env, "NEXTPRACTICE_OVERDUE_DAYS", 5, minimum=1),
            premoderate_anonymous=_bool(env, "NEXTPRACTICE_PREMODERATE", False),
            qa_channel=(env.get("NEXTPRACTICE_QA_CHANNEL") or "qa").strip().lstrip("#"),
            log_level=_choice(env, "NEXTPRACTICE_LOG_LEVEL", "INFO", LOG_LEVELS),
            log_format=_choice(env, "NEXTPRACTICE_LOG_FORMAT", "text", LOG_FORMATS),
            delivery_lease_seconds=_int(env, "NEXTPRACTICE_DELIVERY_LEASE_SECONDS", 120, minimum=1),
            retention_days=_int(env, "NEXTPRACTICE_RETENTION_DAYS", 0, minimum=1, maximum=3660) or None,
            quiet_hours=_quiet(env, "NEXTPRACTICE_QUIET_HOURS"),
            slack_rate=_rate(env, "NEXTPRACTICE_SLACK_RATE"),
            teams_rate=_rate(env, "NEXTPRACTICE_TEAMS_RATE"),
            host=_host(env, teams),
            port=_int(env, "PORT", 3000, minimum=0, maximum=65535),
            slack=SlackSettings.from_env(env),
            teams=teams,
        )

    @property
    def has_platform(self) -> bool:
        """Whether Slack or Teams is configured (without either, only the console reaches people)."""
        return self.slack is not None or self.teams is not None

    def dialogue_settings(self) -> DialogueSettings:
        """The part of the settings the core reads."""
        return DialogueSettings(
            min_group_size=self.min_group_size,
            overdue_days=self.overdue_days,
            premoderate_anonymous=self.premoderate_anonymous,
            qa_channel=self.qa_channel,
            quiet_hours=self.quiet_hours,
        )


def _host(env: Mapping[str, str], teams: TeamsSettings | None) -> str:
    """Where serve listens: every interface, but only this machine while Teams runs without token checks
    (anyone who could reach the port could post as anyone, a director included)."""
    host = env.get("NEXTPRACTICE_HOST", "").strip()
    if teams is None or teams.app_id:
        return host or "0.0.0.0"
    if host and host != "localhost" and not _loopback(host):
        raise ValueError(
            f"TEAMS_UNAUTHENTICATED=1 checks no tokens, so serve listens on this machine only: unset "
            f"NEXTPRACTICE_HOST (or set 127.0.0.1), not {host}, or set MICROSOFT_APP_ID and its password"
        )
    return host or "127.0.0.1"


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _database_url(raw: str) -> str | None:
    url = raw.strip()
    if not url:
        return None
    scheme, sep, rest = url.partition("://")
    # Neither message quotes the URL: it may hold a password.
    if not sep:
        raise ValueError(
            "DATABASE_URL must look like postgresql://user@host/db; the one given has no scheme://"
        )
    driver = _DRIVERS.get(scheme.lower(), scheme.lower())
    if driver not in _DRIVERS.values():
        raise ValueError(
            f"DATABASE_URL must be a PostgreSQL (postgresql://user@host/db) or SQLite (sqlite:///path) URL, "
            f"not {scheme}://"
        )
    if driver == _DRIVERS["postgresql"]:
        rest = _asyncpg_options(rest)
    return f"{driver}://{rest}"


# What asyncpg.connect takes from a URL's query, as SQLAlchemy passes it on; libpq's sslmode is its ssl.
_ASYNCPG_OPTIONS = frozenset(
    {"ssl", "direct_tls", "target_session_attrs", "passfile", "krbsrvname", "gsslib"}
)


def _asyncpg_options(rest: str) -> str:
    """The query of a PostgreSQL URL as the asyncpg driver takes it: hosts print libpq's ``sslmode=require``,
    which asyncpg calls ``ssl``; an option it does not take is refused here by name, not by a traceback."""
    where, sep, query = rest.partition("?")
    if not sep:
        return rest
    options = urllib.parse.parse_qsl(query, keep_blank_values=True)
    renamed = [("ssl" if key == "sslmode" else key, value) for key, value in options]
    unknown = sorted({key for key, _ in renamed} - _ASYNCPG_OPTIONS)
    if unknown:
        raise ValueError(
            f"DATABASE_URL option {', '.join(unknown)} is not understood by the bot's PostgreSQL driver "
            "(asyncpg); it takes sslmode (or ssl), target_session_attrs and passfile. Certificates come from "
            "PGSSLROOTCERT, PGSSLCERT and PGSSLKEY; remove the option from the URL."
        )
    return f"{where}?{urllib.parse.urlencode(renamed)}"


def _secret(raw: str, data_dir: Path, database_url: str | None) -> bytes:
    if raw:
        if len(raw.encode()) < 16:
            raise ValueError("NEXTPRACTICE_SECRET_KEY must be at least 16 characters long")
        return raw.encode()
    path = data_dir / SECRET_FILE
    if path.exists():
        return path.read_bytes().strip()
    if database_url is not None and not database_url.startswith("sqlite"):
        # A key made up here would be locked into the shared database by the first command run (often a
        # one-off `directory import` in a throwaway container), and every replica then needs it.
        raise ValueError(
            "With PostgreSQL, set NEXTPRACTICE_SECRET_KEY (at least 16 characters, e.g. the output of "
            "python3 -c 'import secrets; print(secrets.token_hex(32))') before the first command, the same "
            f"for every replica and command; or put it in {path}. The database keeps the first key used."
        )
    key = secrets.token_hex(32).encode()
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        # Created owner-only from the start, so the key is never readable by others even briefly.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(key)
    except OSError as exc:  # a read-only container, a mistyped folder
        raise ValueError(
            f"cannot write the generated anonymity key to {path} ({exc.strerror}): set NEXTPRACTICE_DATA_DIR "
            "to a folder the bot may write, or set NEXTPRACTICE_SECRET_KEY"
        ) from None
    return key


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int, maximum: int | None = None) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, not {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be at most {maximum}, not {value}")
    return value


def _rate(env: Mapping[str, str], name: str) -> float | None:
    """Messages a second, decimals allowed (Slack's 10 shared by four replicas is 2.5); 0 is no pacing."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of messages a second, not {raw!r}") from None
    if not 0 <= value < math.inf:
        raise ValueError(f"{name} must be 0 (no pacing) or more, not {raw}")
    return value


def _quiet(env: Mapping[str, str], name: str) -> QuietHours | None:
    raw = env.get(name, "").strip()
    if not raw or raw.lower() in ("off", "none"):
        return None
    try:
        return parse_quiet(raw)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}, in each person's own time") from None


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be true or false, not {raw!r}")


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = env.get(name, "").strip() or default
    # Matched without regard to case, and given back as the choices spell it (INFO, json).
    raw = next((choice for choice in choices if choice.lower() == raw.lower()), raw)
    if raw not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, not {raw!r}")
    return raw
