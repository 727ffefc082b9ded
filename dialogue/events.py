"""Inbound events: what adapters turn platform activity into before calling the core."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, fields, is_dataclass, replace
from typing import Any, TypeVar


@dataclass(frozen=True)
class Identity:
    """A person's account on one platform (``tenant`` is the Slack team or Teams tenant)."""

    platform: str
    tenant: str
    user_id: str


@dataclass(frozen=True)
class Profile:
    """What a platform tells us about someone we have not met (used to create them)."""

    display_name: str = ""
    time_zone: str = ""


# Fetches someone's profile from their platform (a Slack API call): the core calls it only for a stranger.
ProfileLookup = Callable[[], Awaitable[Profile]]


@dataclass(frozen=True)
class Command:
    """An explicit command: a slash command, a bot command or a console command line."""

    who: Identity
    text: str
    profile: Profile = field(default_factory=Profile)


@dataclass(frozen=True)
class Said:
    """Free text sent to the bot in a direct conversation (may be a command or a reply)."""

    who: Identity
    text: str
    profile: Profile = field(default_factory=Profile)


@dataclass(frozen=True)
class Chose:
    """A click on one option of a :class:`dialogue.messages.Choices`."""

    who: Identity
    action: str
    ref: str
    value: str
    profile: Profile = field(default_factory=Profile)


@dataclass(frozen=True)
class Submitted:
    """A submitted :class:`dialogue.messages.Form`."""

    who: Identity
    form: str
    ref: str
    values: dict[str, str]
    profile: Profile = field(default_factory=Profile)


@dataclass(frozen=True)
class ThreadReply:
    """A reply posted in a question's thread on a platform (becomes a follow-up)."""

    who: Identity
    thread: str
    text: str
    profile: Profile = field(default_factory=Profile)


Event = Command | Said | Chose | Submitted | ThreadReply


# NUL and lone surrogates: valid in a Python str (and in JSON's \u escapes) but not storable in PostgreSQL
# text or encodable as UTF-8, so a message carrying one would fail deep in the database.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_Data = TypeVar("_Data")


def storable(text: str) -> str:
    """``text`` with NUL characters dropped and lone surrogates replaced by U+FFFD."""
    return _UNSTORABLE.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", text)


def cleaned(data: _Data) -> _Data:
    """An event (or any of its parts) with every string in it made :func:`storable`."""
    value: Any = data
    if isinstance(value, str):
        return storable(value)  # type: ignore[return-value]
    if isinstance(value, dict):
        return {cleaned(k): cleaned(v) for k, v in value.items()}  # type: ignore[return-value]
    if is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: cleaned(getattr(value, f.name)) for f in fields(value)}
        return replace(value, **changes)  # type: ignore[return-value]
    return data
