"""Inbound events: what adapters turn platform activity into before calling the core."""

from __future__ import annotations

from dataclasses import dataclass, field


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
