"""What the database holds about one person, for a subject access request, and forgetting it on request."""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, and_, cast, delete, false, func, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute

from dialogue.messages import Message, message_to_data
from dialogue.privacy import FORMER
from dialogue.surveys import NAMED_RESPONDENT
from dialogue.text import t
from storage.models import (
    AdoptionRow,
    AnswerRow,
    CampaignRow,
    CommentRow,
    ContactRow,
    ConversationRow,
    DeliveryRow,
    IdeaEventRow,
    IdeaRow,
    IdeaVoteRow,
    IdentityRow,
    MembershipRow,
    ModerationRow,
    PersonRoleRow,
    PersonRow,
    QaPostRow,
    QuestionRow,
    RecipientRow,
    SurveyRow,
    TeamRow,
    UpvoteRow,
)
from storage.sql import Repo

# Each named record that points at a person: (what it is, the column that names them). Anonymous ideas,
# questions and answers point at nobody, so they are not among them.
NAMING: tuple[tuple[str, InstrumentedAttribute[Any]], ...] = (
    ("roles", PersonRoleRow.person_id),
    ("platform accounts", IdentityRow.person_id),
    ("ideas shared with their name", IdeaRow.author_id),
    ("ideas they own (to decide)", IdeaRow.owner_id),
    ("comments on ideas", CommentRow.author_id),
    ("votes for ideas", IdeaVoteRow.person_id),
    ("moves of ideas they made", IdeaEventRow.by_id),
    ("adoptions they recorded", AdoptionRow.by_id),
    ("questions asked with their name", QuestionRow.asker_id),
    ("questions put to them", QuestionRow.addressed_to_id),
    ("upvotes of questions", UpvoteRow.person_id),
    ("answers and follow-ups on questions", QaPostRow.author_id),
    ("moderation decisions they made", ModerationRow.admin_id),
    ("pulses and check-ins they own", SurveyRow.owner_id),
    ("pulse and check-in runs sent to them", RecipientRow.person_id),
    ("messages the bot sent or will send them", DeliveryRow.person_id),
    ("what the bot waits for from them", ConversationRow.person_id),
)


def _plain(value: object) -> object:
    """A column value as JSON takes it."""
    return value.isoformat() if isinstance(value, datetime) else value


def _rows(result: Any) -> list[dict[str, object]]:
    return [{key: _plain(value) for key, value in row._mapping.items()} for row in result]


class SqlPrivacy(Repo):
    """Subject access and erasure over every table that names a person."""

    async def held_about(
        self, person_id: int, contact_keys: Collection[tuple[str, str]]
    ) -> dict[str, object]:
        """Everything kept that names the person, table by table, as JSON-ready dicts (empty ones left out).

        Answers to named pulses (``person:<id>``) and the Teams references of their accounts are included;
        anonymous contributions are not linked to anyone, so they cannot be.
        """
        person = await self.session.get(PersonRow, person_id)
        if person is None:
            return {}
        teams = await self.session.scalars(
            select(TeamRow.name)
            .join(MembershipRow, MembershipRow.team_id == TeamRow.id)
            .where(MembershipRow.person_id == person_id)
            .order_by(MembershipRow.position)
        )
        held: dict[str, object] = {
            "person": {
                "handle": person.handle,
                "name": person.display_name,
                "time_zone": person.time_zone,
                "active": person.active,
                "away_until": person.away_until.isoformat() if person.away_until else None,
                "quiet_hours": person.quiet_hours,
                "teams": list(teams),
            }
        }
        for what, column in NAMING:
            table = column.class_.__table__
            found = _rows(await self.session.execute(select(*table.columns).where(column == person_id)))
            if column is DeliveryRow.person_id:
                found = [
                    {k: v for k, v in row.items() if k in _MESSAGE_COLUMNS}
                    for row in found
                    if not _PROGRESS.match(str(row["key"]))
                ]
            if column is ConversationRow.person_id:
                found = [row for row in found if not str(row["awaiting"]).startswith("item:")]
            if found:
                held[what] = found
        answers = await self.session.execute(
            select(AnswerRow.occurrence_id, AnswerRow.item_id, AnswerRow.number, AnswerRow.text).where(
                AnswerRow.respondent == f"{NAMED_RESPONDENT}{person_id}"
            )
        )
        if found_answers := _rows(answers):
            held["answers to pulses and check-ins that are not anonymous"] = found_answers
        contacts = await self.session.execute(
            select(*ContactRow.__table__.columns).where(_contacts(contact_keys))
        )
        if found_contacts := _rows(contacts):
            held["how the platforms let the bot reach them"] = found_contacts
        return held

    async def forget(self, person_id: int, contact_keys: Collection[tuple[str, str]]) -> dict[str, int]:
        """Forget who the person is: their name, handle, roles, teams, accounts, platform references and what
        the bot waits for go; messages to them keep no words; their name is taken out of every message kept
        for anyone else. What they wrote in their name stays, shown as :data:`FORMER`'s, and so do their
        votes and upvotes (counted, pointing at nobody). Returns how many rows each step changed."""
        person = await self.session.get(PersonRow, person_id)
        if person is None:
            return {}
        name = person.display_name
        done: dict[str, int] = {}
        for what, table, column in (
            ("roles", PersonRoleRow, PersonRoleRow.person_id),
            ("team memberships", MembershipRow, MembershipRow.person_id),
            ("platform accounts", IdentityRow, IdentityRow.person_id),
            ("what the bot waits for", ConversationRow, ConversationRow.person_id),
        ):
            done[what] = await self.changed(delete(table).where(column == person_id))
        done["platform references"] = await self.changed(delete(ContactRow).where(_contacts(contact_keys)))
        erased = message_to_data(Message(t("(erased at the person's request)")))
        done["messages to them emptied"] = await self.changed(
            update(DeliveryRow).where(DeliveryRow.person_id == person_id).values(message=erased)
        )
        # A one-word name ("Will") would be taken out of everyone's words wherever it stands.
        done["other messages that named them"] = await self._unname(name) if " " in name.strip() else 0
        done["programme texts that still name them (edit the programme file)"] = sum(
            [
                await self.session.scalar(select(func.count()).where(text.contains(name, autoescape=True)))
                or 0
                for text in (SurveyRow.intro, CampaignRow.prompt)
            ]
        )
        await self.session.execute(
            update(PersonRow)
            .where(PersonRow.id == person_id)
            .values(
                handle=f"former-{person_id}",
                handle_key=f"former-{person_id}",
                display_name=FORMER,
                time_zone="UTC",
                active=False,
                away_until=None,
                quiet_hours=None,
            )
        )
        return done

    async def _unname(self, name: str) -> int:
        """Take ``name`` out of every kept message (channel posts, notices to others) as a whole word."""
        # The name as it sits in the stored JSON: escaped as written, or as PostgreSQL prints it back.
        stored = cast(DeliveryRow.message, String)
        spellings = {json.dumps(name)[1:-1], json.dumps(name, ensure_ascii=False)[1:-1]}
        rows = await self.session.execute(
            select(DeliveryRow.id, DeliveryRow.message).where(
                or_(*(stored.contains(spelt, autoescape=True) for spelt in spellings))
            )
        )
        word = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)")
        changed = 0
        for delivery_id, message in rows:
            scrubbed = _replace_in(message, word)
            if scrubbed != message:
                await self.session.execute(
                    update(DeliveryRow).where(DeliveryRow.id == delivery_id).values(message=scrubbed)
                )
                changed += 1
        return changed


_MESSAGE_COLUMNS = {"key", "status", "created_at", "sent_at", "message", "last_error"}
# A pulse's or check-in's questions and reminders to one person: which went, and when, says how far they got
# and how fast they answered, anonymous or not; the file an export makes goes where the database does not.
_PROGRESS = re.compile(r"^occ:\d+:(item|remind):")


def _contacts(contact_keys: Collection[tuple[str, str]]) -> ColumnElement[bool]:
    """The contacts under these ``(platform, key)`` pairs (none when there are none)."""
    return or_(false(), *(and_(ContactRow.platform == p, ContactRow.key == k) for p, k in contact_keys))


def _replace_in(value: Any, word: re.Pattern[str]) -> Any:
    """``value`` (a message's JSON) with every whole-word match of ``word`` in its strings made FORMER."""
    if isinstance(value, str):
        return word.sub(FORMER, value)
    if isinstance(value, list):
        return [_replace_in(each, word) for each in value]
    if isinstance(value, dict):
        return {key: _replace_in(each, word) for key, each in value.items()}
    return value
