"""The connector client the outbox sends through: botbuilder's ``ConnectorClient`` on aiohttp.

botbuilder's connector client sends with ``requests`` on a thread pool (msrest's default transport), and
msrest walks every string of an Adaptive Card to serialise it. Under a fan-out that was most of a Teams
send's CPU (py-spy over ``benchmarks.fanout --platform teams --limits none``: 48% in msrest's body
serialiser, and the requests threads busier than the event loop). This client keeps botbuilder's generated
operations, models and errors and changes two things through msrest's own extension points:

- the HTTP transport is the process's aiohttp session (a pipeline sender), with the bot's bearer token put
  on each call by a pipeline policy, as msrest's requests credentials policy does;
- a card attachment's content, already plain JSON that we built, goes into the body as it is, and the
  activity is not walked for model constraints (botbuilder's models declare none);
- the connector's answer to a send, ``{"id": ...}``, is read as the ``ResourceResponse`` it is, without
  msrest's general model deserialiser (a tenth of a send's CPU for one string).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from enum import Enum
from typing import Any

import aiohttp
from botframework.connector import models
from botframework.connector.aio import ConnectorClient
from botframework.connector.aio.operations_async import ConversationsOperations
from botframework.connector.auth import AppCredentials, AuthenticationConstants
from msrest import Deserializer, Serializer
from msrest.pipeline import Request, Response
from msrest.pipeline.async_abc import AsyncHTTPPolicy, AsyncHTTPSender, AsyncPipeline
from msrest.pipeline.universal import RawDeserializer
from msrest.serialization import Model
from msrest.universal_http.aiohttp import AioHttpClientResponse

# MSAL hands out a cached token only while it has more than five minutes left, so one fetched token is good
# for four; fetching it (MSAL's cache lookup, or a blocking call to Entra ID near expiry) runs on a thread.
TOKEN_REUSE = 240.0  # seconds


class TeamsConnector(ConnectorClient):  # type: ignore[misc]  # untyped library
    """botbuilder's connector client for ``base_url`` sending through ``session`` (see the module's doc)."""

    def __init__(self, credentials: AppCredentials, base_url: str, session: aiohttp.ClientSession) -> None:
        super().__init__(credentials, base_url, pipeline_type=lambda config: _pipeline(config, session))
        self._serialize = _CardsAsTheyAre(_CLASSES)  # type: ignore[no-untyped-call]
        # msrest's client-side check walks the whole activity again on every call (an eighth of a send's
        # CPU) looking for constraints, and the Bot Framework's models declare none.
        self._serialize.client_side_validation = False
        self._deserialize = _ResourceAnswers(_CLASSES)  # type: ignore[no-untyped-call]
        self.conversations = ConversationsOperations(
            self._client, self.config, self._serialize, self._deserialize
        )


def _pipeline(config: Any, session: aiohttp.ClientSession) -> AsyncPipeline[Any, Any]:
    """msrest's default pipeline for the connector, with aiohttp as the transport."""
    timeout = aiohttp.ClientTimeout(total=config.connection.timeout)
    return AsyncPipeline(
        [
            config.user_agent_policy,
            _BearerToken(config.credentials),
            RawDeserializer(),
            config.http_logger_policy,
        ],
        _AiohttpSender(session, timeout),
    )


class _BearerToken(AsyncHTTPPolicy[Any, Any]):
    """Puts the bot's token in ``Authorization``; none when the bot has no app id (local development)."""

    def __init__(self, credentials: AppCredentials) -> None:
        super().__init__()
        self._credentials = credentials
        app_id = credentials.microsoft_app_id
        self._anonymous = not app_id or app_id == AuthenticationConstants.ANONYMOUS_SKILL_APP_ID
        self._token = ""
        self._fetched = 0.0
        self._lock = asyncio.Lock()

    async def send(self, request: Request[Any], **kwargs: Any) -> Response[Any, Any]:
        """Sign the call and pass it on."""
        if not self._anonymous:
            request.http_request.headers["Authorization"] = f"Bearer {await self._current()}"
        assert self.next is not None  # the pipeline links every policy to the next
        return await self.next.send(request, **kwargs)

    async def _current(self) -> str:
        async with self._lock:  # one fetch when many sends find the token stale at once
            if time.monotonic() - self._fetched > TOKEN_REUSE:
                self._token = await asyncio.to_thread(self._credentials.get_access_token)
                self._fetched = time.monotonic()
            return self._token


class _AiohttpSender(AsyncHTTPSender[Any, Any]):
    """Sends msrest's request through a shared aiohttp session and reads the whole answer."""

    def __init__(self, session: aiohttp.ClientSession, timeout: aiohttp.ClientTimeout) -> None:
        self._session = session
        self._timeout = timeout

    async def __aenter__(self) -> _AiohttpSender:
        return self

    async def __aexit__(self, *exc_details: object) -> None:
        return None  # the session belongs to the app, which closes it

    async def send(self, request: Request[Any], **config: Any) -> Response[Any, Any]:
        """One HTTP call; msrest's operations then check the status and read the body."""
        http = request.http_request
        async with self._session.request(
            http.method, http.url, headers=dict(http.headers), data=http.data, timeout=self._timeout
        ) as raw:
            response = _Answer(http, raw)
            await response.load_body()
        return Response(request, response)


class _Answer(AioHttpClientResponse):
    """msrest's aiohttp response, for which an empty body (a bare 429, say) is not an error."""

    def body(self) -> bytes:
        return self._body or b""


class Unplain(Exception):
    """Something the quick walks of botbuilder's models leave to msrest (a dict where a model belongs, a
    flattened key, a type they do not know): here for what we send, in from_json.py for what we read."""


class _CardsAsTheyAre(Serializer):
    """msrest's serialiser, except that an activity is walked quickly and its cards are copied as they are.

    Our cards are plain JSON already, and msrest's walk of every string in them cost more than the whole
    HTTP call. For the activity itself msrest first runs its deserialiser over the model "just in case it
    is a dict", then serialises it attribute by attribute through its general machinery (together a tenth
    of a send's CPU); the quick walk gives the same JSON for the models botbuilder builds, and anything
    it does not know sends the whole activity the general way.
    """

    def body(self, data: Any, data_type: str, **kwargs: Any) -> Any:
        """The request body for ``data`` of msrest type ``data_type``."""
        if data_type == "Activity" and isinstance(data, models.Activity) and not kwargs:
            with contextlib.suppress(Unplain):
                return self._plain(data, data_type)
        attachments = getattr(data, "attachments", None) if data_type == "Activity" else None
        plain = [a for a in attachments or () if isinstance(a.content, dict)]  # not botbuilder's models
        if not plain:
            return super().body(data, data_type, **kwargs)  # type: ignore[no-untyped-call]
        contents = [attachment.content for attachment in plain]
        try:
            for attachment in plain:
                attachment.content = None
            body = super().body(data, data_type, **kwargs)  # type: ignore[no-untyped-call]
        finally:
            for attachment, content in zip(plain, contents, strict=True):
                attachment.content = content
        serialised_of = dict(zip(map(id, attachments or ()), body["attachments"], strict=True))
        for attachment, content in zip(plain, contents, strict=True):
            serialised_of[id(attachment)]["content"] = content
        return body

    def _plain(self, value: Any, data_type: str) -> Any:
        """``value`` of msrest type ``data_type`` as msrest would serialise it (None stays None)."""
        if value is None:
            return None
        if data_type == "str":
            return value.value if isinstance(value, Enum) else str(value)
        if data_type in _BASIC:
            return _BASIC[data_type](value)
        if data_type == "object":
            return self.serialize_object(value)  # type: ignore[no-untyped-call]
        if data_type.startswith("[") and data_type.endswith("]"):
            if not isinstance(value, list):
                raise Unplain(data_type)
            return [self._plain(item, data_type[1:-1]) for item in value]
        model = self.dependencies.get(data_type)
        if model is None or issubclass(model, Enum):
            return self.serialize_data(value, data_type)  # type: ignore[no-untyped-call]
        if not isinstance(value, Model) or value._validation:
            raise Unplain(data_type)
        return self._fields(value)

    def _fields(self, model: Any) -> dict[str, Any]:
        card = isinstance(model, models.Attachment) and isinstance(model.content, dict)
        out: dict[str, Any] = {}
        for name, description in model._attribute_map.items():
            key = description["key"]
            if not key or "." in key:  # additional properties, or a key msrest would unflatten
                raise Unplain(key)
            field = getattr(model, name)
            if card and name == "content":
                out[key] = field  # our card: plain JSON already
            elif field is not None:
                out[key] = self._plain(field, description["type"])
        return out


_BASIC: dict[str, Callable[[Any], Any]] = {"bool": bool, "int": int, "float": float}


def as_json(model: Model) -> Any:
    """``model.serialize()``, walked quickly for botbuilder's plain models (a conversation reference kept at
    every turn, say); anything the quick walk does not know goes msrest's way."""
    with contextlib.suppress(Unplain):
        return _QUICK._plain(model, type(model).__name__)
    return model.serialize()  # type: ignore[no-untyped-call]


class _ResourceAnswers(Deserializer):
    """msrest's deserialiser, except that a ``ResourceResponse`` (the answer to every send and update) is
    made directly from its one field."""

    def _deserialize(self, target_obj: Any, data: Any) -> Any:
        if target_obj == "ResourceResponse" and isinstance(data, dict):
            return models.ResourceResponse(id=data.get("id"))
        return super()._deserialize(target_obj, data)  # type: ignore[no-untyped-call]


_CLASSES = {name: value for name, value in vars(models).items() if isinstance(value, type)}
_QUICK = _CardsAsTheyAre(_CLASSES)  # type: ignore[no-untyped-call]
