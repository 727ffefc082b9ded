"""Durable delivery of proactive messages: one row per recipient, sent by a worker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from dialogue.events import Identity
from dialogue.messages import Message


class DeliveryStatus(StrEnum):
    """A delivery row's state."""

    PENDING = "pending"
    SENDING = "sending"  # claimed by a worker; reclaimed when its lease runs out
    SENT = "sent"
    FAILED = "failed"  # permanently undeliverable


@dataclass(frozen=True)
class NewDelivery:
    """A message to enqueue. Exactly one of ``person_id``, ``route`` and ``channel`` is set.

    ``key`` is the idempotency key: enqueueing the same key twice stores one row.
    ``route`` is a pseudonymous reply route (see :mod:`dialogue.anonymity`), resolved to a
    person only in memory at send time, so no row links an anonymous author to a person.
    ``replaces`` names the key of an earlier delivery whose platform message this one
    updates in place instead of posting a new message.
    """

    key: str
    message: Message
    person_id: int | None = None
    route: str | None = None
    channel: str | None = None
    platform: str | None = None  # required with ``channel``; otherwise the person's platform
    not_before: datetime | None = None
    group: str | None = None  # e.g. "occurrence:12", to find a run's messages later
    replaces: str | None = None
    # Sent at ``not_before`` (or at once) whatever the person's quiet hours: the next question to someone
    # answering, or a time already made to respect them (see Env.send).
    keep_time: bool = False


@dataclass(frozen=True)
class Delivery:
    """A stored delivery row."""

    id: int
    key: str
    message: Message
    status: DeliveryStatus
    attempts: int
    not_before: datetime
    person_id: int | None = None
    route: str | None = None
    channel: str | None = None
    platform: str | None = None
    group: str | None = None
    replaces: str | None = None
    platform_ref: str | None = None
    last_error: str = ""


@dataclass(frozen=True)
class Sent:
    """A delivery the platform accepted: where it went and its message's ref there (None: not kept; both
    are not kept for a message to an anonymous author, as they would narrow down who that is)."""

    delivery_id: int
    platform: str | None
    platform_ref: str | None
    at: datetime


@dataclass(frozen=True)
class Address:
    """Where a sender should post: a person's account, or a named channel (optionally in a thread)."""

    identity: Identity | None = None
    channel: str | None = None  # logical channel name, e.g. "qa"; the sender maps it to its own id
    thread_ref: str | None = None  # platform ref of the thread's first message
    contact: Contact | None = None  # how the platform lets us reach ``identity``, when already looked up
    anonymous: bool = False  # to the author of something anonymous: a sender that reports whom it reached
    # (the console, on screen) must not name them


class RetryLater(Exception):
    """The platform asked us to slow down or failed transiently; try again after ``retry_after`` seconds.

    ``rate_limited``: the platform itself said to wait (HTTP 429 with ``Retry-After``), so every send to it
    pauses; otherwise only this message waits (a server error, the network, an earlier message first).
    """

    def __init__(self, retry_after: float, reason: str = "", *, rate_limited: bool = False) -> None:
        super().__init__(reason or f"retry after {retry_after}s")
        self.retry_after = retry_after
        self.rate_limited = rate_limited


class Undeliverable(Exception):
    """The message can never be delivered (user gone, app removed, channel missing)."""


@dataclass(frozen=True)
class Contact:
    """How a platform lets us reach someone (or a channel) proactively, kept as the platform gave it.

    ``key`` names what is reached, e.g. ``"user:<tenant>:<user id>"`` or ``"channel:qa"``; ``data``
    is opaque to the core (a Teams conversation reference). ``reachable`` turns False when the
    person removed the app, so the outbox stops trying rather than retrying for ever.
    """

    platform: str
    key: str
    data: dict[str, Any]
    reachable: bool = True
    updated_at: datetime | None = None


def contact_key(who: Identity) -> str:
    """The :class:`Contact` key of a person's platform identity."""
    return f"user:{who.tenant}:{who.user_id}"
