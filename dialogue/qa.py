"""Questions to senior managers, answered in the open."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class QuestionStatus(StrEnum):
    """A question's life."""

    HELD = "held"  # anonymous and waiting for moderation
    OPEN = "open"
    ANSWERED = "answered"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"  # taken back by its asker before anyone answered


@dataclass(frozen=True)
class Question:
    """A question. Anonymous questions keep no asker id, only a pseudonymous reply route."""

    id: int
    text: str
    status: QuestionStatus
    created_at: datetime
    asker_id: int | None  # None when anonymous
    route: str | None  # pseudonymous reply route of an anonymous asker
    addressed_to_id: int | None = None
    votes: int = 0
    flagged: bool = False

    @property
    def anonymous(self) -> bool:
        """True when nobody may know who asked."""
        return self.asker_id is None


@dataclass(frozen=True)
class QaPost:
    """An answer or a follow-up in a question's thread."""

    question_id: int
    kind: str  # "answer" or "followup"
    text: str
    at: datetime
    author_id: int | None  # None for the anonymous asker following up
    by_asker: bool = False


@dataclass(frozen=True)
class ModerationEntry:
    """One moderation decision, kept for admins to read."""

    question_id: int
    admin_id: int
    decision: str  # "approved", "rejected" (held, never posted) or "removed" (taken down once posted)
    reason: str
    at: datetime
