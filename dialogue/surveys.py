"""Pulse surveys and check-ins: their items, runs (occurrences) and answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from dialogue.directory import Audience, Person


class SurveyKind(StrEnum):
    """A pulse is a short survey; a check-in also has an owner who gets a digest and replies."""

    PULSE = "pulse"
    CHECKIN = "checkin"


NAMED_RESPONDENT = "person:"  # how a survey that is not anonymous keys answers: "person:<id>"


def owner_role(kind: SurveyKind) -> str:
    """Who may own a survey of this kind: a check-in's reply goes out in a senior leader's name."""
    return "senior leader" if kind is SurveyKind.CHECKIN else "manager or senior leader"


def fit_owner(person: Person, kind: SurveyKind) -> bool:
    """Whether ``person`` may own (and so get the digest of) a survey of this kind now."""
    return person.active and (person.is_senior_leader if kind is SurveyKind.CHECKIN else person.is_manager)


class ItemKind(StrEnum):
    """Question kinds."""

    SCALE = "scale"  # 1-5
    ENPS = "enps"  # 0-10
    YES_NO = "yes_no"
    CHOICE = "choice"  # one of the listed options
    TEXT = "text"  # free text (an open prompt)

    @property
    def numeric(self) -> bool:
        """Answers that have a mean."""
        return self in (ItemKind.SCALE, ItemKind.ENPS)


@dataclass(frozen=True)
class SurveyItem:
    """One question of a survey, in order."""

    id: int
    position: int
    kind: ItemKind
    text: str
    options: tuple[str, ...] = ()  # for CHOICE


@dataclass(frozen=True)
class Survey:
    """A pulse survey or a check-in."""

    id: int
    name: str
    kind: SurveyKind
    items: tuple[SurveyItem, ...]
    audience: Audience
    anonymous: bool = True
    owner_id: int | None = None  # check-ins: the senior leader who gets the digest
    open_hours: int = 72  # how long each run stays open
    remind_after_hours: int | None = 24  # None: no reminder
    intro: str = ""


class OccurrenceKind(StrEnum):
    """What an occurrence runs."""

    PULSE = "pulse"
    CHECKIN = "checkin"
    CAMPAIGN = "campaign"


@dataclass(frozen=True)
class Occurrence:
    """One run of a survey, check-in or campaign prompt; ``key`` is unique (idempotent firing)."""

    id: int
    key: str
    kind: OccurrenceKind
    target_id: int  # survey id or campaign id
    opens_at: datetime
    closes_at: datetime
    remind_at: datetime | None = None
    schedule_id: int | None = None
    closed: bool = False
    reminded: bool = False
    reply_text: str = ""  # the owner's "you said, we did" reply (check-ins)
    reply_draft: str = ""  # a reply the owner wrote in the conversation, waiting for them to send it
    wall_day: date | None = None  # a local-time run's day, the same wherever it goes (see run_day)


@dataclass(frozen=True)
class Recipient:
    """A person an occurrence was sent to, with the team their answers count under."""

    person_id: int
    team_id: int | None


@dataclass(frozen=True)
class Answer:
    """One answer. ``respondent`` is a keyed hash for anonymous surveys, never the person id."""

    occurrence_id: int
    item_id: int
    respondent: str
    team_id: int | None
    number: int | None = None
    text: str | None = None
    person_id: int | None = None  # only for surveys that are not anonymous


@dataclass(frozen=True)
class Tally:
    """One item's numeric answers in one run, counted where they are stored: how many, their sum, and
    how many were promoters (9-10) and detractors (0-6) on an eNPS scale. Enough for an overall score."""

    n: int
    total: int
    promoters: int
    detractors: int


@dataclass(frozen=True)
class NumberCount:
    """How many of a run's answers to one item, from one team, gave one number."""

    item_id: int
    team_id: int | None
    number: int
    count: int


@dataclass(frozen=True)
class RunCounts:
    """A run's answers counted where they are stored: enough for every figure but free text.

    ``numbers`` come in the order of each group's first answer (by respondent key, as answers are read)
    within its item, so teams whose labels tie keep the order that reading every answer gives them.
    """

    respondents: int  # distinct respondent keys with any answer, a skip included
    numbers: tuple[NumberCount, ...]  # answers with a number only: skips are not counted
