"""Improvement ideas, campaigns that ask for them, and the pipeline they move through."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from dialogue.directory import Audience


class IdeaStatus(StrEnum):
    """Where an idea is in the pipeline."""

    NEW = "new"
    UNDER_REVIEW = "under_review"
    PILOTING = "piloting"
    IMPLEMENTED = "implemented"
    SPREAD = "spread"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"  # taken back by its author while new: out of every list, its words deleted

    @property
    def label(self) -> str:
        """Human wording, e.g. ``under review``."""
        return self.value.replace("_", " ")


OPEN_STATUSES = frozenset({IdeaStatus.NEW, IdeaStatus.UNDER_REVIEW, IdeaStatus.PILOTING})

# The pipeline: each status may move only to the ones listed.
TRANSITIONS: dict[IdeaStatus, frozenset[IdeaStatus]] = {
    IdeaStatus.NEW: frozenset({IdeaStatus.UNDER_REVIEW, IdeaStatus.DECLINED}),
    # A quick win needs no pilot: done the same week, it would otherwise wait on a pretend one.
    IdeaStatus.UNDER_REVIEW: frozenset({IdeaStatus.PILOTING, IdeaStatus.IMPLEMENTED, IdeaStatus.DECLINED}),
    IdeaStatus.PILOTING: frozenset({IdeaStatus.IMPLEMENTED, IdeaStatus.DECLINED}),
    IdeaStatus.IMPLEMENTED: frozenset({IdeaStatus.SPREAD}),
    IdeaStatus.SPREAD: frozenset(),
    IdeaStatus.DECLINED: frozenset({IdeaStatus.UNDER_REVIEW}),  # "we will revisit in April"
    IdeaStatus.WITHDRAWN: frozenset(),
}


def in_pipeline_order(statuses: Iterable[IdeaStatus]) -> list[IdeaStatus]:
    """``statuses`` as the pipeline runs, declined last: a form's first choice is never the one that ends
    an idea."""
    order = list(IdeaStatus)
    return sorted(statuses, key=order.index)


def parse_status(word: str) -> IdeaStatus | None:
    """Accept ``under_review``, ``under-review`` or ``review``-style words; None if unknown."""
    cleaned = word.strip().lower().replace("-", "_").replace(" ", "_")
    # Words managers type on a phone for the pipeline's steps.
    aliases = {
        "review": IdeaStatus.UNDER_REVIEW,
        "in_review": IdeaStatus.UNDER_REVIEW,
        "reviewing": IdeaStatus.UNDER_REVIEW,
        "pilot": IdeaStatus.PILOTING,
        "trial": IdeaStatus.PILOTING,
        "trialling": IdeaStatus.PILOTING,
        "done": IdeaStatus.IMPLEMENTED,
        "implement": IdeaStatus.IMPLEMENTED,
        "decline": IdeaStatus.DECLINED,
        "rejected": IdeaStatus.DECLINED,
    }
    if cleaned in aliases:
        return aliases[cleaned]
    try:
        status = IdeaStatus(cleaned)
    except ValueError:
        return None
    return None if status is IdeaStatus.WITHDRAWN else status  # its author's step, in no list


@dataclass(frozen=True)
class Campaign:
    """A challenge tied to a strategic priority that prompts people for ideas."""

    id: int
    name: str
    priority: str
    prompt: str
    audience: Audience
    active: bool = True


@dataclass(frozen=True)
class Idea:
    """An idea. Anonymous ideas have no author id, only a pseudonymous reply route."""

    id: int
    text: str
    status: IdeaStatus
    created_at: datetime
    author_id: int | None  # None when anonymous
    route: str | None  # pseudonymous reply route of an anonymous author
    team_id: int | None  # the originating team
    campaign_id: int | None = None
    owner_id: int | None = None
    votes: int = 0

    @property
    def anonymous(self) -> bool:
        """True when nobody may know who wrote it."""
        return self.author_id is None


@dataclass(frozen=True)
class IdeaEvent:
    """One entry of an idea's history."""

    idea_id: int
    at: datetime
    by_id: int | None
    kind: str  # "submitted", "status", "owner", "adopted"
    from_status: IdeaStatus | None = None
    to_status: IdeaStatus | None = None
    reason: str = ""


@dataclass(frozen=True)
class Comment:
    """A comment on an idea. The author of an anonymous idea comments on it without a name: ``author_id``
    None and ``by_author`` set."""

    idea_id: int
    author_id: int | None
    text: str
    at: datetime
    by_author: bool = False


@dataclass(frozen=True)
class Adoption:
    """Another team taking up an implemented idea."""

    idea_id: int
    team_id: int
    by_id: int
    note: str
    at: datetime
