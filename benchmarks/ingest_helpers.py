"""Parts of the ingest benchmark (:mod:`benchmarks.ingest`): the directory, the local platforms, the bare
baseline servers, the requests the platforms send when someone taps a pulse answer, and the load generator.

The fakes and the bare servers run in subprocesses of their own (``python -m benchmarks.ingest
--serve-fake slack`` and so on), so neither they nor the load generator take CPU from the server
being measured on the same event loop.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import os
import re
import signal
import socket
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
from aiohttp import web

SECRET = "ingest-benchmark-signing-secret"  # Slack's signing secret: our server and the bare one
SECRET_KEY = "ingest-benchmark-anonymity-key-0123456789"  # NEXTPRACTICE_SECRET_KEY of our server
BOT_TOKEN = "xoxb-ingest-benchmark"
TENANT = "6e8f2c4a-1b3d-4c5e-9f7a-0b1c2d3e4f50"
CARD = "application/vnd.microsoft.card.adaptive"
MANAGER = "boss"
PULSE_NAME = "Bench"
# Two questions: a tap on the first stores the answer, refreshes the card and queues the second
# question in the outbox (once per person: a second tap changes the answer and queues nothing new).
PROGRAMME = f"""
[[pulse]]
name = "{PULSE_NAME}"
intro = "Two quick questions about last week."
anonymous = true
open_hours = 72

[[pulse.question]]
kind = "scale"
text = "I feel able to suggest improvements to how we work."

[[pulse.question]]
kind = "scale"
text = "I know what happened to the last idea I shared."
"""
QUESTION_ONE = "I feel able to suggest improvements"
QUESTION_TWO = "I know what happened to the last idea"
TEAM_SIZE = 40
# The bare Teams bot's answer to every tap: a small fixed card.
SMALL_CARD: dict[str, Any] = {
    "type": "AdaptiveCard",
    "version": "1.4",
    "body": [{"type": "TextBlock", "text": "Thanks, noted.", "wrap": True}],
}

Json = dict[str, Any]


# ---- the directory --------------------------------------------------------------------------------------


def slack_user(n: int) -> str:
    """Person ``n``'s Slack user id (their DM with the app is ``D`` and the same digits)."""
    return f"U{100_000_000 + n}"


def dm(user: str) -> str:
    """The app's DM conversation with a Slack user, as the local Web API names it."""
    return "D" + user[1:]


def person_name(n: int) -> str:
    return f"Person{n:05d} Bench"


def teams_member(n: int) -> Json:
    """Person ``n`` as Teams knows them (``TeamsChannelAccount``: a ``29:`` id and an Entra object id)."""
    from tests.teams.activities import make_member

    return make_member(person_name(n), tenant_id=TENANT)


def people_csv(count: int, platform: str, *, slack_team: str) -> str:
    """``count`` staff in teams of :data:`TEAM_SIZE`, on ``platform``, and the manager who sends the pulse
    (person ``count``, who gets it too and never taps)."""
    header = (
        "handle,name,time_zone,roles,team,parent_team,slack_user_id,slack_team_id,teams_user_id,teams_tenant"
    )

    def accounts(n: int) -> str:
        return (
            f"{slack_user(n)},{slack_team},,"
            if platform == "slack"
            else f",,{teams_member(n)['aadObjectId']},{TENANT}"
        )

    rows = [
        header,
        f"{MANAGER},Bench Manager,Europe/London,manager,Team 000,Directorate 00,{accounts(count)}",
    ]
    for n in range(count):
        team, parent = f"Team {n // TEAM_SIZE:03d}", f"Directorate {n // (TEAM_SIZE * 10):02d}"
        rows.append(f"p{n:05d},{person_name(n)},Europe/London,staff,{team},{parent},{accounts(n)}")
    return "\n".join(rows) + "\n"


# ---- subprocess plumbing --------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port nothing listens on right now (the server started next binds it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _until_signalled() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop


def _write_json(path: Path, data: Json) -> None:
    """Write ``data`` so a reader polling for ``path`` never sees half of it."""
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(data))
    partial.replace(path)


async def _serve(app: web.Application, port: int = 0) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, int(runner.addresses[0][1])


# ---- the local platforms (subprocess) -------------------------------------------------------------------


async def serve_fake_slack(port_file: Path, people: int, *, validate: bool) -> None:
    """The local Slack Web API (tests' ``FakeSlack``) with ``people`` members, and a control API beside it:
    ``GET /messages`` (the first message the bot posted to each DM; ``?count=1``: how many) and
    ``GET /stats`` (calls, violations, and with ``?since=N`` when each ``chat.update`` from the N-th came)."""
    from tests.slack.fake_api import TEAM_ID, FakeSlack, make_member

    class TimedFakeSlack(FakeSlack):
        """Also keeps when each ``chat.update`` arrived, to time a tap until the card shows the answer."""

        updates: list[tuple[str, str, float]]

        async def _api(self, request: web.Request) -> web.Response:
            response = await super()._api(request)
            method, args = self.calls[-1]  # recorded by the call above, with no await since
            if method == "chat.update":
                self.updates.append((str(args.get("channel")), str(args.get("ts")), time.time()))
            return response

    members = [make_member(slack_user(n), person_name(n), team_id=TEAM_ID) for n in range(people)]
    stop = _until_signalled()
    async with TimedFakeSlack(members=members, validate=validate) as fake:
        fake.updates = []

        async def messages(request: web.Request) -> web.Response:
            first: dict[str, Json] = {}
            for message in fake.messages:
                if str(message["channel"]).startswith("D"):
                    first.setdefault(str(message["channel"]), message)
            if "count" in request.query:  # polled while the pulse fans out: the number is enough
                return web.json_response(len(first))
            return web.json_response(list(first.values()))

        async def stats(request: web.Request) -> web.Response:
            since = int(request.query.get("since", "0"))
            return web.json_response(
                {
                    "calls": Counter(name for name, _ in fake.calls),
                    "violations": len(fake.violations),
                    "violation_samples": fake.violations[:5],
                    "updates": len(fake.updates),
                    "update_times": fake.updates[since:] if "since" in request.query else [],
                }
            )

        control = web.Application()
        control.router.add_get("/messages", messages)
        control.router.add_get("/stats", stats)
        runner, port = await _serve(control)
        _write_json(port_file, {"api": fake.url, "control": f"http://127.0.0.1:{port}", "pid": os.getpid()})
        await stop.wait()
        await runner.cleanup()


async def serve_fake_teams(port_file: Path, *, validate: bool) -> None:
    """The local Bot Framework connector (tests' ``FakeConnector``), and a control API beside it:
    ``GET /messages`` (the first card the bot sent each person; ``?count=1``: how many) and ``GET /stats``."""
    from tests.teams.fake_connector import Delivered, FakeConnector

    stop = _until_signalled()
    with FakeConnector(validate=validate) as fake:

        async def messages(request: web.Request) -> web.Response:
            first: dict[str, Delivered] = {}
            with fake._lock:  # the connector serves from a thread of its own
                for d in fake.activities:
                    # The card comes with the new conversation, or right after it is created.
                    if d.operation in ("create_conversation", "send_to_conversation"):
                        first.setdefault(d.conversation_id, d)
            delivered = list(first.values())
            if "count" in request.query:
                return web.json_response(len(delivered))
            return web.json_response(
                [
                    {
                        "conversation_id": d.conversation_id,
                        "activity_id": d.activity_id,
                        "activity": d.activity,
                        "members": fake.rosters.get(d.conversation_id, []),
                    }
                    for d in delivered
                ]
            )

        async def stats(_request: web.Request) -> web.Response:
            with fake._lock:
                delivered = Counter(d.operation for d in fake.activities)
                answer = {
                    "calls": Counter(call.operation for call in fake.calls),
                    "statuses": Counter(str(call.status) for call in fake.calls),
                    "delivered": delivered,
                    "violations": len(fake.violations),
                    "violation_samples": fake.violations[:5],
                }
            return web.json_response(answer)

        control = web.Application()
        control.router.add_get("/messages", messages)
        control.router.add_get("/stats", stats)
        runner, port = await _serve(control)
        _write_json(port_file, {"api": fake.url, "control": f"http://127.0.0.1:{port}", "pid": os.getpid()})
        await stop.wait()
        await runner.cleanup()


# ---- the bare baselines (subprocess) --------------------------------------------------------------------


async def serve_bare_slack(port: int, api_url: str) -> None:
    """A Bolt ``AsyncApp`` with the same signing secret and mode, served as ours is (``bot.server.web_app``),
    whose only listener acks every block action."""
    from slack_bolt.async_app import AsyncAck, AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.server import start, web_app

    # Ours runs Bolt with process_before_response, so the baseline does too: in Bolt's default mode the
    # request waits for the ack by polling every 10 ms, which held this bare app to ~2,800 req/s, not ~4,300.
    client = AsyncWebClient(token=BOT_TOKEN, base_url=api_url)
    app = AsyncApp(client=client, signing_secret=SECRET, process_before_response=True)

    @app.action(re.compile(".*"))
    async def only_ack(ack: AsyncAck) -> None:
        await ack()

    stop = _until_signalled()
    runner = await start(web_app(slack=app), host="127.0.0.1", port=port)
    await stop.wait()
    await runner.cleanup()


async def serve_bare_teams(port: int) -> None:
    """botbuilder's ``CloudAdapter`` (unauthenticated, as ours runs here) with an echo bot whose
    Universal Action handler answers every tap with a fixed small card, served by ``adapter.process``.

    Its connector and token clients are made once, as ours are (``ReusedConnectorsAuthentication``):
    botbuilder as shipped makes both for every turn, and msrest's retry policy alone then costs milliseconds
    (it filters range(999) against a 500-item list), which held a bare echo bot to ~160 req/s on our
    2-core box; a baseline that slow would flatter our ratio.
    """
    from botbuilder.core import ActivityHandler, InvokeResponse, TurnContext
    from botbuilder.integration.aiohttp import CloudAdapter
    from botbuilder.schema import AdaptiveCardInvokeResponse

    from adapters.teams.credentials import ReusedConnectorsAuthentication
    from bot.server import start, web_app

    class EchoBot(ActivityHandler):  # type: ignore[misc]  # botbuilder ships no type information
        async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
            # Not on_adaptive_card_invoke: ActivityHandler serializes its answer to a dict, and
            # CloudAdapter.process serializes that again and fails (botbuilder 4.x); hand it the model.
            card = AdaptiveCardInvokeResponse(status_code=200, type=CARD, value=SMALL_CARD)
            return InvokeResponse(status=200, body=card)

    configuration = SimpleNamespace(APP_ID=None, APP_PASSWORD=None, APP_TYPE="MultiTenant", APP_TENANTID=None)
    session = aiohttp.ClientSession()
    adapter = CloudAdapter(ReusedConnectorsAuthentication(configuration, session))
    bot = EchoBot()

    async def messages(request: web.Request) -> web.StreamResponse:
        response: web.StreamResponse = await adapter.process(request, bot)
        return response

    stop = _until_signalled()
    runner = await start(web_app(teams=messages), host="127.0.0.1", port=port)
    await stop.wait()
    await runner.cleanup()
    await session.close()


# ---- what the platforms send when someone taps an answer ------------------------------------------------


@dataclass
class Request:
    """One request to send: body, headers, and the message it taps (to pair it with its effect)."""

    body: bytes
    headers: dict[str, str]
    key: str
    person: int


class Taps:
    """Taps on the first question of each person's pulse message, round robin over the people.

    Pass k taps person ``k mod n`` on the answer ``(k div n + person) mod 5``: the first pass answers for
    everyone, later passes change answers (allowed until the pulse closes).
    """

    def __init__(self, people: Sequence[int], make: Callable[[int, int], Request]) -> None:
        self.people = list(people)
        self.make = make
        self._count = itertools.count()

    def __len__(self) -> int:
        return len(self.people)

    def next(self) -> Request:
        k = next(self._count)
        person = self.people[k % len(self.people)]
        return self.make(person, (k // len(self.people) + person) % 5)

    def again(self) -> Taps:
        """The same taps from the start (another server, the same requests)."""
        return Taps(self.people, self.make)


def _blocks(message: Json) -> list[Json]:
    blocks = message.get("blocks", [])
    return list(json.loads(blocks) if isinstance(blocks, str) else blocks)


def slack_taps(messages: Sequence[Json], people: int, *, team_id: str, response_base: str) -> Taps:
    """Block actions as Slack posts them to the request URL when person n taps an answer button on the
    pulse message the bot posted to their DM (``messages``: as the local Web API holds them)."""
    from tests.reference import SLACK_PAYLOADS

    template = json.loads((SLACK_PAYLOADS / "block_actions__body.json").read_text())
    by_channel = {str(message["channel"]): message for message in messages}
    bodies: dict[tuple[int, int], str] = {}
    buttons: dict[int, tuple[Json, list[tuple[str, Json]]]] = {}
    for n in range(people):
        message = by_channel.get(dm(slack_user(n)))
        if message is None:
            raise RuntimeError(f"person {n} has no pulse message in Slack")
        found = [
            (str(block.get("block_id", "")), element)
            for block in _blocks(message)
            if block.get("type") == "actions"
            for element in block["elements"]
            if element.get("type") == "button"
        ]
        if len(found) != 5:
            raise RuntimeError(f"the pulse message of person {n} has {len(found)} buttons, not 5")
        buttons[n] = (message, found)

    def body_of(n: int, choice: int) -> str:
        if (n, choice) not in bodies:
            message, found = buttons[n]
            block_id, button = found[choice]
            user = slack_user(n)
            body = copy.deepcopy(template)
            body["user"] = {"id": user, "username": f"p{n:05d}", "name": f"p{n:05d}", "team_id": team_id}
            body["team"] = {"id": team_id, "domain": "bench"}
            body["container"] = {
                "type": "message",
                "message_ts": message["ts"],
                "channel_id": message["channel"],
                "is_ephemeral": False,
            }
            body["channel"] = {"id": message["channel"], "name": "directmessage"}
            body["trigger_id"] = f"{n}.{choice}.trigger"
            body["response_url"] = f"{response_base}tap-{n}-{choice}"
            # Slack sends the message the button is on, and the state of its inputs, with every tap.
            body["message"] = {key: value for key, value in message.items() if key != "channel"}
            body["state"] = {"values": {}}
            body["actions"] = [
                {
                    "action_id": button["action_id"],
                    "block_id": block_id,
                    "text": button["text"],
                    "value": button.get("value", ""),
                    "type": "button",
                    "action_ts": f"{time.time():.6f}",
                }
            ]
            bodies[(n, choice)] = urllib.parse.urlencode({"payload": json.dumps(body)})
        return bodies[(n, choice)]

    def make(n: int, choice: int) -> Request:
        body = body_of(n, choice)
        stamp = str(int(time.time()))
        signature = slack_signature(stamp, body)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature,
        }
        message = buttons[n][0]
        return Request(body.encode(), headers, f"{message['channel']}:{message['ts']}", n)

    return Taps(range(people), make)


def slack_signature(stamp: str, body: str) -> str:
    """``X-Slack-Signature`` of a request, as slack_sdk's ``SignatureVerifier`` makes it."""
    from slack_sdk.signature import SignatureVerifier

    signature = SignatureVerifier(SECRET).generate_signature(timestamp=stamp, body=body)
    assert signature is not None
    return signature


def teams_taps(delivered: Sequence[Json], people: int, *, service_url: str) -> Taps:
    """``adaptiveCard/action`` invokes as Teams posts them when person n taps an answer on the pulse card
    the bot sent them (``delivered``: as the local connector holds them), each with a fresh activity id."""
    from tests.teams.activities import TeamsActivities

    activities = TeamsActivities(service_url=service_url, app_id="", tenant_id=TENANT)
    # Whom each card went to: the bot may have named them by Teams id or Entra object id.
    by_member = {str(ident): d for d in delivered for m in d["members"] for ident in m.values() if ident}
    templates: dict[tuple[int, int], tuple[str, str]] = {}
    cards: dict[int, tuple[Json, Json, list[Json]]] = {}
    for n in range(people):
        member = teams_member(n)
        found = by_member.get(str(member["aadObjectId"])) or by_member.get(str(member["id"]))
        if found is None:
            raise RuntimeError(f"person {n} has no pulse card in Teams")
        card = found["activity"]["attachments"][0]["content"]
        actions = [
            action
            for element in card["body"]
            if element.get("type") == "ActionSet"
            for action in element["actions"]
            if action.get("type") == "Action.Execute"
        ]
        if len(actions) != 5:
            raise RuntimeError(f"the pulse card of person {n} has {len(actions)} buttons, not 5")
        cards[n] = (member, found, actions)

    def template_of(n: int, choice: int) -> tuple[str, str]:
        if (n, choice) not in templates:
            member, found, actions = cards[n]
            action = actions[choice]
            invoke = activities.card_action(
                action["verb"], action["data"], sender=member, message_id=str(found["activity_id"])
            )
            invoke["conversation"]["id"] = found["conversation_id"]
            invoke["id"] = "@@ID@@"
            before, after = json.dumps(invoke).split("@@ID@@")
            templates[(n, choice)] = (before, after)
        return templates[(n, choice)]

    ids = itertools.count(8_000_000_000_000_000_000)
    headers = {"Content-Type": "application/json"}

    def make(n: int, choice: int) -> Request:
        before, after = template_of(n, choice)
        body = f"{before}f:{next(ids)}{after}"
        return Request(body.encode(), headers, str(cards[n][1]["conversation_id"]), n)

    return Taps(range(people), make)


def slack_ok(status: int, body: bytes) -> bool:
    """Slack wants a 200 within 3 seconds; the ack's body is empty."""
    return status == 200


def teams_ok(status: int, body: bytes) -> bool:
    """A Universal Action is answered 200 with the refreshed card."""
    return status == 200 and CARD.encode() in body


# ---- the load generator ---------------------------------------------------------------------------------


@dataclass
class Phase:
    """What one load phase sent and got back."""

    name: str
    started: float = 0.0  # wall clock (time.time) at the start
    elapsed: float = 0.0  # seconds, until the last answer came back
    latencies: list[float] = field(default_factory=list)  # seconds; open loop: from the scheduled send time
    statuses: Counter[int] = field(default_factory=Counter)  # 0: no HTTP answer (connection error, timeout)
    bad: int = 0  # not answered as the platform needs (a non-200, or no card)
    sent: list[tuple[str, float]] = field(default_factory=list)  # (message key, wall clock when due)
    people: set[int] = field(default_factory=set)

    @property
    def count(self) -> int:
        """Requests answered (or failed) in this phase."""
        return len(self.latencies)

    @property
    def ok(self) -> int:
        """Requests answered as the platform needs."""
        return self.count - self.bad

    @property
    def throughput(self) -> float:
        """Requests answered a second."""
        return self.count / self.elapsed if self.elapsed else 0.0

    def percentile(self, p: float) -> float:
        """The ``p``-th percentile of the latencies, in seconds."""
        return percentile(self.latencies, p)


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


Check = Callable[[int, bytes], bool]


async def _one(
    session: aiohttp.ClientSession, url: str, request: Request, check: Check, phase: Phase, due: float
) -> None:
    """Send one request; its latency counts from ``due`` (perf_counter), so waiting to be sent counts."""
    try:
        async with session.post(url, data=request.body, headers=request.headers) as response:
            body = await response.read()
            status = response.status
    except (aiohttp.ClientError, TimeoutError):
        status, body = 0, b""
    phase.latencies.append(time.perf_counter() - due)
    phase.statuses[status] += 1
    if not check(status, body):
        phase.bad += 1


async def closed_loop(
    session: aiohttp.ClientSession,
    url: str,
    taps: Taps,
    check: Check,
    *,
    name: str,
    clients: int,
    seconds: float,
) -> Phase:
    """``clients`` senders, each sending its next request as soon as the last one is answered."""
    phase = Phase(name, started=time.time())
    start = time.perf_counter()
    deadline = start + seconds

    async def client() -> None:
        while (now := time.perf_counter()) < deadline:
            request = taps.next()
            phase.sent.append((request.key, time.time()))
            phase.people.add(request.person)
            await _one(session, url, request, check, phase, now)

    await asyncio.gather(*(client() for _ in range(clients)))
    phase.elapsed = time.perf_counter() - start
    return phase


async def open_loop(
    session: aiohttp.ClientSession,
    url: str,
    taps: Taps,
    check: Check,
    *,
    name: str,
    rate: float,
    seconds: float,
) -> Phase:
    """Requests due at fixed times, ``rate`` a second, each sent when due whatever the others are doing."""
    phase = Phase(name)
    total = max(1, round(rate * seconds))
    start = time.perf_counter() + 0.05
    wall = time.time() + 0.05
    phase.started = wall
    pending: set[asyncio.Task[None]] = set()
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        request = taps.next()
        phase.sent.append((request.key, wall + i / rate))
        phase.people.add(request.person)
        task = asyncio.create_task(_one(session, url, request, check, phase, due))
        pending.add(task)
        task.add_done_callback(pending.discard)
    if pending:
        await asyncio.gather(*pending)
    phase.elapsed = time.perf_counter() - start
    return phase
