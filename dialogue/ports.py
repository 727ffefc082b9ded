"""The core's boundary: what it needs from storage, the clock and the platforms.

Storage implements :class:`Store`; each call of :meth:`Store.transaction` is one unit of
work whose repositories see and change the database atomically. Repository methods that
add something that may already exist return ``None`` or ``False`` instead of raising, so
a repeated request is harmless (unique constraints decide, also across replicas).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import date, datetime
from typing import Protocol

from dialogue.directory import Audience, Person, Role, Team
from dialogue.events import Identity
from dialogue.ideas import Adoption, Campaign, Comment, Idea, IdeaEvent, IdeaStatus
from dialogue.messages import Message
from dialogue.outbox import Address, Contact, Delivery, DeliveryStatus, NewDelivery, Sent
from dialogue.qa import ModerationEntry, QaPost, Question, QuestionStatus
from dialogue.schedules import Schedule
from dialogue.surveys import (
    Answer,
    ItemKind,
    Occurrence,
    OccurrenceKind,
    Recipient,
    RunCounts,
    Survey,
    SurveyKind,
    Tally,
)


class Clock(Protocol):
    """Where the time comes from (real, or moved by tests and the console)."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class Sender(Protocol):
    """A platform's outbound side, used by the delivery worker."""

    @property
    def platform(self) -> str:
        """The platform name identities use, e.g. ``"slack"``."""
        ...

    async def send(self, *, to: Address, message: Message) -> str:
        """Post ``message``; return the platform's reference to it (for updates and threads).

        Raises :class:`dialogue.outbox.RetryLater` or :class:`dialogue.outbox.Undeliverable`.
        """
        ...

    async def update(self, *, ref: str, message: Message) -> None:
        """Replace the message ``ref`` in place (same errors as :meth:`send`)."""
        ...


class DirectoryRepo(Protocol):
    """People, teams, memberships and platform identities."""

    async def get_person(self, person_id: int) -> Person | None: ...
    async def person_by_handle(self, handle: str) -> Person | None:
        """Case-insensitive lookup by handle."""
        ...

    async def person_by_identity(self, identity: Identity) -> Person | None: ...
    async def upsert_person(
        self, *, handle: str, display_name: str, time_zone: str, roles: Collection[Role]
    ) -> Person:
        """Create the person with this handle, or update name, time zone and roles."""
        ...

    async def set_active(self, person_id: int, active: bool) -> None: ...
    async def set_away(self, person_id: int, until: date | None) -> None:
        """Mark the person away (on leave) until ``until``, or back with None."""
        ...

    async def forget_away(self, before: date) -> int:
        """Forget the days people were back on that are before ``before``; how many."""
        ...

    async def set_quiet_hours(self, person_id: int, hours: str | None) -> None:
        """Set the person's own quiet hours (``""``: none; None: the organisation's)."""
        ...

    async def people_by_ids(self, person_ids: Collection[int]) -> list[Person]:
        """These people, active or not, in one query."""
        ...

    async def set_teams(self, person_id: int, team_ids: Collection[int]) -> None:
        """Replace the person's team memberships."""
        ...

    async def add_identity(self, person_id: int, identity: Identity) -> None:
        """Link an identity to the person (moving it if another person had it)."""
        ...

    async def identities(self, person_id: int) -> list[Identity]:
        """The person's identities, most recently linked or seen first."""
        ...

    async def reachable(self, person_ids: Collection[int]) -> dict[int, list[Identity]]:
        """The identities of each of these people who is active (most recent first, possibly none);
        people switched off or unknown are left out. One query for a whole batch of messages."""
        ...

    async def touch_identity(self, identity: Identity) -> None:
        """Record that this identity was just active (it becomes the person's preferred one)."""
        ...

    async def upsert_team(self, *, name: str, parent_id: int | None) -> Team:
        """Create the team with this name (case-insensitive), or update its parent."""
        ...

    async def get_team(self, team_id: int) -> Team | None: ...
    async def team_by_name(self, name: str) -> Team | None:
        """Case-insensitive lookup by name."""
        ...

    async def teams(self) -> list[Team]: ...
    async def people(self, *, team_ids: Collection[int] | None = None) -> list[Person]:
        """Active people, ordered by id; only members of ``team_ids`` when given."""
        ...

    async def people_with_role(self, role: Role) -> list[Person]:
        """Active people holding ``role``, ordered by id."""
        ...

    async def everyone(self) -> list[Person]:
        """Every person, switched off too, ordered by id (an import compares each row with them)."""
        ...

    async def all_identities(self) -> dict[int, set[Identity]]:
        """Every person's identities, by person id, in one query (an import looks for new accounts)."""
        ...


class IdeaRepo(Protocol):
    """Campaigns, ideas, their history, votes, comments and adoptions."""

    async def add_campaign(self, *, name: str, priority: str, prompt: str, audience: Audience) -> Campaign:
        """Create a campaign, or update the one with this name."""
        ...

    async def get_campaign(self, campaign_id: int) -> Campaign | None: ...
    async def campaign_by_name(self, name: str) -> Campaign | None: ...
    async def campaigns(self) -> list[Campaign]: ...
    async def ideas_per_campaign(self) -> dict[int, int]:
        """How many ideas each campaign has brought in (campaigns with none left out)."""
        ...

    async def add_idea(
        self,
        *,
        text: str,
        at: datetime,
        author_id: int | None,
        route: str | None,
        team_id: int | None,
        campaign_id: int | None,
    ) -> Idea:
        """Store a new idea with status NEW and no votes."""
        ...

    async def set_route(self, idea_id: int, route: str) -> None:
        """Set the pseudonymous reply route of an anonymous idea (it depends on the id)."""
        ...

    async def get_idea(self, idea_id: int) -> Idea | None: ...
    async def ideas(
        self,
        *,
        statuses: Collection[IdeaStatus] | None = None,
        author_id: int | None = None,
        owner_id: int | None = None,
        campaign_id: int | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> list[Idea]:
        """Ideas matching every given filter (withdrawn ones only if asked for), most votes first, then newest
        first."""
        ...

    async def count_ideas(self, *, statuses: Collection[IdeaStatus] | None = None) -> int:
        """How many ideas have one of these statuses (any but withdrawn, if None)."""
        ...

    async def set_status(self, idea_id: int, expected: IdeaStatus, status: IdeaStatus) -> bool:
        """Move the idea from ``expected`` to ``status``; False if it was no longer ``expected``."""
        ...

    async def withdraw(self, idea_id: int) -> bool:
        """Take a new idea back for its author: its words, who shared it, its comments, votes and history and
        every message about it so far are not kept (a named idea withdrawn beside an anonymous twin would
        otherwise tie the two). False if it was no longer new."""
        ...

    async def set_owner(self, idea_id: int, owner_id: int) -> None: ...
    async def add_event(self, event: IdeaEvent) -> None: ...
    async def history(self, idea_id: int) -> list[IdeaEvent]:
        """The idea's events, oldest first."""
        ...

    async def add_vote(self, idea_id: int, person_id: int) -> bool:
        """Record a vote; False if this person already voted for this idea."""
        ...

    async def voters(self, idea_id: int) -> list[int]:
        """Who voted for the idea."""
        ...

    async def add_comment(self, comment: Comment) -> None: ...
    async def comments(self, idea_id: int) -> list[Comment]:
        """In the order written (an anonymous author's keep only the hour: their times may read earlier)."""
        ...

    async def add_adoption(self, adoption: Adoption) -> bool:
        """Record an adoption; False if that team already adopted this idea."""
        ...

    async def adoptions(self, idea_id: int) -> list[Adoption]: ...


class SurveyRepo(Protocol):
    """Pulse surveys and check-ins, their runs, recipients and answers."""

    async def add_survey(
        self,
        *,
        name: str,
        kind: SurveyKind,
        items: Sequence[tuple[ItemKind, str, tuple[str, ...]]],
        audience: Audience,
        anonymous: bool,
        owner_id: int | None,
        open_hours: int,
        remind_after_hours: int | None,
        intro: str,
    ) -> Survey:
        """Create a survey, or replace the definition of the one with this name.

        ``items`` are ``(kind, text, options)`` in order. Replacing keeps the item ids of
        items whose position is unchanged, so earlier answers stay attached.
        """
        ...

    async def get_survey(self, survey_id: int) -> Survey | None: ...
    async def survey_by_name(self, name: str) -> Survey | None:
        """Case-insensitive lookup by name."""
        ...

    async def answered_items(self, survey_id: int) -> set[int]:
        """The ids of the survey's questions that have at least one answer, from any run."""
        ...

    async def surveys(self, kind: SurveyKind | None = None) -> list[Survey]: ...

    async def add_occurrence(
        self,
        *,
        key: str,
        kind: OccurrenceKind,
        target_id: int,
        opens_at: datetime,
        closes_at: datetime,
        remind_at: datetime | None,
        schedule_id: int | None,
        wall_day: date | None = None,
    ) -> Occurrence | None:
        """Create the occurrence; None if one with this key already exists (idempotent firing)."""
        ...

    async def get_occurrence(self, occurrence_id: int) -> Occurrence | None: ...
    async def occurrences(self, *, kind: OccurrenceKind, target_id: int, limit: int = 12) -> list[Occurrence]:
        """The target's runs, newest first."""
        ...

    async def open_occurrences(self) -> list[Occurrence]:
        """Occurrences not yet closed, oldest first."""
        ...

    async def due_to_close(self, now: datetime) -> list[Occurrence]:
        """Open occurrences whose ``closes_at`` is at or before ``now``."""
        ...

    async def due_reminders(self, now: datetime) -> list[Occurrence]:
        """Open, not yet reminded occurrences whose ``remind_at`` is at or before ``now``."""
        ...

    async def next_event(self, after: datetime) -> datetime | None:
        """The earliest closes_at or pending remind_at of an open occurrence later than ``after``."""
        ...

    async def close(self, occurrence_id: int, *, at: datetime) -> bool:
        """Close it at ``at`` (its ``closes_at`` becomes ``at`` if that is earlier: closed early by hand);
        False if it was already closed (so closing happens once)."""
        ...

    async def settle_answers(self, occurrence_id: int) -> int:
        """Write a closed run's answers again, all at once and ordered by respondent key, and keep how many
        answered (for :meth:`respondent_count`); how many answers.

        Answers written as they came keep traces of who gave them, for someone reading the database
        itself: their place in the table follows the order they came in, and on PostgreSQL each keeps the
        id of the transaction that wrote it, which wrote that person's next question too. Written again
        together, the answers share one transaction; each anonymous respondent's keyed hash (which anyone
        with the secret key could compute again for every person) becomes a random token, which sets
        their place. Named respondents (``person:<id>``) stay as they are.
        """
        ...

    async def to_forget(self, closed_before: datetime, *, limit: int = 3) -> list[Occurrence]:
        """Closed pulse and check-in runs, closed at or before ``closed_before``, whose progress is kept: at
        most ``limit``, oldest first (a database upgraded with many closed runs catches up a few a tick,
        not in one long transaction)."""
        ...

    async def mark_forgotten(self, occurrence_id: int) -> bool:
        """Record that the run's progress is forgotten; False if it was already."""
        ...

    async def mark_reminded(self, occurrence_id: int) -> bool:
        """False if it was already reminded (so reminding happens once)."""
        ...

    async def remind_later(self, occurrence_id: int, *, was: datetime, at: datetime) -> bool:
        """Move its next reminder pass from ``was`` to ``at``; False if another pass moved it first."""
        ...

    async def set_reply(self, occurrence_id: int, text: str) -> None:
        """Store the owner's "you said, we did" reply."""
        ...

    async def set_reply_draft(self, occurrence_id: int, text: str) -> None:
        """Keep the owner's reply until they send it ("" forgets it)."""
        ...

    async def add_recipients(self, occurrence_id: int, recipients: Sequence[Recipient]) -> None:
        """Record who the occurrence was sent to (duplicates ignored)."""
        ...

    async def recipients(self, occurrence_id: int) -> list[Recipient]: ...
    async def invited(self, occurrence_id: int) -> int:
        """How many people the occurrence was sent to: ``len(recipients(...))`` without reading them."""
        ...

    async def is_recipient(self, occurrence_id: int, person_id: int) -> Recipient | None: ...
    async def run_as_sent(
        self, occurrence_id: int, person_id: int
    ) -> tuple[Occurrence, Survey | None, Recipient | None] | None:
        """The occurrence, its survey (None if the target is no survey, or gone) and the person's
        recipient record (None if it was not sent to them), in one query; None if there is no such run."""
        ...

    async def save_answer(self, answer: Answer) -> None:
        """Insert or replace the answer for (occurrence, item, respondent)."""
        ...

    async def answers(self, occurrence_id: int, item_ids: Collection[int] | None = None) -> list[Answer]:
        """The run's answers (to ``item_ids`` when given), by item, in respondent-key order."""
        ...

    async def tallies(self, occurrence_id: int) -> dict[int, Tally]:
        """The run's numeric answers counted by item (items nobody answered with a number are absent)."""
        ...

    async def counts(self, occurrence_id: int) -> RunCounts:
        """The run's distinct respondents, and its answers that have a number counted by item, team and
        number, each group where its first answer comes in :meth:`answers` (see :class:`RunCounts`)."""
        ...

    async def answers_of(
        self, occurrence_id: int, respondent: str, item_ids: Collection[int]
    ) -> list[Answer]:
        """One respondent's answers in the run to ``item_ids`` (its survey's items), by item: looked up by
        their whole key, so a tap costs the same in a run of 100,000 answers as in one of ten."""
        ...

    async def answer_counts(self, occurrence_id: int) -> dict[str, int]:
        """How many items each respondent key has answered."""
        ...

    async def respondent_count(self, occurrence_id: int) -> int:
        """How many answered at least one item, counted without reading them."""
        ...


class QuestionRepo(Protocol):
    """Questions to senior managers, their threads, votes and moderation."""

    async def add_question(
        self,
        *,
        text: str,
        at: datetime,
        asker_id: int | None,
        route: str | None,
        addressed_to_id: int | None,
        status: QuestionStatus,
    ) -> Question: ...
    async def set_route(self, question_id: int, route: str) -> None: ...
    async def get_question(self, question_id: int) -> Question | None: ...
    async def questions(
        self, *, statuses: Collection[QuestionStatus], limit: int = 20, offset: int = 0
    ) -> list[Question]:
        """Most votes first, then newest first."""
        ...

    async def count(self, *, statuses: Collection[QuestionStatus]) -> int:
        """How many questions have one of these statuses."""
        ...

    async def set_status(
        self,
        question_id: int,
        expected: Collection[QuestionStatus],
        status: QuestionStatus,
        *,
        posted_at: datetime | None = None,
    ) -> bool:
        """Change the status if it is one of ``expected``; False otherwise. ``posted_at`` dates it anew."""
        ...

    async def withdraw(self, question_id: int, expected: Collection[QuestionStatus]) -> bool:
        """Take the question back for its asker, if its status is one of ``expected``: its words, who asked
        it, its follow-ups and the words of every message about it so far are not kept (a named question
        withdrawn beside an anonymous twin would otherwise tie the two). False if it was not ``expected``."""
        ...

    async def upvoters(self, question_id: int) -> list[int]:
        """Who upvoted the question."""
        ...

    async def add_upvote(self, question_id: int, person_id: int) -> bool:
        """False if this person already upvoted this question."""
        ...

    async def add_post(self, post: QaPost) -> None: ...
    async def posts(self, question_id: int) -> list[QaPost]:
        """Answers and follow-ups in the order written (see :meth:`IdeaRepo.comments`)."""
        ...

    async def put_to(self, person_id: int) -> list[Question]:
        """Questions put to this person that nobody has answered yet (open, or held for moderation)."""
        ...

    async def overdue(self, before: datetime) -> list[Question]:
        """Open (unanswered), unflagged questions asked at or before ``before``."""
        ...

    async def held_waiting(self, before: datetime) -> list[Question]:
        """Questions held for moderation since ``before`` or earlier that moderators were not reminded of."""
        ...

    async def next_held(self, after_created: datetime) -> datetime | None:
        """The earliest created_at after ``after_created`` among held questions not yet reminded of."""
        ...

    async def mark_flagged(self, question_id: int) -> bool:
        """False if it was already flagged (overdue, or held and reminded of)."""
        ...

    async def next_overdue(self, after_created: datetime) -> datetime | None:
        """The earliest created_at after ``after_created`` among open, unflagged questions."""
        ...

    async def add_moderation(self, entry: ModerationEntry) -> None: ...
    async def last_moderation(self, question_id: int) -> ModerationEntry | None:
        """The question's latest moderation decision, if any."""
        ...

    async def moderation_log(self, limit: int = 50) -> list[ModerationEntry]:
        """Newest first."""
        ...


class ScheduleRepo(Protocol):
    """Recurring schedules (registered with the scheduler at start)."""

    async def set_schedule(
        self,
        *,
        kind: OccurrenceKind,
        target_id: int,
        cron: str,
        time_zone: str,
        since: datetime | None = None,
        every_weeks: int = 1,
    ) -> Schedule:
        """Create or replace the schedule of this target (one per target); ``since`` (when its cadence was
        set) changes only with the cadence (cron, zone or ``every_weeks``)."""
        ...

    async def remove_schedule(self, kind: OccurrenceKind, target_id: int) -> None: ...
    async def schedules(self) -> list[Schedule]:
        """Active schedules, ordered by id."""
        ...

    async def get_schedule(self, schedule_id: int) -> Schedule | None: ...


class OutboxRepo(Protocol):
    """The durable outbox the delivery worker drains."""

    async def enqueue(self, deliveries: Sequence[NewDelivery], *, now: datetime) -> int:
        """Store deliveries (``not_before`` defaults to ``now``); rows whose key exists are skipped.

        Returns how many rows were new.
        """
        ...

    async def claim(self, *, worker: str, now: datetime, limit: int, lease_seconds: float) -> list[Delivery]:
        """Claim up to ``limit`` due rows: pending with ``not_before <= now``, or sending with an
        expired lease. Claimed rows become SENDING with a lease; on PostgreSQL concurrent
        claimers never get the same row (``FOR UPDATE SKIP LOCKED``). Oldest first.
        """
        ...

    async def renew(self, ids: Sequence[int], *, worker: str, until: datetime) -> set[int]:
        """Extend to ``until`` the leases ``worker`` still holds among rows ``ids`` (rows sent, given up
        or taken over by another worker are left alone); the ids of the rows extended."""
        ...

    async def mark_sent(self, sent: Sequence[Sent]) -> None:
        """Record each of ``sent`` as SENT with its platform and ref (one statement for them all)."""
        ...

    async def mark_retry(self, delivery_id: int, *, error: str, not_before: datetime) -> None:
        """Back to PENDING, attempts + 1, due again at ``not_before``."""
        ...

    async def mark_failed(self, delivery_id: int, *, error: str) -> None: ...
    async def requeue_failed(self, *, since: datetime, now: datetime, error: str = "") -> int:
        """Send again the failed deliveries made since ``since`` (whose error contains ``error``, if given),
        except those of runs closed since; how many."""
        ...

    async def prune(self, *, before: datetime) -> int:
        """Delete sent and failed deliveries made before ``before`` (their words, kept for nothing after),
        except the first messages of channel threads, which later replies and updates still need, and
        those of runs still open; how many."""
        ...

    async def sent_ref(self, key: str) -> tuple[str, str] | None:
        """``(platform, platform_ref)`` of the sent delivery with this key, if sent."""
        ...

    async def still_to_pick(self, person_id: int, platform: str, *, limit: int) -> list[tuple[str, Message]]:
        """Messages sent to the person on ``platform`` whose latest version still has choices, as
        ``(platform_ref, latest version)``, oldest first; at most ``limit``, the newest of them."""
        ...

    async def sent_between(
        self, person_id: int, platform: str, *, after: int | None, until: int, limit: int
    ) -> list[Message]:
        """New messages (not updates) without choices sent to the person on ``platform``, of deliveries after
        id ``after`` (from the first when None) up to id ``until``, oldest first; at most ``limit``, the
        newest of them."""
        ...

    async def newest_id(self) -> int:
        """The id of the newest delivery (0 when none): a mark for :meth:`sent_between`."""
        ...

    async def forget_progress(self, occurrence_id: int, first_item_id: int) -> int:
        """Delete the run's sent (or failed) questions after the first, its reminders, and their updates; how
        many.

        Everyone got the first question; each later one went to a person once they had answered the one
        before, so those rows say how far each person got, and the run's answers say how many each
        respondent key gave: matched up, they tie answers to people. Reminders say who had not answered by
        then."""
        ...

    async def status_of(self, key: str) -> DeliveryStatus | None:
        """The status of the delivery with this key; None if there is none."""
        ...

    async def anchor_ref(self, anchor: str, platform: str) -> str | None:
        """The platform ref of the sent message on ``platform`` that starts thread ``anchor``."""
        ...

    async def thread_of(self, platform: str, platform_ref: str) -> str | None:
        """The thread key (``anchor``) of the sent message on ``platform`` with this ref, if it starts one."""
        ...

    async def next_due(self, after: datetime) -> datetime | None:
        """The earliest ``not_before`` of a pending row later than ``after`` (for moving a clock)."""
        ...

    async def keys_in_group(self, group: str) -> list[str]:
        """Keys of every delivery in ``group`` (e.g. all messages of one pulse run)."""
        ...

    async def due_at(self, key: str) -> datetime | None:
        """When the delivery was sent, or, if not yet, when it is due; None if there is none."""
        ...

    async def delivered_at(self, group: str, prefix: str) -> dict[str, datetime]:
        """When each delivery in ``group`` whose key starts with ``prefix`` was sent, or else is due."""
        ...

    async def counts(self) -> dict[str, int]:
        """Number of rows by status."""
        ...

    async def backlog(self, now: datetime) -> tuple[int, datetime | None]:
        """Rows due by ``now`` and not yet sent (pending and due, or being sent), and the earliest
        ``not_before`` among them (None when there are none): the outbox's depth and how far behind it is."""
        ...


class ConversationRepo(Protocol):
    """What a person's next free-text reply answers (an open prompt), per person."""

    async def set_awaiting(
        self, person_id: int, awaiting: str, *, at: datetime, keep: Sequence[str] = ()
    ) -> None:
        """Remember that the person's next reply answers ``awaiting`` (e.g. ``"item:12:4"``), unless what it
        answers now starts with one of ``keep``."""
        ...

    async def awaiting(self, person_id: int) -> str | None: ...
    async def clear_awaiting(self, person_id: int, awaiting: str | None = None) -> None:
        """Forget it (only if it is still ``awaiting`` when given)."""
        ...


class InboxRepo(Protocol):
    """Inbound platform events already handled (platforms retry; each event counts once)."""

    async def first_time(self, key: str, *, at: datetime) -> bool:
        """Record ``key`` (e.g. a Slack event id); False if it was recorded before."""
        ...

    async def forget(self, key: str) -> None:
        """Unrecord ``key``: handling it failed, so the platform's retry must be handled, not skipped."""
        ...

    async def forget_before(self, before: datetime) -> int:
        """Forget what arrived before ``before`` (no platform retries that late); how many were forgotten."""
        ...


class ContactRepo(Protocol):
    """Platform contact data for proactive messages (see :class:`dialogue.outbox.Contact`)."""

    async def save_contact(self, contact: Contact, *, at: datetime) -> None:
        """Insert or replace the contact (a fresh one is reachable again)."""
        ...

    async def keep_contact(self, contact: Contact, *, at: datetime) -> None:
        """Save the contact as reachable, unless exactly its data is kept and reachable already: then
        nothing is written (one statement either way; every turn brings a reference, nearly always the
        same)."""
        ...

    async def contact(self, platform: str, key: str) -> Contact | None: ...
    async def contacts_for(self, wanted: Collection[tuple[str, str]]) -> dict[tuple[str, str], Contact]:
        """The contacts among ``wanted`` ``(platform, key)`` pairs that exist, reachable or not."""
        ...

    async def contacts(self, platform: str, *, prefix: str = "") -> list[Contact]:
        """The platform's reachable contacts whose key starts with ``prefix``, in key order."""
        ...

    async def set_reachable(self, platform: str, key: str, reachable: bool, *, at: datetime) -> bool:
        """Mark a known contact reachable or not; False if there is no such contact."""
        ...


class PrivacyRepo(Protocol):
    """Subject access and erasure: every table that names a person."""

    async def held_about(
        self, person_id: int, contact_keys: Collection[tuple[str, str]]
    ) -> dict[str, object]:
        """Everything kept that names the person (and the platform references under ``contact_keys``),
        by what it is, as JSON-ready values; anonymous contributions name nobody and are not included."""
        ...

    async def forget(self, person_id: int, contact_keys: Collection[tuple[str, str]]) -> dict[str, int]:
        """Forget who the person is (name, handle, roles, teams, accounts, platform references, waits,
        the words of messages to them, their name in other messages); what they wrote in their name stays
        under "Former colleague". How many rows each step changed."""
        ...


class Repositories(Protocol):
    """The repositories of one unit of work."""

    @property
    def directory(self) -> DirectoryRepo: ...
    @property
    def ideas(self) -> IdeaRepo: ...
    @property
    def surveys(self) -> SurveyRepo: ...
    @property
    def questions(self) -> QuestionRepo: ...
    @property
    def schedules(self) -> ScheduleRepo: ...
    @property
    def outbox(self) -> OutboxRepo: ...
    @property
    def conversations(self) -> ConversationRepo: ...
    @property
    def inbox(self) -> InboxRepo: ...
    @property
    def contacts(self) -> ContactRepo: ...
    @property
    def privacy(self) -> PrivacyRepo: ...


class Store(Protocol):
    """A database: every transaction commits on success and rolls back on error."""

    def transaction(self, *, read_only: bool = False) -> AbstractAsyncContextManager[Repositories]:
        """One unit of work. ``read_only``: the block only reads, so it need not wait for writers."""
        ...
