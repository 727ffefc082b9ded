"""A local Bot Framework Connector (REST API v3, with Teams' extensions) for tests.

``FakeConnector`` is an aiohttp server on 127.0.0.1 at a free port. Use :attr:`FakeConnector.url` as the
``serviceUrl`` of the activities a test posts to the bot, or of the conversation references it continues:
botframework-connector's ``ConnectorClient`` (and so botbuilder's ``CloudAdapter`` and ``TeamsInfo``) then
calls it instead of ``smba.trafficmanager.net``. It

- records every call in :attr:`FakeConnector.calls` (operation, method, path, query, JSON body, headers,
  status) and every activity it accepted in :attr:`FakeConnector.activities`;
- answers like the connector, with ids of its own: ``POST /v3/conversations`` gives a one-to-one conversation
  the same ``a:1...`` id every time for the same user (as Teams does) or starts a channel thread
  (``19:...;messageid=...``); sent and replied activities get message ids; updates and deletes need a
  message it holds (else 404);
- validates every request body against the operation's schema in ``ConnectorAPI.json`` (the ``Activity``,
  ``ConversationParameters``... definitions; Swagger 2.0 read as JSON Schema draft 4 with jsonschema, refs
  resolved; a bare ``"type": "object"`` read as any value, as AutoRest does), plus the rules the real
  service applies that the schema does not say (below). Problems land in
  :attr:`FakeConnector.violations` and the call is answered 400, so tests end with
  ``assert fake.violations == []``;
- serves a roster (``TeamsChannelAccount`` dicts, see :func:`tests.teams.activities.make_member`) from
  ``/members``, ``/members/{id}`` and ``/pagedmembers``, and teams (:class:`tests.teams.activities.Team`)
  from ``/v3/teams/{id}`` and ``/v3/teams/{id}/conversations`` (what ``TeamsInfo`` calls);
- can be told to answer the next calls with 429 and ``Retry-After``, with a 5xx, or any status; and to refuse
  a user or conversation with 403 ``ConversationBlockedByUser`` from then on (the user blocked or removed the
  app), as Teams does;
- with ``auth`` (a :class:`tests.teams.tokens.LocalAuth`), refuses with 401 any call whose
  ``Authorization: Bearer`` token that server did not issue to ``app_id`` (also a violation).

It serves from a thread of its own (see :class:`tests.teams.tokens.BackgroundServer`): ``TeamsInfo``'s team
calls use botframework-connector's synchronous client, which blocks the event loop while it waits.
:meth:`FakeConnector.wait_for` waits for the bot's activities without sleeping.

Rules beyond the schema (Teams' documented behaviour, as this fake reads it):

- every activity needs a ``type``; a ``message`` needs ``text``, ``attachments`` or ``suggestedActions``; an
  Adaptive Card attachment's content is an ``AdaptiveCard`` object with a ``version``; a request over 28 KB is
  refused with 413 ``MessageSizeTooBig``;
- the ``conversation.id`` inside an activity must be the conversation of the URL; an update must be a message
  and carry the id of the URL;
- creating a conversation needs the ``bot``, the tenant (``tenantId`` or ``channelData.tenant.id``), and
  either exactly one member (a one-to-one chat) or ``channelData.channel.id`` (a new post in a channel):
  Teams bots cannot start group chats.

The page size of ``/pagedmembers`` is the requested ``pageSize`` (default 200, at most 500).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from aiohttp import web
from jsonschema import Draft4Validator, FormatChecker

from tests.fake_faults import Faults
from tests.fake_limits import Limits
from tests.reference import TEAMS
from tests.teams.activities import APP_ID, Team, make_member, personal_conversation_id
from tests.teams.tokens import BackgroundServer, LocalAuth

__all__ = [
    "ROUTES",
    "SPEC_PATH",
    "Call",
    "Delivered",
    "FakeConnector",
    "check_activity",
    "check_body",
    "load_spec",
    "make_member",
    "teams_limits",
]

SPEC_PATH = TEAMS / "spec" / "ConnectorAPI.json"
FIRST_MESSAGE_ID = 1_700_000_000_000
MAX_BODY_BYTES = 28 * 1024
DEFAULT_PAGE_SIZE = 200
MAX_PAGE_SIZE = 500
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
UNAUTHORIZED = {"message": "Authorization has been denied for this request."}
BLOCKED_MESSAGE = "User blocked the conversation with the bot."

# The body each operation takes, by its definition in ConnectorAPI.json.
BODY_DEFINITIONS: Mapping[str, str] = {
    "create_conversation": "ConversationParameters",
    "send_to_conversation": "Activity",
    "send_conversation_history": "Transcript",
    "reply_to_activity": "Activity",
    "update_activity": "Activity",
    "upload_attachment": "AttachmentData",
}
# Operations that deliver an activity the bot wants shown.
DELIVERING = frozenset(
    {"create_conversation", "send_to_conversation", "reply_to_activity", "update_activity"}
)

Json = dict[str, Any]


# ---- the specification ----


@functools.cache
def load_spec(path: Path = SPEC_PATH) -> Json:
    """ConnectorAPI.json, read once per test session."""
    spec: Json = json.loads(path.read_text(encoding="utf-8"))
    return spec


_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", re.IGNORECASE)
_FORMATS = FormatChecker(formats=())


def _is_date_time(value: object) -> bool:
    """RFC 3339 date-times (jsonschema only checks them with an optional package installed)."""
    return not isinstance(value, str) or _DATE_TIME.match(value) is not None


_FORMATS.checks("date-time")(_is_date_time)


@functools.cache
def validator_for(definition: str, path: Path = SPEC_PATH) -> Draft4Validator:
    """A JSON Schema validator for one Swagger definition, its ``#/definitions/...`` refs resolved.

    Swagger 2.0 schemas are a subset of JSON Schema draft 4; the document's ``definitions`` sit beside the
    root ``$ref`` so refs resolve inside it. Swagger's own keywords (``x-ms-enum``...) are ignored.
    """
    definitions = _any_for_bare_objects(load_spec(path)["definitions"])
    if definition not in definitions:
        raise KeyError(f"no definition {definition!r} in {path.name}")
    schema = {"$ref": f"#/definitions/{definition}", "definitions": definitions}
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema, format_checker=_FORMATS)


def _any_for_bare_objects(node: Any) -> Any:
    """The definitions with each bare ``"type": "object"`` (no properties) made "any JSON value".

    That is how AutoRest, which generated the connector's clients and service models from this document, reads
    it: ``channelData``, ``value`` and ``Attachment.content`` are free-form, and Teams itself sends string
    ``content`` (the text/html attachment of a channel message).
    """
    if isinstance(node, list):
        return [_any_for_bare_objects(item) for item in node]
    if not isinstance(node, dict):
        return node
    copy = {key: _any_for_bare_objects(value) for key, value in node.items()}
    if copy.get("type") == "object" and not {"properties", "additionalProperties", "$ref"} & copy.keys():
        del copy["type"]
    return copy


def _schema_problems(definition: str, value: Any, path: Path = SPEC_PATH) -> list[str]:
    problems = []
    for error in sorted(
        validator_for(definition, path).iter_errors(value), key=lambda e: [str(p) for p in e.absolute_path]
    ):
        where = "/".join(str(part) for part in error.absolute_path) or "(body)"
        message = error.message if len(error.message) <= 200 else error.message[:197] + "..."
        problems.append(f"{where}: {message}")
    return problems


def check_activity(activity: Any, path: Path = SPEC_PATH) -> list[str]:
    """Problems with an activity: the ``Activity`` schema, then the connector's own rules."""
    return _schema_problems("Activity", activity, path) + _activity_rule_problems(activity)


def _activity_rule_problems(activity: Any) -> list[str]:
    """What the connector refuses that the ``Activity`` schema does not say."""
    if not isinstance(activity, dict):
        return []
    problems = []
    kind = activity.get("type")
    if not kind:
        problems.append("type: an activity needs a type")
    if kind == "message" and not any(
        activity.get(name) for name in ("text", "attachments", "suggestedActions")
    ):
        problems.append("a message needs text, attachments or suggestedActions (Teams refuses an empty one)")
    for index, attachment in enumerate(activity.get("attachments") or []):
        if isinstance(attachment, dict) and attachment.get("contentType") == ADAPTIVE_CARD:
            content = attachment.get("content")
            if not isinstance(content, dict) or content.get("type") != "AdaptiveCard":
                problems.append(
                    f"attachments/{index}/content: an Adaptive Card must be an AdaptiveCard object"
                )
            elif not isinstance(content.get("version"), str):
                problems.append(
                    f"attachments/{index}/content/version: a top-level Adaptive Card needs a version"
                )
    return problems


def check_body(operation: str, body: Any, path: Path = SPEC_PATH) -> list[str]:
    """Problems with the body of a call of ``operation`` (schema and rules); [] for bodiless operations."""
    definition = BODY_DEFINITIONS.get(operation)
    if definition is None:
        return []
    if definition == "Activity":
        return check_activity(body, path)
    problems = _schema_problems(definition, body, path)
    if operation == "create_conversation" and isinstance(body, dict):
        problems.extend(_conversation_parameter_problems(body))
    return problems


def _conversation_parameter_problems(parameters: Json) -> list[str]:
    problems = []
    channel_data = parameters.get("channelData") if isinstance(parameters.get("channelData"), dict) else {}
    # botbuilder-python serializes tenant_id as "tenantID"; the service reads JSON names case-insensitively.
    tenant = next((v for k, v in parameters.items() if k.lower() == "tenantid"), None)
    tenant = tenant or _dig(channel_data, "tenant", "id")
    if not tenant:
        problems.append("tenantId: Teams needs the tenant (tenantId or channelData.tenant.id)")
    if not _dig(parameters, "bot", "id"):
        problems.append("bot: the bot's account (28:<app id>) is required")
    members = parameters.get("members") or []
    if not _dig(channel_data, "channel", "id") and len(members) != 1:
        problems.append(
            f"members: a bot can only start a one-to-one chat (one member) or a channel post "
            f"(channelData.channel.id); got {len(members)} members"
        )
    # The schema already checked the activity inside (ConversationParameters refers to Activity).
    problems.extend(f"activity/{problem}" for problem in _activity_rule_problems(parameters.get("activity")))
    return problems


def _ids_of(member: Any) -> set[str]:
    """The ids a member goes by: their ``29:`` id and Entra object id."""
    if not isinstance(member, dict):
        return set()
    return {str(member[name]) for name in ("id", "aadObjectId") if member.get(name)}


def _dig(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def teams_limits(per_second: int = 50) -> Limits:
    """Teams' published bot limits: per app per tenant ``per_second`` requests a second (every request counts:
    "sending messages, channel enumerations, and roster fetches"), and per bot per conversation 7 in 1 s, 8 in
    2 s, 60 in 30 s and 1800 in an hour
    (https://learn.microsoft.com/microsoftteams/platform/bots/how-to/rate-limit).
    """
    return Limits(app=((per_second, 1.0),), conversation=((7, 1.0), (8, 2.0), (60, 30.0), (1800, 3600.0)))


# ---- records ----


@dataclass
class Call:
    """One request to the connector and the status it got."""

    operation: str
    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str] = field(repr=False)
    status: int = 0
    at: float = field(default_factory=time.monotonic)  # when it arrived, on the monotonic clock

    @property
    def authorization(self) -> str:
        return self.headers.get("Authorization", "")


@dataclass(frozen=True)
class Delivered:
    """An activity the connector accepted: what the bot sent, where, and the message id it got."""

    operation: str  # create_conversation, send_to_conversation, reply_to_activity or update_activity
    conversation_id: str
    activity_id: str
    activity: Json


@dataclass
class _Failure:
    remaining: int
    status: int
    code: str
    message: str
    headers: Mapping[str, str]
    conversation_id: str | None


class _Refusal(Exception):
    def __init__(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status)
        self.response = web.json_response(body, status=status, headers=dict(headers or {}))


def _error(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> _Refusal:
    return _Refusal(status, {"error": {"code": code, "message": message}}, headers)


# ---- the fake ----

ROUTES: tuple[tuple[str, str, str], ...] = (
    ("GET", "/v3/conversations", "get_conversations"),
    ("POST", "/v3/conversations", "create_conversation"),
    ("POST", "/v3/conversations/{conversation_id}/activities/history", "send_conversation_history"),
    ("POST", "/v3/conversations/{conversation_id}/activities", "send_to_conversation"),
    ("POST", "/v3/conversations/{conversation_id}/activities/{activity_id}", "reply_to_activity"),
    ("PUT", "/v3/conversations/{conversation_id}/activities/{activity_id}", "update_activity"),
    ("DELETE", "/v3/conversations/{conversation_id}/activities/{activity_id}", "delete_activity"),
    ("GET", "/v3/conversations/{conversation_id}/activities/{activity_id}/members", "get_activity_members"),
    ("GET", "/v3/conversations/{conversation_id}/members", "get_conversation_members"),
    ("GET", "/v3/conversations/{conversation_id}/members/{member_id}", "get_conversation_member"),
    ("DELETE", "/v3/conversations/{conversation_id}/members/{member_id}", "delete_conversation_member"),
    ("GET", "/v3/conversations/{conversation_id}/pagedmembers", "get_conversation_paged_members"),
    ("POST", "/v3/conversations/{conversation_id}/attachments", "upload_attachment"),
    ("GET", "/v3/teams/{team_id}", "get_team_details"),
    ("GET", "/v3/teams/{team_id}/conversations", "get_teams_channels"),
)


class FakeConnector:
    """A Bot Framework Connector on 127.0.0.1; use as ``async with FakeConnector() as fake``.

    ``members`` is the roster of every conversation and team without one of its own (see :meth:`set_roster`);
    ``teams`` are served by the team endpoints. With ``auth``, calls need a bearer token ``auth`` issued to
    ``app_id`` (any app, if ``app_id`` is None); without it, tokens are not looked at (auth disabled).

    Opt-in, for benchmarks: ``limits`` enforces Teams' rate limits on every request (see :func:`teams_limits`)
    with 429 and ``Retry-After``; ``validate=False`` skips the per-call schema checks (CPU heavy).
    ``faults`` (see :class:`tests.fake_faults.Faults`) refuses a seeded random share of the calls that deliver
    activities (create, send, reply, update) with 429 and ``Retry-After`` or with a 5xx.
    """

    def __init__(
        self,
        *,
        members: Iterable[Mapping[str, Any]] = (),
        teams: Iterable[Team] = (),
        auth: LocalAuth | None = None,
        app_id: str | None = None,
        spec_path: Path = SPEC_PATH,
        limits: Limits | None = None,
        validate: bool = True,
        faults: Faults | None = None,
    ) -> None:
        self.members: list[Json] = [dict(member) for member in members]
        self.limits = limits
        self.faults = faults
        self.validate = validate
        self.rosters: dict[str, list[Json]] = {}
        self.teams: dict[str, Team] = {team.id: team for team in teams}
        self.auth = auth
        self.app_id = app_id
        self.calls: list[Call] = []
        self.activities: list[Delivered] = []
        self.violations: list[str] = []
        self._spec_path = spec_path
        self._messages: dict[tuple[str, str], Json] = {}  # (conversation, message id) -> current activity
        self.deleted: list[tuple[str, str]] = []  # (conversation, message id) of each delete accepted
        self._failures: list[_Failure] = []
        self._blocked: dict[str, tuple[str, str]] = {}  # user or conversation id -> (code, message)
        self._message_ids = itertools.count(FIRST_MESSAGE_ID + 1)
        self._lock = threading.RLock()
        self._wakers: list[Callable[[], None]] = []
        self._server: BackgroundServer | None = None
        load_spec(spec_path)

    # ---- lifecycle ----

    def start(self) -> Self:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        for method, route, operation in ROUTES:
            app.router.add_route(method, route, functools.partial(self._handle, operation=operation))
        app.router.add_route("*", "/{tail:.*}", functools.partial(self._handle, operation=""))
        self._server = BackgroundServer(app, name="fake-bot-connector")
        self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

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

    @property
    def url(self) -> str:
        """The service URL, with the trailing slash Teams' service URLs have: ``http://127.0.0.1:PORT/``."""
        if self._server is None:
            raise RuntimeError("FakeConnector is not running: use it as an async context manager")
        return f"http://127.0.0.1:{self._server.port}/"

    # ---- seeding ----

    def set_roster(self, conversation_id: str, members: Iterable[Mapping[str, Any]]) -> None:
        """The members of one conversation, or of a team (by team id: all its channels)."""
        with self._lock:
            self.rosters[conversation_id] = [dict(member) for member in members]

    def add_team(self, team: Team, members: Iterable[Mapping[str, Any]] | None = None) -> None:
        """Serve ``team`` (with ``members`` as its roster, else the default roster)."""
        with self._lock:
            self.teams[team.id] = team
            if members is not None:
                self.rosters[team.id] = [dict(member) for member in members]

    def roster(self, conversation_id: str) -> list[Json]:
        """Who is in a conversation: its own roster, its team's, or the default one."""
        with self._lock:
            base = conversation_id.split(";", 1)[0]
            for key in (conversation_id, base):
                if key in self.rosters:
                    return list(self.rosters[key])
            for team in self.teams.values():
                if base in {channel_id for channel_id, _ in team.channels} | {team.id}:
                    return list(self.rosters.get(team.id, self.members))
            return list(self.members)

    # ---- scripting ----

    def fail_next(
        self,
        n: int = 1,
        *,
        status: int,
        code: str,
        message: str = "",
        headers: Mapping[str, str] | None = None,
        conversation_id: str | None = None,
    ) -> None:
        """Answer the next ``n`` calls (only those about ``conversation_id``, if given) with an error."""
        with self._lock:
            self._failures.append(
                _Failure(n, status, code, message or code, dict(headers or {}), conversation_id)
            )

    def rate_limit_next(
        self, n: int = 1, *, retry_after: int = 1, conversation_id: str | None = None
    ) -> None:
        """Answer the next ``n`` calls with 429 and ``Retry-After`` (seconds), as the connector throttles."""
        self.fail_next(
            n,
            status=429,
            code="Throttled",
            message="Too many requests.",
            headers={"Retry-After": str(retry_after)},
            conversation_id=conversation_id,
        )

    def server_error_next(self, n: int = 1, *, status: int = 503, conversation_id: str | None = None) -> None:
        """Answer the next ``n`` calls with a server error (502 ServiceError, 503, 504 GatewayTimeout...)."""
        codes = {
            500: "InternalServerError",
            502: "ServiceError",
            503: "ServiceUnavailable",
            504: "GatewayTimeout",
        }
        self.fail_next(
            n, status=status, code=codes.get(status, "ServiceError"), conversation_id=conversation_id
        )

    def block(
        self,
        *,
        user_id: str | None = None,
        conversation_id: str | None = None,
        code: str = "ConversationBlockedByUser",
        message: str = BLOCKED_MESSAGE,
    ) -> None:
        """From now on refuse with 403 every call about this user (by ``29:`` id or ``aadObjectId``:
        creating a chat with them, or any call in a conversation they are in) or this conversation, as Teams
        does once a user blocked or removed the app. ``code`` may be e.g. ``BotNotInConversationRoster``."""
        if not user_id and not conversation_id:
            raise ValueError("block a user_id or a conversation_id")
        with self._lock:
            for key in (user_id, conversation_id):
                if key:
                    self._blocked[key] = (code, message)

    def unblock(self, *, user_id: str | None = None, conversation_id: str | None = None) -> None:
        with self._lock:
            for key in (user_id, conversation_id):
                if key:
                    self._blocked.pop(key, None)

    # ---- reading what happened ----

    def calls_to(self, operation: str) -> list[Call]:
        """Every call of one operation (``send_to_conversation``, ``get_team_details``...), in order."""
        with self._lock:
            return [call for call in self.calls if call.operation == operation]

    def conversation(self, conversation_id: str) -> list[Json]:
        """The messages in a conversation as they stand now (updates applied, deleted ones gone), in order."""
        with self._lock:
            return [
                activity
                for (conversation, _), activity in self._messages.items()
                if conversation == conversation_id
            ]

    def message(self, conversation_id: str, activity_id: str) -> Json | None:
        """One message as it stands now, or None if it was never sent or was deleted."""
        with self._lock:
            return self._messages.get((conversation_id, activity_id))

    async def wait_for(
        self,
        n: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - the wait is the point of this method
        *,
        where: Callable[[Delivered], bool] | None = None,
    ) -> list[Delivered]:
        """Wait until the connector accepted at least ``n`` activities (matching ``where``); return them all.

        Raises AssertionError after ``timeout`` seconds, saying what did arrive.
        """
        loop = asyncio.get_running_loop()
        arrived = asyncio.Event()

        def wake() -> None:
            with contextlib.suppress(RuntimeError):  # the waiting loop is gone
                loop.call_soon_threadsafe(arrived.set)

        with self._lock:
            self._wakers.append(wake)
        try:
            async with asyncio.timeout(timeout):
                while True:
                    with self._lock:
                        matching = [d for d in self.activities if where is None or where(d)]
                    if len(matching) >= n:
                        return matching
                    await arrived.wait()
                    arrived.clear()
        except TimeoutError:
            with self._lock:
                seen = [(call.method, call.path, call.status) for call in self.calls]
                violations = list(self.violations)
            raise AssertionError(
                f"waited {timeout} s for {n} activities, got {len(matching)}; calls: {seen}; "
                f"violations: {violations}"
            ) from None
        finally:
            with self._lock:
                self._wakers.remove(wake)

    # ---- HTTP ----

    async def _handle(self, request: web.Request, *, operation: str) -> web.StreamResponse:
        raw = await request.read()
        body: Any = None
        problems: list[str] = []
        if raw:
            if request.content_type != "application/json":
                problems.append(f"the body must be JSON, not {request.content_type!r}")
            try:
                body = json.loads(raw)
            except (UnicodeDecodeError, json.JSONDecodeError):
                problems.append("the body is not valid JSON")
        call = Call(
            operation=operation or "unknown",
            method=request.method,
            path=request.path,
            query=dict(request.query),
            body=body,
            headers=dict(request.headers),
        )
        with self._lock:
            self.calls.append(call)
        label = f"{request.method} {request.path}"
        if not operation:
            with self._lock:
                self.violations.append(f"{label}: no such operation in the Connector API")
            response: web.StreamResponse = web.json_response(
                {"error": {"code": "NotFound", "message": "No such operation."}}, status=404
            )
            call.status = response.status
            return response
        info = dict(request.match_info)
        if body is not None or operation in BODY_DEFINITIONS:
            if operation in BODY_DEFINITIONS and body is None and not problems:
                problems.append("a body is required")
            elif body is not None and self.validate:
                problems.extend(check_body(operation, body, self._spec_path))
                problems.extend(self._route_problems(operation, info, body))
        try:
            with self._lock:
                self.violations.extend(f"{label}: {problem}" for problem in problems)
                self._check_auth(label, request.headers.get("Authorization"))
                target = self._target(operation, info, body)
                self._check_scripted(target)
                self._check_limits(target)
                self._check_faults(operation, target)
                self._check_blocked(operation, target, body)
                if problems:
                    raise _error(400, "BadArgument", "; ".join(problems))
                if len(raw) > MAX_BODY_BYTES and operation in DELIVERING:
                    self.violations.append(f"{label}: the request is {len(raw)} bytes, over Teams' 28 KB")
                    raise _error(413, "MessageSizeTooBig", "The size of the incoming request was too large.")
                response = self._respond(operation, info, request.query, body)
        except _Refusal as refusal:
            response = refusal.response
        call.status = response.status
        return response

    def _route_problems(self, operation: str, info: Mapping[str, str], body: Any) -> list[str]:
        if not isinstance(body, dict) or operation not in (
            "send_to_conversation",
            "reply_to_activity",
            "update_activity",
        ):
            return []
        problems = []
        in_body = _dig(body, "conversation", "id")
        if in_body is not None and in_body != info["conversation_id"]:
            problems.append(f"conversation.id {in_body!r} is not the conversation of the URL")
        if operation == "update_activity":
            if body.get("type") != "message":
                problems.append("only a message can be updated")
            if body.get("id") not in (None, info["activity_id"]):
                problems.append(f"id {body.get('id')!r} is not the activity of the URL")
        return problems

    def _check_auth(self, label: str, authorization: str | None) -> None:
        if self.auth is None:
            return
        problem = self.auth.check_bot_token(authorization, app_id=self.app_id)
        if problem:
            self.violations.append(f"{label}: 401, {problem}")
            raise _Refusal(401, UNAUTHORIZED)

    def _target(self, operation: str, info: Mapping[str, str], body: Any) -> str | None:
        """The conversation a call is about; for a new one-to-one chat, the id it will have."""
        if "conversation_id" in info:
            return info["conversation_id"]
        if "team_id" in info:
            return info["team_id"]
        if operation == "create_conversation" and isinstance(body, dict):
            members = body.get("members") or []
            if len(members) == 1 and isinstance(members[0], dict) and members[0].get("id"):
                return personal_conversation_id(self._bot_app_id(body), str(members[0]["id"]))
        return None

    def _bot_app_id(self, parameters: Json) -> str:
        bot = str(_dig(parameters, "bot", "id") or "")
        # A bot with no app id (local mode) is taken to be APP_ID, the bot the test activities address.
        return bot.removeprefix("28:") or self.app_id or APP_ID

    def _check_scripted(self, target: str | None) -> None:
        for failure in self._failures:
            if failure.conversation_id is None or failure.conversation_id == target:
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.remove(failure)
                raise _error(failure.status, failure.code, failure.message, failure.headers)

    def _check_limits(self, target: str | None) -> None:
        if self.limits is not None and (retry_after := self.limits.check(target)) is not None:
            raise _error(429, "Throttled", "Too many requests.", {"Retry-After": str(retry_after)})

    def _check_faults(self, operation: str, target: str | None) -> None:
        if self.faults is None or operation not in DELIVERING:
            return
        fault = self.faults.check(target)
        if fault is not None and fault.retry_after is not None:
            headers = {"Retry-After": str(fault.retry_after)}
            raise _error(fault.status, "Throttled", "Too many requests.", headers)
        if fault is not None:
            codes = {500: "InternalServerError", 502: "ServiceError", 503: "ServiceUnavailable"}
            raise _error(fault.status, codes.get(fault.status, "ServiceError"), "The service is unavailable.")

    def _check_blocked(self, operation: str, target: str | None, body: Any) -> None:
        if not self._blocked:
            return
        keys: set[str] = set()
        if target:
            keys.update({target, target.split(";", 1)[0]})
            for member in self.rosters.get(target, []):
                keys.update(_ids_of(member))
            # A one-to-one chat with a blocked user, even one this fake never created (Teams gave its id).
            apps = {self.app_id or "", str(_dig(body, "from", "id") or "").removeprefix("28:")}
            if operation == "create_conversation" and isinstance(body, dict):
                apps.add(self._bot_app_id(body))
            for blocked in list(self._blocked):
                user_ids = {blocked} | {m["id"] for m in self.members if blocked in _ids_of(m)}
                if any(
                    personal_conversation_id(app, user) == target for app in apps if app for user in user_ids
                ):
                    keys.add(blocked)
        if operation == "create_conversation" and isinstance(body, dict):
            for member in body.get("members") or []:
                keys.update(_ids_of(member))
        for key in sorted(keys):
            if key in self._blocked:
                code, message = self._blocked[key]
                raise _error(403, code, message)

    # ---- the connector's answers ----

    def _respond(
        self, operation: str, info: Mapping[str, str], query: Mapping[str, str], body: Any
    ) -> web.StreamResponse:
        conversation_id = info.get("conversation_id", "")
        if operation == "create_conversation":
            return self._create(body)
        if operation in ("send_to_conversation", "reply_to_activity"):
            message_id = self._next_id()
            self._deliver(operation, conversation_id, message_id, body)
            return web.json_response({"id": message_id}, status=201)
        if operation == "update_activity":
            key = (conversation_id, info["activity_id"])
            if key not in self._messages:
                raise _error(404, "NotFound", "The activity was not found.")
            self._deliver(operation, conversation_id, info["activity_id"], body)
            return web.json_response({"id": info["activity_id"]}, status=200)
        if operation == "delete_activity":
            key = (conversation_id, info["activity_id"])
            if self._messages.pop(key, None) is None:
                raise _error(404, "NotFound", "The activity was not found.")
            self.deleted.append(key)
            return web.Response(status=200)
        if operation in ("get_conversation_members", "get_activity_members"):
            return web.json_response(self.roster(conversation_id))
        if operation == "get_conversation_member":
            wanted = info["member_id"]
            for member in self.roster(conversation_id):
                if wanted in (member.get("id"), member.get("aadObjectId"), member.get("userPrincipalName")):
                    return web.json_response(member)
            raise _error(404, "MemberNotFoundInConversation", "The member was not found in the conversation.")
        if operation == "delete_conversation_member":
            roster = [m for m in self.roster(conversation_id) if m.get("id") != info["member_id"]]
            self.rosters[conversation_id] = roster
            return web.Response(status=200)
        if operation == "get_conversation_paged_members":
            return self._paged_members(conversation_id, query)
        if operation == "get_conversations":
            known = sorted({conversation for conversation, _ in self._messages} | set(self.rosters))
            return web.json_response({"conversations": [{"id": c, "members": self.roster(c)} for c in known]})
        if operation in ("get_team_details", "get_teams_channels"):
            team = self.teams.get(info["team_id"])
            if team is None:
                raise _error(404, "NotFound", "The team was not found.")
            if operation == "get_teams_channels":
                channels = [{"id": cid, **({"name": name} if name else {})} for cid, name in team.channels]
                return web.json_response({"conversations": channels})
            return web.json_response(
                {
                    "id": team.id,
                    "name": team.name,
                    "aadGroupId": team.aad_group_id,
                    "channelCount": len(team.channels),
                    "memberCount": len(self.roster(team.id)),
                    "type": "standard",
                }
            )
        if operation == "send_conversation_history":
            return web.json_response({"id": self._next_id()}, status=201)
        if operation == "upload_attachment":
            return web.json_response({"id": f"attachment-{self._next_id()}"}, status=201)
        raise AssertionError(f"unhandled operation {operation}")  # pragma: no cover

    def _next_id(self) -> str:
        return str(next(self._message_ids))

    def _deliver(self, operation: str, conversation_id: str, message_id: str, activity: Json) -> None:
        self._messages[(conversation_id, message_id)] = {**activity, "id": message_id}
        self.activities.append(Delivered(operation, conversation_id, message_id, dict(activity)))
        for wake in list(self._wakers):
            wake()

    def _create(self, parameters: Json) -> web.StreamResponse:
        channel = _dig(parameters, "channelData", "channel", "id")
        activity = parameters.get("activity") if isinstance(parameters.get("activity"), dict) else None
        answer: Json = {}
        if channel:
            root = self._next_id()
            conversation_id = f"{channel};messageid={root}"
            if activity is not None:
                answer["activityId"] = root
                self._deliver("create_conversation", conversation_id, root, activity)
        else:
            member = parameters["members"][0]
            # Teams takes the user's Teams id or Entra object id, and gives the same chat for either.
            known = [m for m in self.members if member["id"] in (m.get("id"), m.get("aadObjectId"))]
            user_id = str(known[0]["id"]) if known else str(member["id"])
            conversation_id = personal_conversation_id(self._bot_app_id(parameters), user_id)
            if conversation_id not in self.rosters:
                self.rosters[conversation_id] = known or [dict(member)]
            if activity is not None:
                message_id = self._next_id()
                answer["activityId"] = message_id
                self._deliver("create_conversation", conversation_id, message_id, activity)
        return web.json_response({"id": conversation_id, **answer}, status=201)

    def _paged_members(self, conversation_id: str, query: Mapping[str, str]) -> web.StreamResponse:
        roster = self.roster(conversation_id)
        try:
            size = int(query.get("pageSize") or DEFAULT_PAGE_SIZE)
            start = (
                int(base64.urlsafe_b64decode(query["continuationToken"]).decode())
                if query.get("continuationToken")
                else 0
            )
        except (ValueError, KeyError):
            raise _error(400, "BadArgument", "Invalid pageSize or continuationToken.") from None
        size = max(1, min(size, MAX_PAGE_SIZE))
        page: Json = {"members": roster[start : start + size]}
        if start + size < len(roster):
            page["continuationToken"] = base64.urlsafe_b64encode(str(start + size).encode()).decode()
        return web.json_response(page)
