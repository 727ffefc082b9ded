"""A local Slack-like Web API for tests: records calls, answers like Slack, checks them against the spec.

``FakeSlack`` is an aiohttp server on 127.0.0.1 at a free port. Point slack_sdk's ``AsyncWebClient`` (or the
bot, through ``SLACK_API_URL``) at :attr:`FakeSlack.url`. Every request is recorded in :attr:`FakeSlack.calls`
and validated against Slack's Web API OpenAPI (Swagger 2.0) spec; whatever Slack would reject as malformed
lands in :attr:`FakeSlack.violations`, so tests end with ``assert fake.violations == []``.

Quirks of the spec, and how the validation reads it:

- The spec says where each argument goes (``query``, ``formData``, ``header``), but Slack accepts any method
  as GET or POST with arguments in the query string, a form body or (for write methods) a JSON body, and
  slack_sdk uses all three: ``views.open`` and ``views.publish`` are typed ``get`` with ``query`` arguments
  yet slack_sdk POSTs them as JSON; ``conversations.open`` sends its arguments in the query string of a
  POST. So an argument counts wherever it arrives, and the verb is not checked.
- ``token`` is sometimes a ``header`` and sometimes a ``query`` argument (``users.list``), and sometimes not
  marked required (``conversations.open``). Here every method needs one, as at Slack: a bearer token in the
  ``Authorization`` header, or a ``token`` argument in a query string or form (never inside a JSON body,
  which Slack ignores).
- JSON-bearing arguments (``blocks``, ``attachments``, ``view``) are typed ``string`` ("a JSON-based array,
  presented as a URL-encoded string"); they are accepted as that string or, in JSON bodies, as the JSON
  value itself, and must decode to the right shape.
- A few flags are typed ``string`` in one method and ``boolean`` in another (``as_user``, ``link_names``);
  they accept either.
- The spec predates some arguments slack_sdk sends (``metadata``, ``markdown_text``); unknown arguments are
  accepted, as Slack does.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import itertools
import json
import re
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from aiohttp import WSMsgType, web

from tests.fake_faults import Faults
from tests.fake_limits import Limits
from tests.reference import SLACK_WEB_SPEC

SPEC_PATH = SLACK_WEB_SPEC
SOCKET_MODE_OPEN = "apps.connections.open"
TEAM_ID = "T0001"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
APP_ID = "A0NEXTPRACTICE"
FIRST_TS = 1_700_000_000
JSON_ARRAYS = frozenset({"blocks", "attachments"})
JSON_OBJECTS = frozenset({"view", "metadata", "profile"})
TRUTHY = frozenset({"true", "false", "1", "0"})
RESPONSE_TYPES = frozenset({"ephemeral", "in_channel"})
# Slack's limits on what a message or view may hold (chat.postMessage and Block Kit reference).
MESSAGE_METHODS = frozenset({"chat.postMessage", "chat.postEphemeral", "chat.update"})
VIEW_TYPES: Mapping[str, frozenset[str]] = {
    "views.open": frozenset({"modal"}),
    "views.push": frozenset({"modal"}),
    "views.publish": frozenset({"home"}),
    "views.update": frozenset({"modal", "home"}),
}
MAX_TEXT = 40_000
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
FAULTY_METHODS = frozenset({"chat.postMessage", "chat.update"})  # what ``faults`` may refuse: delivery

Args = dict[str, Any]
Call = tuple[str, Args]


@dataclass(frozen=True)
class Param:
    """One argument of a Web API method, as the spec describes it."""

    name: str
    type: str
    required: bool


@dataclass(frozen=True)
class MethodSpec:
    """One Web API method: its arguments by name."""

    name: str
    params: Mapping[str, Param]


@dataclass(frozen=True)
class Spec:
    """The parts of the OpenAPI spec the fake validates against."""

    methods: Mapping[str, MethodSpec]
    also_boolean: frozenset[str]  # argument names typed string somewhere and boolean elsewhere


@functools.cache
def load_spec(path: Path = SPEC_PATH) -> Spec:
    """Read Slack's Web API spec once per test session (it is ~1 MB of JSON)."""
    document = json.loads(path.read_text(encoding="utf-8"))
    methods: dict[str, MethodSpec] = {}
    types_by_name: defaultdict[str, set[str]] = defaultdict(set)
    for route, operations in document["paths"].items():
        params: dict[str, Param] = {}
        for operation in operations.values():  # each path has exactly one verb, but read them all
            for raw in operation.get("parameters", []):
                param = Param(raw["name"], raw.get("type", "string"), bool(raw.get("required", False)))
                params[param.name] = param
                types_by_name[param.name].add(param.type)
        methods[route.lstrip("/")] = MethodSpec(route.lstrip("/"), params)
    also_boolean = frozenset(name for name, types in types_by_name.items() if {"string", "boolean"} <= types)
    return Spec(methods, also_boolean)


def check_args(spec: Spec, method: str, args: Mapping[str, Any]) -> list[str]:
    """Problems with ``args`` for ``method``: missing required arguments and wrong basic types."""
    found = spec.methods.get(method)
    if found is None:
        return [f"{method}: no such method in the Web API spec"]
    problems = [
        f"{method}: missing required argument {param.name!r}"
        for param in found.params.values()
        if param.required and param.name != "token" and param.name not in args
    ]
    for name, value in args.items():
        param = found.params.get(name)
        problem = _check_value(name, value, param.type if param else None, spec)
        if problem:
            problems.append(f"{method}: argument {name!r} {problem} (got {value!r:.80})")
    return problems


def check_content(method: str, args: Mapping[str, Any]) -> tuple[str, str] | None:
    """Slack's error and the reason when it would refuse a well-formed message or view, else None."""
    if method in MESSAGE_METHODS:
        if not any(args.get(name) for name in ("text", "blocks", "attachments")):
            return "no_text", "a message needs text, blocks or attachments"
        if len(str(args.get("text", ""))) > MAX_TEXT:
            return "msg_too_long", f"text is longer than {MAX_TEXT} characters"
        if len(_decoded(args.get("blocks", []))) > MAX_MESSAGE_BLOCKS:
            return "invalid_blocks", f"more than {MAX_MESSAGE_BLOCKS} blocks in a message"
    if method in VIEW_TYPES:
        view = _decoded(args.get("view", {}))
        expected = VIEW_TYPES[method]
        if view.get("type") not in expected:
            return (
                "invalid_arguments",
                f"the view's type must be one of {sorted(expected)}, not {view.get('type')!r}",
            )
        if len(view.get("blocks", [])) > MAX_VIEW_BLOCKS:
            return "invalid_arguments", f"more than {MAX_VIEW_BLOCKS} blocks in a view"
    return None


def _decoded(value: Any) -> Any:
    """A JSON argument as its value, whether it came as JSON or as a JSON-encoded string."""
    return json.loads(value) if isinstance(value, str) else value


def _check_value(name: str, value: Any, kind: str | None, spec: Spec) -> str:
    """Why ``value`` is not a valid ``kind``, or "" if it is. ``kind`` None: an argument the spec lacks."""
    if value is None:
        return "is null (slack_sdk drops None; Slack rejects null for most arguments)"
    if name in JSON_ARRAYS or name in JSON_OBJECTS:
        return _check_json(name, value)
    if kind == "boolean" or (kind == "string" and name in spec.also_boolean):
        ok = isinstance(value, bool) or (isinstance(value, str) and value.lower() in TRUTHY)
        if ok or (kind == "string" and isinstance(value, str)):
            return ""
        return "must be a boolean (true/false/1/0)"
    if kind == "integer":
        ok = (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, str) and re.fullmatch(r"-?\d+", value) is not None
        )
        return "" if ok else "must be an integer"
    if kind == "number":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return ""
        try:
            float(value)
        except (TypeError, ValueError):
            return "must be a number"
        return ""
    if kind == "string":
        # A JSON number where Slack expects a string is the classic bug: ts 1700000000.0001 loses digits.
        return "" if isinstance(value, str) else "must be a string"
    return ""


def _check_json(name: str, value: Any) -> str:
    """``blocks`` and ``attachments`` are arrays of objects, ``view`` an object: as JSON or a JSON string."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return "is not valid JSON"
    if name in JSON_ARRAYS:
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            return "must be a JSON array of objects"
        return ""
    if not isinstance(value, dict):
        return "must be a JSON object"
    if name == "view" and not isinstance(value.get("type"), str):
        return "must have a type (modal or home)"
    return ""


def make_member(
    user_id: str,
    real_name: str,
    *,
    tz: str = "Europe/London",
    deleted: bool = False,
    is_bot: bool = False,
    team_id: str = TEAM_ID,
) -> dict[str, Any]:
    """A ``users.list`` member shaped like Slack's (the fields the directory sync reads, and a few more)."""
    handle = real_name.split()[0].lower() if real_name else user_id.lower()
    return {
        "id": user_id,
        "team_id": team_id,
        "name": handle,
        "deleted": deleted,
        "real_name": real_name,
        "tz": tz,
        "tz_label": "Greenwich Mean Time",
        "tz_offset": 0,
        "is_admin": False,
        "is_owner": False,
        "is_bot": is_bot,
        "is_app_user": False,
        "updated": FIRST_TS,
        "profile": {"real_name": real_name, "display_name": handle, "team": team_id},
    }


@dataclass(frozen=True)
class Scripted:
    """A canned answer for the next call of one method: an HTTP status, a body and headers."""

    status: int
    body: dict[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)


class FakeSlack:
    """A Slack-like Web API on 127.0.0.1; use as ``async with FakeSlack() as fake``.

    ``members`` are served by ``users.list`` (paginated) and ``users.info``; ``usergroups`` (each with an
    ``id``, ``handle``, ``name`` and ``users`` list) by ``usergroups.list`` and ``usergroups.users.list``.

    Opt-in, for benchmarks: ``limits`` enforces chat.postMessage's rate limits (see :func:`slack_limits`)
    with 429 and ``Retry-After``; ``validate=False`` skips the per-call spec and content checks (CPU heavy).
    ``faults`` (see :class:`tests.fake_faults.Faults`) refuses a seeded random share of chat.postMessage and
    chat.update calls with 429 and ``Retry-After`` or with a 5xx.
    """

    def __init__(
        self,
        *,
        members: Iterable[Mapping[str, Any]] = (),
        usergroups: Iterable[Mapping[str, Any]] = (),
        spec_path: Path = SPEC_PATH,
        limits: Limits | None = None,
        validate: bool = True,
        faults: Faults | None = None,
    ) -> None:
        self.members: list[dict[str, Any]] = [dict(member) for member in members]
        self.limits = limits
        self.faults = faults
        self.validate = validate
        self.usergroups: list[dict[str, Any]] = [dict(group) for group in usergroups]
        self.calls: list[Call] = []
        self.tokens: list[str] = []  # the token each call in ``calls`` was made with ("" for response_url)
        self.refused_tokens: set[str] = set()  # tokens answered invalid_auth, as a revoked or mistyped one is
        # oauth.v2.access: each code Slack would hand the browser, and the workspace it installs into.
        self.install_codes: dict[str, str] = {}
        # Messages as Slack holds them after chat.postMessage / chat.update: "channel" is the conversation
        # (a DM by user id lands in D...), with the "ts" Slack gave; updated in place by chat.update.
        self.messages: list[dict[str, Any]] = []
        self.violations: list[str] = []
        self._spec = load_spec(spec_path)
        self._scripted: defaultdict[str, deque[Scripted]] = defaultdict(deque)
        self._ts = itertools.count(1)
        self._views = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._sockets: list[web.WebSocketResponse] = []
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.socket_connected = asyncio.Event()
        self._base = ""

    # ---- lifecycle ----

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{key}", self._response_url)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)  # port 0: the OS picks a free one
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self._base = f"http://{host}:{port}"
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for socket in self._sockets:
            await socket.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        """The Web API base URL, with the trailing slash slack_sdk needs: ``http://127.0.0.1:PORT/api/``."""
        if not self._base:
            raise RuntimeError("FakeSlack is not running: use it as an async context manager")
        return f"{self._base}/api/"

    def response_url(self, key: str = "response") -> str:
        """A ``response_url`` for a slash command or action payload; posts to it are recorded as
        ``("response_url", body)``."""
        if not self._base:
            raise RuntimeError("FakeSlack is not running: use it as an async context manager")
        return f"{self._base}/response/{key}"

    # ---- scripting ----

    def fail_next(self, method: str, error: str = "channel_not_found", **fields: Any) -> None:
        """Answer the next call of ``method`` with ``{"ok": false, "error": error, **fields}`` (HTTP 200)."""
        self._scripted[method].append(Scripted(200, {"ok": False, "error": error, **fields}))

    def rate_limit_next(self, method: str, retry_after: int = 2) -> None:
        """Answer the next call of ``method`` with HTTP 429 and ``Retry-After`` in seconds, as Slack does."""
        body = {"ok": False, "error": "ratelimited"}
        self._scripted[method].append(Scripted(429, body, {"Retry-After": str(retry_after)}))

    def server_error_next(self, method: str, status: int = 503) -> None:
        """Answer the next call of ``method`` with a server error (Slack sends 500 or 503 when unwell)."""
        error = "service_unavailable" if status == 503 else "internal_error"
        self._scripted[method].append(Scripted(status, {"ok": False, "error": error}))

    def calls_to(self, method: str) -> list[Args]:
        """The arguments of every call of ``method``, in order."""
        return [args for name, args in self.calls if name == method]

    # ---- HTTP ----

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args, token, problems = await _read_args(request)
        self.calls.append((method, args))
        self.tokens.append(token)
        self.violations.extend(f"{method}: {problem}" for problem in problems)
        if problems:
            return _answer({"ok": False, "error": "invalid_arguments"})
        if method == SOCKET_MODE_OPEN:
            return self._open_socket(token)
        if method not in self._spec.methods:
            self.violations.append(f"{method}: no such method in the Web API spec")
            return _answer({"ok": False, "error": "unknown_method"})
        if not token:
            self.violations.append(f"{method}: no token (Authorization: Bearer header or token argument)")
            return _answer({"ok": False, "error": "not_authed"})
        if token in self.refused_tokens:
            return _answer({"ok": False, "error": "invalid_auth"})
        problems = check_args(self._spec, method, args) if self.validate else []
        if problems:
            self.violations.extend(problems)
            return _answer({"ok": False, "error": "invalid_arguments"})
        if self._scripted[method]:
            scripted = self._scripted[method].popleft()
            return _answer(scripted.body, status=scripted.status, headers=scripted.headers)
        if self.limits is not None and method == "chat.postMessage":
            retry_after = self.limits.check(_conversation_of(str(args.get("channel", ""))))
            if retry_after is not None:
                body = {"ok": False, "error": "ratelimited"}
                return _answer(body, status=429, headers={"Retry-After": str(retry_after)})
        if self.faults is not None and method in FAULTY_METHODS:
            fault = self.faults.check(_conversation_of(str(args.get("channel", ""))))
            if fault is not None and fault.retry_after is not None:
                body = {"ok": False, "error": "ratelimited"}
                return _answer(body, status=fault.status, headers={"Retry-After": str(fault.retry_after)})
            if fault is not None:
                error = "service_unavailable" if fault.status == 503 else "internal_error"
                return _answer({"ok": False, "error": error}, status=fault.status)
        refused = check_content(method, args) if self.validate else None
        if refused:
            # Well-formed, but Slack would refuse what it says: a bug in what the bot sends, so flag it too.
            error, why = refused
            self.violations.append(f"{method}: {why}")
            return _answer({"ok": False, "error": error})
        return _answer(self._respond(method, args))

    async def _response_url(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            body = None
        if not isinstance(body, dict):
            self.calls.append(("response_url", {}))
            self.tokens.append("")
            self.violations.append("response_url: the body must be a JSON object")
            return _answer({"ok": False, "error": "invalid_payload"})
        self.calls.append(("response_url", body))
        self.tokens.append("")  # a response_url needs no token
        problems = [
            problem
            for name in ("blocks", "attachments")
            if name in body and (problem := _check_json(name, body[name]))
        ]
        if "response_type" in body and body["response_type"] not in RESPONSE_TYPES:
            problems.append(f"response_type must be one of {sorted(RESPONSE_TYPES)}")
        if not any(key in body for key in ("text", "blocks", "attachments", "delete_original")):
            problems.append("nothing to show: no text, blocks or attachments")
        self.violations.extend(f"response_url: {problem}" for problem in problems)
        return _answer({"ok": not problems})

    # ---- Socket Mode ----

    def _open_socket(self, token: str) -> web.Response:
        # apps.connections.open postdates the published spec; Slack wants the app-level token here.
        if not token.startswith("xapp-"):
            self.violations.append(
                f"{SOCKET_MODE_OPEN}: needs the app-level token (xapp-), got {token[:5]!r}"
            )
            return _answer({"ok": False, "error": "invalid_auth"})
        return _answer({"ok": True, "url": f"ws://{self._base.removeprefix('http://')}/socket"})

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        hello = {"type": "hello", "num_connections": 1, "connection_info": {"app_id": APP_ID}}
        await socket.send_json(hello)
        self._sockets.append(socket)
        self.socket_connected.set()
        async for frame in socket:
            if frame.type is not WSMsgType.TEXT:
                continue
            ack = json.loads(frame.data)
            waiting = self._acks.pop(str(ack.get("envelope_id")), None)
            if waiting is not None and not waiting.done():
                waiting.set_result(ack)
        return socket

    async def over_socket(self, kind: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Send a Socket Mode envelope (``slash_commands``, ``interactive``, ``events_api``) to the
        connected app and return its acknowledgement, as Slack does instead of an HTTP request."""
        if not self._sockets:
            raise RuntimeError("no app is connected over Socket Mode")
        envelope_id = f"env-{len(self.calls)}-{len(self._acks)}"
        self._acks[envelope_id] = asyncio.get_running_loop().create_future()
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": dict(payload),
            "accepts_response_payload": kind != "events_api",
        }
        await self._sockets[-1].send_json(envelope)
        return await asyncio.wait_for(self._acks[envelope_id], 5)  # Slack waits 3 s for an ack

    # ---- Slack's answers ----

    def _next_ts(self) -> str:
        """A message timestamp: unique, increasing, and shaped like Slack's ``1700000001.000100``."""
        return f"{FIRST_TS + next(self._ts)}.000100"

    def _respond(self, method: str, args: Args) -> dict[str, Any]:
        if method == "chat.postMessage":
            channel = _conversation_of(str(args["channel"]))
            ts = self._next_ts()
            message = _message(args, ts)
            self.messages.append({**message, "channel": channel})
            return {"ok": True, "channel": channel, "ts": ts, "message": message}
        if method == "chat.update":
            ts = str(args["ts"])
            for held in self.messages:
                if held["ts"] == ts and held["channel"] == args["channel"]:
                    held.update(_message(args, ts))
            return {
                "ok": True,
                "channel": args["channel"],
                "ts": ts,
                "text": args.get("text", ""),
                "message": _message(args, ts),
            }
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._next_ts()}
        if method == "conversations.open":
            return self._open(args)
        if method in VIEW_TYPES:
            return {"ok": True, "view": self._view(args)}
        if method == "users.list":
            return self._users_list(args)
        if method == "users.info":
            user = next((m for m in self.members if m["id"] == args.get("user")), None)
            return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}
        if method == "usergroups.list":
            groups = [{k: v for k, v in group.items() if k != "users"} for group in self.usergroups]
            if _flag(args.get("include_users")):
                groups = [dict(group, users=list(group.get("users", ()))) for group in self.usergroups]
            return {"ok": True, "usergroups": groups}
        if method == "usergroups.users.list":
            group = next((g for g in self.usergroups if g["id"] == args["usergroup"]), None)
            if group is None:
                return {"ok": False, "error": "no_such_subteam"}
            return {"ok": True, "users": list(group.get("users", ()))}
        if method == "oauth.v2.access":
            return self._oauth_access(args)
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://nextpractice-test.slack.com/",
                "team": "NextPractice Test",
                "user": "nextpractice",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
                "is_enterprise_install": False,
            }
        return {"ok": True}  # a valid call of a method this fake has no special answer for

    def token_for(self, team_id: str) -> str:
        """The bot token an installation in ``team_id`` gets from :meth:`_oauth_access`."""
        return f"xoxb-{team_id}-installed"

    def _oauth_access(self, args: Args) -> dict[str, Any]:
        team_id = self.install_codes.pop(str(args.get("code", "")), None)
        if team_id is None:
            return {"ok": False, "error": "invalid_code"}
        return {
            "ok": True,
            "access_token": self.token_for(team_id),
            "token_type": "bot",
            "scope": "commands,chat:write",
            "bot_user_id": BOT_USER_ID,
            "app_id": APP_ID,
            "team": {"id": team_id, "name": f"Workspace {team_id}"},
            "enterprise": None,
            "is_enterprise_install": False,
            "authed_user": {"id": "W0INSTALLER"},
        }

    def _open(self, args: Args) -> dict[str, Any]:
        if "channel" in args:
            return {"ok": True, "channel": {"id": str(args["channel"])}}
        users = [user for user in str(args.get("users", "")).split(",") if user]
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        if len(users) > 8:
            return {"ok": False, "error": "too_many_users"}
        if len(users) == 1:
            return {"ok": True, "channel": {"id": _conversation_of(users[0])}}
        return {"ok": True, "channel": {"id": "G" + "".join(user[1:4] for user in users).upper()}}

    def _view(self, args: Args) -> dict[str, Any]:
        view = dict(_decoded(args.get("view", {})))
        number = next(self._views)
        view_id = str(args.get("view_id") or f"V{number:09d}")
        return {
            **view,
            "id": view_id,
            "team_id": TEAM_ID,
            "app_id": APP_ID,
            "bot_id": BOT_ID,
            "hash": f"{FIRST_TS + number}.{number:08x}",
            "root_view_id": view_id,
            "previous_view_id": None,
            "state": {"values": {}},
        }

    def _users_list(self, args: Args) -> dict[str, Any]:
        limit = int(args.get("limit") or 0)  # 0 or absent: everything that is left, in one page
        start = 0
        cursor = str(args.get("cursor") or "")
        if cursor:
            try:
                after = base64.b64decode(cursor, validate=True).decode().removeprefix("user:")
            except ValueError:
                return {"ok": False, "error": "invalid_cursor"}
            ids = [member["id"] for member in self.members]
            if after not in ids:
                return {"ok": False, "error": "invalid_cursor"}
            start = ids.index(after)
        end = len(self.members) if limit <= 0 else min(len(self.members), start + limit)
        next_cursor = ""
        if end < len(self.members):
            # Slack's cursors are opaque base64; this one names the next member, like theirs do.
            next_cursor = base64.b64encode(f"user:{self.members[end]['id']}".encode()).decode()
        return {
            "ok": True,
            "members": self.members[start:end],
            "cache_ts": FIRST_TS,
            "response_metadata": {"next_cursor": next_cursor},
        }


async def _read_args(request: web.Request) -> tuple[Args, str, list[str]]:
    """All arguments of a request (query string, then form or JSON body), its token, and body problems."""
    args: Args = dict(request.query)
    problems: list[str] = []
    if request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except json.JSONDecodeError:
                body = None
            if isinstance(body, dict):
                args.update(body)
                args.pop("token", None)  # Slack ignores a token inside a JSON body: it must be a header
            else:
                problems.append("a JSON body must be an object")
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            args.update({key: value for key, value in form.items() if isinstance(value, str)})
        else:
            problems.append(f"unsupported content type {request.content_type!r}")
    token = str(args.pop("token", "") or "")
    authorization = request.headers.get("Authorization", "")
    if authorization.startswith("Bearer "):
        token = authorization.removeprefix("Bearer ").strip()
    elif authorization.startswith("Basic "):
        # oauth.v2.access authenticates the app by client id and secret, not by a token.
        client_id, _, client_secret = base64.b64decode(authorization[6:]).decode().partition(":")
        args.update(client_id=client_id, client_secret=client_secret)
        token = f"basic:{client_id}"
    return args, token, problems


def slack_limits(per_minute: int = 600, *, window: float = 60.0, per_channel: int = 1) -> Limits:
    """chat.postMessage's limits: "1 message per second to a specific channel" (a DM counts; Slack's "short
    bursts" are not allowed here, so this is stricter), and "several hundred messages per minute" in a
    workspace: ``per_minute`` in any ``window`` seconds (https://api.slack.com/methods/chat.postMessage)."""
    return Limits(app=((per_minute, window),), conversation=((per_channel, 1.0),))


def _conversation_of(channel: str) -> str:
    """The conversation Slack answers with: a user id (U…/W…) stands for the app's DM with them (D…)."""
    return "D" + channel[1:] if channel[:1] in ("U", "W") else channel


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("true", "1"))


def _message(args: Args, ts: str) -> dict[str, Any]:
    """The message object Slack echoes back after posting or updating."""
    message: dict[str, Any] = {
        "type": "message",
        "subtype": "bot_message",
        "text": args.get("text", ""),
        "user": BOT_USER_ID,
        "bot_id": BOT_ID,
        "app_id": APP_ID,
        "team": TEAM_ID,
        "ts": ts,
    }
    for name in ("blocks", "attachments"):
        if name in args:
            message[name] = _decoded(args[name])
    if "thread_ts" in args:
        message["thread_ts"] = args["thread_ts"]
    return message


def _answer(
    body: Mapping[str, Any], *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.json_response(dict(body), status=status, headers=dict(headers or {}))
