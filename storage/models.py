"""The tables, as SQLAlchemy 2 typed ORM models.

Enumerations are stored as their string values, times as :class:`UTCDateTime`. Every
"add once" rule of the ports is a unique constraint here, so the database decides it,
also between replicas. Repositories translate rows to the core's dataclasses.

Anonymity is part of the schema: anonymous ideas and questions keep only a pseudonymous
``route``; answers keep only a respondent key, with no column that leads to a person and
no time that could be matched with the recipients' rows.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.types import UTCDateTime

# Deterministic constraint names, so migrations can name what they change on both engines.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

NAME = 200  # names, handles, keys
STATUS = 20


class Base(DeclarativeBase):
    """The declarative base of every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[int]: JSON(),
    }


# -- directory -----------------------------------------------------------------------------


class TeamRow(Base):
    """A team; ``name_key`` is the lower-cased name that makes names unique case-insensitively."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME))
    name_key: Mapped[str] = mapped_column(String(NAME), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))


class PersonRow(Base):
    """A person; ``handle_key`` is the lower-cased handle (unique)."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    handle: Mapped[str] = mapped_column(String(NAME))
    handle_key: Mapped[str] = mapped_column(String(NAME), unique=True)
    display_name: Mapped[str] = mapped_column(String(NAME))
    time_zone: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    away_until: Mapped[date | None] = mapped_column(Date)  # on leave: no new runs reach them before it
    quiet_hours: Mapped[str | None] = mapped_column(String(11))  # "22:00-07:00"; "" none; NULL the default


class PersonRoleRow(Base):
    """One role a person holds."""

    __tablename__ = "person_roles"

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(STATUS), primary_key=True, index=True)


class MembershipRow(Base):
    """A person's membership of a team, in the order given (the first is their home team)."""

    __tablename__ = "memberships"

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(Integer)  # 0 is the person's home team


class IdentityRow(Base):
    """A platform account of a person. ``seen`` grows each time it is linked or used, per person."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("platform", "tenant", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(32))
    tenant: Mapped[str] = mapped_column(String(NAME))
    user_id: Mapped[str] = mapped_column(String(NAME))
    seen: Mapped[int] = mapped_column(Integer)


# -- ideas ---------------------------------------------------------------------------------


class CampaignRow(Base):
    """A campaign; ``audience`` is the list of team ids (empty: everyone)."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME))
    name_key: Mapped[str] = mapped_column(String(NAME), unique=True)
    priority: Mapped[str] = mapped_column(Text)
    prompt: Mapped[str] = mapped_column(Text)
    audience: Mapped[list[int]]
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class IdeaRow(Base):
    """An idea; ``votes`` counts its rows in ``idea_votes`` (kept in step by the repository)."""

    __tablename__ = "ideas"
    __table_args__ = (Index(None, "status", "votes"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(STATUS))
    created_at: Mapped[datetime]
    author_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    route: Mapped[str | None] = mapped_column(String(NAME))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    votes: Mapped[int] = mapped_column(Integer, default=0)


class IdeaEventRow(Base):
    """One entry of an idea's history."""

    __tablename__ = "idea_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    kind: Mapped[str] = mapped_column(String(STATUS))
    from_status: Mapped[str | None] = mapped_column(String(STATUS))
    to_status: Mapped[str | None] = mapped_column(String(STATUS))
    reason: Mapped[str] = mapped_column(Text)


class IdeaVoteRow(Base):
    """One person's vote for an idea (at most one, by the primary key)."""

    __tablename__ = "idea_votes"

    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)


class CommentRow(Base):
    """A comment on an idea."""

    __tablename__ = "idea_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))  # None: an anonymous idea's author
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]
    by_author: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class AdoptionRow(Base):
    """A team adopting an idea (at most once per team)."""

    __tablename__ = "adoptions"
    __table_args__ = (UniqueConstraint("idea_id", "team_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"))
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    note: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]


# -- surveys -------------------------------------------------------------------------------


class SurveyRow(Base):
    """A pulse survey or check-in; ``audience`` is the list of team ids (empty: everyone)."""

    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME))
    name_key: Mapped[str] = mapped_column(String(NAME), unique=True)
    kind: Mapped[str] = mapped_column(String(STATUS))
    audience: Mapped[list[int]]
    anonymous: Mapped[bool] = mapped_column(Boolean)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    open_hours: Mapped[int] = mapped_column(Integer)
    remind_after_hours: Mapped[int | None] = mapped_column(Integer)
    intro: Mapped[str] = mapped_column(Text)

    items: Mapped[list[SurveyItemRow]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="SurveyItemRow.position"
    )


class SurveyItemRow(Base):
    """One question of a survey; ``options`` is a JSON list of strings."""

    __tablename__ = "survey_items"
    __table_args__ = (UniqueConstraint("survey_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(STATUS))
    text: Mapped[str] = mapped_column(Text)
    options: Mapped[list[str]] = mapped_column(JSON)


class ScheduleRow(Base):
    """A recurring schedule, one per target; removing one only deactivates it, so its id stays."""

    __tablename__ = "schedules"
    __table_args__ = (UniqueConstraint("kind", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(STATUS))
    target_id: Mapped[int] = mapped_column(Integer)
    cron: Mapped[str] = mapped_column(String(NAME))
    time_zone: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    since: Mapped[datetime | None]  # when its cadence was set (see dialogue.schedules.Schedule)
    every_weeks: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class OccurrenceRow(Base):
    """One run of a survey, check-in or campaign; ``key`` makes each firing happen once."""

    __tablename__ = "occurrences"
    __table_args__ = (Index(None, "kind", "target_id"), Index(None, "closed", "closes_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(NAME), unique=True)
    kind: Mapped[str] = mapped_column(String(STATUS))
    target_id: Mapped[int] = mapped_column(Integer)  # a survey or a campaign, by ``kind``
    opens_at: Mapped[datetime]
    closes_at: Mapped[datetime]
    remind_at: Mapped[datetime | None]
    schedule_id: Mapped[int | None] = mapped_column(ForeignKey("schedules.id"))
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    reminded: Mapped[bool] = mapped_column(Boolean, default=False)
    reply_text: Mapped[str] = mapped_column(Text, default="")
    reply_draft: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Set once the run's questions after the first, sent one by one as people answered, are forgotten.
    progress_forgotten: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # How many answered, kept once the run has closed and its answers were settled (None before).
    respondents: Mapped[int | None] = mapped_column(Integer)
    # A local-time run's day, the same everywhere it goes (None: the day it opened, where it is read).
    wall_day: Mapped[date | None] = mapped_column(Date)


class RecipientRow(Base):
    """Who an occurrence was sent to. Nothing here can be joined to a single answer."""

    __tablename__ = "recipients"

    occurrence_id: Mapped[int] = mapped_column(
        ForeignKey("occurrences.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))


class AnswerRow(Base):
    """An answer, keyed by (occurrence, item, respondent key).

    Deliberately without a surrogate id, a person column or a timestamp: nothing orders
    answers in time or points at a person. On SQLite the table has no rowid either.
    """

    __tablename__ = "answers"
    __table_args__ = ({"sqlite_with_rowid": False},)

    occurrence_id: Mapped[int] = mapped_column(
        ForeignKey("occurrences.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[int] = mapped_column(ForeignKey("survey_items.id", ondelete="CASCADE"), primary_key=True)
    respondent: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    number: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str | None] = mapped_column(Text)


# -- questions -----------------------------------------------------------------------------


class QuestionRow(Base):
    """A question; ``votes`` counts its rows in ``question_upvotes``."""

    __tablename__ = "questions"
    __table_args__ = (Index(None, "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(STATUS))
    created_at: Mapped[datetime]
    asker_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    route: Mapped[str | None] = mapped_column(String(NAME))
    addressed_to_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    votes: Mapped[int] = mapped_column(Integer, default=0)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)


class UpvoteRow(Base):
    """One person's upvote of a question (at most one)."""

    __tablename__ = "question_upvotes"

    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)


class QaPostRow(Base):
    """An answer or follow-up in a question's thread."""

    __tablename__ = "qa_posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(STATUS))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]
    author_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    by_asker: Mapped[bool] = mapped_column(Boolean, default=False)


class ModerationRow(Base):
    """One moderation decision."""

    __tablename__ = "moderation_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"))
    admin_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    decision: Mapped[str] = mapped_column(String(STATUS))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(index=True)


# -- delivery and conversations ----------------------------------------------------------------


class DeliveryRow(Base):
    """One outbox row. ``message`` is the JSON of the message; ``anchor`` copies its anchor for lookups."""

    __tablename__ = "deliveries"
    __table_args__ = (
        Index(None, "status", "not_before"),
        Index(None, "anchor", "platform"),
        Index(None, "platform_ref", "platform"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(NAME), unique=True)
    message: Mapped[dict[str, Any]]
    anchor: Mapped[str | None] = mapped_column(String(NAME))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    route: Mapped[str | None] = mapped_column(String(NAME))
    channel: Mapped[str | None] = mapped_column(String(NAME))
    platform: Mapped[str | None] = mapped_column(String(32))
    group_key: Mapped[str | None] = mapped_column(String(NAME), index=True)
    replaces: Mapped[str | None] = mapped_column(String(NAME))
    not_before: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(STATUS))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(NAME))
    platform_ref: Mapped[str | None] = mapped_column(String(NAME))
    last_error: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class ConversationRow(Base):
    """What a person's next free-text reply answers."""

    __tablename__ = "conversations"

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    awaiting: Mapped[str] = mapped_column(String(NAME))
    at: Mapped[datetime]


class InboxRow(Base):
    """An inbound platform event already handled, so a platform's retry is recognised."""

    __tablename__ = "inbox"

    key: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)


class KeyCheckRow(Base):
    """A fingerprint of a key kept outside the database (the anonymity secret), written by the first process
    that used it, so a process started with another key is stopped before it writes anything."""

    __tablename__ = "key_checks"

    name: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(NAME))


class ContactRow(Base):
    """How a platform lets us reach a person or channel proactively (a Teams conversation reference)."""

    __tablename__ = "contacts"

    platform: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    data: Mapped[dict[str, Any]]
    reachable: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime]


# -- Slack multi-workspace installations ----------------------------------------------------------
# The tables slack_sdk's AsyncSQLAlchemyInstallationStore and AsyncSQLAlchemyOAuthStateStore read and
# write, copied column for column: our schema changes only through Alembic, and storage does not import
# slack_sdk. tests/slack/test_oauth.py installs through those stores on the migrated schema, so any
# drift shows there.

INSTALLATIONS = "slack_installations"
BOTS = "slack_bots"
OAUTH_STATES = "slack_oauth_states"

slack_installations = Table(
    INSTALLATIONS,
    Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("client_id", String(32), nullable=False),
    Column("app_id", String(32), nullable=False),
    Column("enterprise_id", String(32)),
    Column("enterprise_name", String(200)),
    Column("enterprise_url", String(200)),
    Column("team_id", String(32)),
    Column("team_name", String(200)),
    Column("bot_token", String(200)),
    Column("bot_id", String(32)),
    Column("bot_user_id", String(32)),
    Column("bot_scopes", String(1000)),
    Column("bot_refresh_token", String(200)),
    Column("bot_token_expires_at", DateTime),
    Column("user_id", String(32), nullable=False),
    Column("user_token", String(200)),
    Column("user_scopes", String(1000)),
    Column("user_refresh_token", String(200)),
    Column("user_token_expires_at", DateTime),
    Column("incoming_webhook_url", String(200)),
    Column("incoming_webhook_channel", String(200)),
    Column("incoming_webhook_channel_id", String(200)),
    Column("incoming_webhook_configuration_url", String(200)),
    Column("is_enterprise_install", Boolean, default=False, nullable=False),
    Column("token_type", String(32)),
    Column("installed_at", DateTime, nullable=False, default=func.now()),
    Index(f"{INSTALLATIONS}_idx", "client_id", "enterprise_id", "team_id", "user_id", "installed_at"),
)

slack_bots = Table(
    BOTS,
    Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("client_id", String(32), nullable=False),
    Column("app_id", String(32), nullable=False),
    Column("enterprise_id", String(32)),
    Column("enterprise_name", String(200)),
    Column("team_id", String(32)),
    Column("team_name", String(200)),
    Column("bot_token", String(200)),
    Column("bot_id", String(32)),
    Column("bot_user_id", String(32)),
    Column("bot_scopes", String(1000)),
    Column("bot_refresh_token", String(200)),
    Column("bot_token_expires_at", DateTime),
    Column("is_enterprise_install", Boolean, default=False, nullable=False),
    Column("installed_at", DateTime, nullable=False, default=func.now()),
    Index(f"{BOTS}_idx", "client_id", "enterprise_id", "team_id", "installed_at"),
)

slack_oauth_states = Table(
    OAUTH_STATES,
    Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("state", String(200), nullable=False),
    Column("expire_at", DateTime, nullable=False),
)
