"""Pulse surveys and check-ins, their runs (occurrences), recipients and answers.

Answers are stored under the respondent key only. :class:`dialogue.surveys.Answer` also
carries ``person_id`` for surveys that are not anonymous, but that field is not stored:
the answers table has no column that leads to a person (for such surveys the respondent
key already names the person), so answers read back always have ``person_id=None``.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Collection, Iterable, Sequence
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import Table, bindparam, case, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import SQLCoreOperations

from dialogue.directory import Audience
from dialogue.surveys import (
    NAMED_RESPONDENT,
    Answer,
    ItemKind,
    NumberCount,
    Occurrence,
    OccurrenceKind,
    Recipient,
    RunCounts,
    Survey,
    SurveyItem,
    SurveyKind,
    Tally,
)
from storage.directory import name_key
from storage.models import AnswerRow, OccurrenceRow, RecipientRow, SurveyItemRow, SurveyRow
from storage.sql import Repo, dialect_insert

_SURVEYS = SurveyRow.__table__
_ITEMS = SurveyItemRow.__table__
_OCCURRENCES = OccurrenceRow.__table__
_RECIPIENTS = RecipientRow.__table__
_ANSWERS = cast(Table, AnswerRow.__table__)

# Reads are plain columns, not ORM objects: a pulse tap reads its survey and run, and building entities
# (with the items' extra selectin query) was a good part of its cost.
_SURVEY = select(
    _SURVEYS.c.id,
    _SURVEYS.c.name,
    _SURVEYS.c.kind,
    _SURVEYS.c.audience,
    _SURVEYS.c.anonymous,
    _SURVEYS.c.owner_id,
    _SURVEYS.c.open_hours,
    _SURVEYS.c.remind_after_hours,
    _SURVEYS.c.intro,
    _ITEMS.c.id.label("item_id"),
    _ITEMS.c.position,
    _ITEMS.c.kind.label("item_kind"),
    _ITEMS.c.text,
    _ITEMS.c.options,
).select_from(_SURVEYS.outerjoin(_ITEMS, _ITEMS.c.survey_id == _SURVEYS.c.id))
_OCCURRENCE = select(*_OCCURRENCES.columns)
_ANSWER = select(
    _ANSWERS.c.occurrence_id,
    _ANSWERS.c.item_id,
    _ANSWERS.c.respondent,
    _ANSWERS.c.team_id,
    _ANSWERS.c.number,
    _ANSWERS.c.text,
)

# What a pulse tap runs (see storage.sql).
_SURVEY_BY_ID = _SURVEY.where(_SURVEYS.c.id == bindparam("survey_id"))
_OCCURRENCE_BY_ID = _OCCURRENCE.where(_OCCURRENCES.c.id == bindparam("occurrence_id"))
_RECIPIENT_TEAM = select(_RECIPIENTS.c.team_id).where(
    _RECIPIENTS.c.occurrence_id == bindparam("occurrence_id"),
    _RECIPIENTS.c.person_id == bindparam("person_id"),
)
# A tap's run, survey (with items) and recipient record in one query: each statement is a trip to the
# database, and on SQLite every trip of a write transaction is time the single writer lock stays held.
_OCC = "occ_"  # the occurrence's columns, labelled apart from the survey's
_RUN_AS_SENT = (
    select(
        *_SURVEY.selected_columns,
        *(column.label(_OCC + column.name) for column in _OCCURRENCES.columns),
        _RECIPIENTS.c.person_id.label("recipient_id"),
        _RECIPIENTS.c.team_id.label("recipient_team"),
    )
    .select_from(
        _OCCURRENCES.outerjoin(
            _SURVEYS,
            # A campaign's run targets a campaign, whose id may also be some survey's.
            (_SURVEYS.c.id == _OCCURRENCES.c.target_id)
            & (_OCCURRENCES.c.kind != OccurrenceKind.CAMPAIGN.value),
        )
        .outerjoin(_ITEMS, _ITEMS.c.survey_id == _SURVEYS.c.id)
        .outerjoin(
            _RECIPIENTS,
            (_RECIPIENTS.c.occurrence_id == _OCCURRENCES.c.id)
            & (_RECIPIENTS.c.person_id == bindparam("person_id")),
        )
    )
    .where(_OCCURRENCES.c.id == bindparam("occurrence_id"))
)
_ANSWERS_OF = _ANSWER.where(
    _ANSWERS.c.occurrence_id == bindparam("occurrence_id"),
    _ANSWERS.c.item_id.in_(bindparam("item_ids", expanding=True)),
    _ANSWERS.c.respondent == bindparam("respondent"),
).order_by(_ANSWERS.c.item_id, _ANSWERS.c.respondent)


@functools.cache
def _save_answer(dialect: str) -> postgresql.Insert | sqlite.Insert:
    """Insert an answer, or replace the respondent's answer to the item in the run; built once per dialect."""
    insert = dialect_insert(dialect, _ANSWERS)
    new = insert.excluded
    return insert.on_conflict_do_update(
        index_elements=[_ANSWERS.c.occurrence_id, _ANSWERS.c.item_id, _ANSWERS.c.respondent],
        set_={"team_id": new.team_id, "number": new.number, "text": new.text},
    )


def _surveys(rows: Iterable[Any]) -> list[Survey]:
    """Surveys from rows of :data:`_SURVEY` (one a survey and item), in the order their first row comes."""
    found: dict[int, tuple[Any, list[SurveyItem]]] = {}
    for row in rows:
        _, items = found.setdefault(row.id, (row, []))
        if row.item_id is not None:
            items.append(
                SurveyItem(row.item_id, row.position, ItemKind(row.item_kind), row.text, tuple(row.options))
            )
    return [
        Survey(
            id=row.id,
            name=row.name,
            kind=SurveyKind(row.kind),
            items=tuple(sorted(items, key=lambda item: item.position)),
            audience=Audience(tuple(row.audience)),
            anonymous=row.anonymous,
            owner_id=row.owner_id,
            open_hours=row.open_hours,
            remind_after_hours=row.remind_after_hours,
            intro=row.intro,
        )
        for row, items in found.values()
    ]


def _occurrence(row: Any) -> Occurrence:
    return Occurrence(
        id=row.id,
        key=row.key,
        kind=OccurrenceKind(row.kind),
        target_id=row.target_id,
        opens_at=row.opens_at,
        closes_at=row.closes_at,
        remind_at=row.remind_at,
        schedule_id=row.schedule_id,
        closed=row.closed,
        reminded=row.reminded,
        reply_text=row.reply_text,
        reply_draft=row.reply_draft,
        wall_day=row.wall_day,
    )


class SqlSurveys(Repo):
    """Implements :class:`dialogue.ports.SurveyRepo`."""

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

        Items are upserted by position (numbered from 1), so an item whose position is
        unchanged keeps its id and earlier answers stay attached; items past the new end
        are removed together with their answers.
        """
        definition = {
            "kind": SurveyKind(kind).value,
            "audience": list(audience.team_ids),
            "anonymous": anonymous,
            "owner_id": owner_id,
            "open_hours": open_hours,
            "remind_after_hours": remind_after_hours,
            "intro": intro,
        }
        survey_id = await self.session.scalar(
            self.insert(SurveyRow)
            .values(name=name.strip(), name_key=name_key(name), **definition)
            .on_conflict_do_update(index_elements=[SurveyRow.name_key], set_=definition)
            .returning(SurveyRow.id)
        )
        assert survey_id is not None
        if items:
            insert = self.insert(SurveyItemRow.__table__)
            await self.session.execute(
                insert.on_conflict_do_update(
                    index_elements=[SurveyItemRow.survey_id, SurveyItemRow.position],
                    set_={
                        "kind": insert.excluded.kind,
                        "text": insert.excluded.text,
                        "options": insert.excluded.options,
                    },
                ),
                [
                    {
                        "survey_id": survey_id,
                        "position": position,
                        "kind": ItemKind(item_kind).value,
                        "text": text,
                        "options": list(options),
                    }
                    for position, (item_kind, text, options) in enumerate(items, start=1)
                ],
            )
        await self.session.execute(
            delete(SurveyItemRow)
            .where(SurveyItemRow.survey_id == survey_id, SurveyItemRow.position > len(items))
            .execution_options(synchronize_session=False)
        )
        survey = await self.get_survey(survey_id)
        assert survey is not None
        return survey

    async def get_survey(self, survey_id: int) -> Survey | None:
        """The survey with this id, with its items in order."""
        found = _surveys(await self.session.execute(_SURVEY_BY_ID, {"survey_id": survey_id}))
        return found[0] if found else None

    async def survey_by_name(self, name: str) -> Survey | None:
        """Case-insensitive lookup by name."""
        found = _surveys(await self.session.execute(_SURVEY.where(SurveyRow.name_key == name_key(name))))
        return found[0] if found else None

    async def answered_items(self, survey_id: int) -> set[int]:
        """The ids of the survey's questions that have at least one answer, from any run."""
        runs = select(OccurrenceRow.id).where(
            OccurrenceRow.kind != OccurrenceKind.CAMPAIGN.value, OccurrenceRow.target_id == survey_id
        )
        # By run first: the answers' primary key starts with the run, so each question looks up its runs only.
        answered = (
            select(AnswerRow.item_id)
            .where(AnswerRow.occurrence_id.in_(runs), AnswerRow.item_id == SurveyItemRow.id)
            .exists()
        )
        query = select(SurveyItemRow.id).where(SurveyItemRow.survey_id == survey_id, answered)
        return set(await self.session.scalars(query))

    async def surveys(self, kind: SurveyKind | None = None) -> list[Survey]:
        """Every survey (of ``kind`` when given), ordered by id."""
        query = _SURVEY.order_by(SurveyRow.id)
        if kind is not None:
            query = query.where(SurveyRow.kind == SurveyKind(kind).value)
        return _surveys(await self.session.execute(query))

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
        occurrence_id = await self.session.scalar(
            self.insert(OccurrenceRow)
            .values(
                key=key,
                kind=OccurrenceKind(kind).value,
                target_id=target_id,
                opens_at=opens_at,
                closes_at=closes_at,
                remind_at=remind_at,
                schedule_id=schedule_id,
                wall_day=wall_day,
                closed=False,
                reminded=False,
                reply_text="",
            )
            .on_conflict_do_nothing(index_elements=[OccurrenceRow.key])
            .returning(OccurrenceRow.id)
        )
        return None if occurrence_id is None else await self.get_occurrence(occurrence_id)

    async def get_occurrence(self, occurrence_id: int) -> Occurrence | None:
        """The occurrence with this id."""
        row = (await self.session.execute(_OCCURRENCE_BY_ID, {"occurrence_id": occurrence_id})).first()
        return _occurrence(row) if row else None

    async def _occurrences(
        self,
        *conditions: SQLCoreOperations[bool],
        order: Sequence[SQLCoreOperations[Any]],
        limit: int | None = None,
    ) -> list[Occurrence]:
        rows = await self.session.execute(_OCCURRENCE.where(*conditions).order_by(*order).limit(limit))
        return [_occurrence(row) for row in rows]

    async def occurrences(self, *, kind: OccurrenceKind, target_id: int, limit: int = 12) -> list[Occurrence]:
        """The target's runs, newest first."""
        return await self._occurrences(
            OccurrenceRow.kind == OccurrenceKind(kind).value,
            OccurrenceRow.target_id == target_id,
            order=(OccurrenceRow.opens_at.desc(), OccurrenceRow.id.desc()),
            limit=limit,
        )

    async def open_occurrences(self) -> list[Occurrence]:
        """Occurrences not yet closed, oldest first."""
        return await self._occurrences(
            OccurrenceRow.closed.is_(False), order=(OccurrenceRow.opens_at, OccurrenceRow.id)
        )

    async def due_to_close(self, now: datetime) -> list[Occurrence]:
        """Open occurrences whose ``closes_at`` is at or before ``now``, soonest first."""
        return await self._occurrences(
            OccurrenceRow.closed.is_(False),
            OccurrenceRow.closes_at <= now,
            order=(OccurrenceRow.closes_at, OccurrenceRow.id),
        )

    async def due_reminders(self, now: datetime) -> list[Occurrence]:
        """Open, not yet reminded occurrences whose ``remind_at`` is at or before ``now``."""
        return await self._occurrences(
            OccurrenceRow.closed.is_(False),
            OccurrenceRow.reminded.is_(False),
            OccurrenceRow.remind_at <= now,
            order=(OccurrenceRow.remind_at, OccurrenceRow.id),
        )

    async def next_event(self, after: datetime) -> datetime | None:
        """The earliest closes_at or pending remind_at of an open occurrence later than ``after``."""
        closing = await self.session.scalar(
            select(func.min(OccurrenceRow.closes_at)).where(
                OccurrenceRow.closed.is_(False), OccurrenceRow.closes_at > after
            )
        )
        reminding = await self.session.scalar(
            select(func.min(OccurrenceRow.remind_at)).where(
                OccurrenceRow.closed.is_(False),
                OccurrenceRow.reminded.is_(False),
                OccurrenceRow.remind_at > after,
            )
        )
        moments = [m for m in (closing, reminding) if m is not None]
        return min(moments) if moments else None

    async def close(self, occurrence_id: int, *, at: datetime) -> bool:
        """Close it at ``at`` (or when it was due, if earlier); False if it was already closed."""
        changed = await self.changed(
            update(OccurrenceRow)
            .where(OccurrenceRow.id == occurrence_id, OccurrenceRow.closed.is_(False))
            .values(
                closed=True, closes_at=case((OccurrenceRow.closes_at > at, at), else_=OccurrenceRow.closes_at)
            )
        )
        return changed == 1

    async def settle_answers(self, occurrence_id: int) -> int:
        """See :meth:`dialogue.ports.SurveyRepo.settle_answers`."""
        in_run = _ANSWERS.c.occurrence_id == occurrence_id
        rows = await self.session.execute(
            select(_ANSWERS).where(in_run).order_by(_ANSWERS.c.respondent, _ANSWERS.c.item_id)
        )
        answers = [dict(row) for row in rows.mappings()]
        # The run's answers are final now: how many answered is kept, not counted again for every trend.
        await self.session.execute(
            update(OccurrenceRow)
            .where(OccurrenceRow.id == occurrence_id)
            .values(respondents=len({answer["respondent"] for answer in answers}))
        )
        if not answers:
            return 0
        # A keyed hash could be computed again by whoever holds the key, for every person, for as long as
        # the answer is kept; a random token keeps only which answers came from one respondent.
        tokens = {
            key: key if key.startswith(NAMED_RESPONDENT) else secrets.token_hex(16)
            for key in {answer["respondent"] for answer in answers}
        }
        settled = sorted(
            ({**answer, "respondent": tokens[answer["respondent"]]} for answer in answers),
            key=lambda answer: (answer["respondent"], answer["item_id"]),
        )
        await self.session.execute(
            delete(_ANSWERS).where(in_run).execution_options(synchronize_session=False)
        )
        await self.session.execute(_ANSWERS.insert(), settled)
        return len(settled)

    async def to_forget(self, closed_before: datetime, *, limit: int = 3) -> list[Occurrence]:
        """See :meth:`dialogue.ports.SurveyRepo.to_forget`."""
        return await self._occurrences(
            OccurrenceRow.closed.is_(True),
            OccurrenceRow.closes_at <= closed_before,
            OccurrenceRow.progress_forgotten.is_(False),
            OccurrenceRow.kind != OccurrenceKind.CAMPAIGN.value,
            order=(OccurrenceRow.closes_at, OccurrenceRow.id),
            limit=limit,
        )

    async def mark_forgotten(self, occurrence_id: int) -> bool:
        """False if its progress was already forgotten (so it is done once)."""
        changed = await self.changed(
            update(OccurrenceRow)
            .where(OccurrenceRow.id == occurrence_id, OccurrenceRow.progress_forgotten.is_(False))
            .values(progress_forgotten=True)
        )
        return changed == 1

    async def mark_reminded(self, occurrence_id: int) -> bool:
        """False if it was already reminded (so reminding happens once)."""
        changed = await self.changed(
            update(OccurrenceRow)
            .where(OccurrenceRow.id == occurrence_id, OccurrenceRow.reminded.is_(False))
            .values(reminded=True)
        )
        return changed == 1

    async def remind_later(self, occurrence_id: int, *, was: datetime, at: datetime) -> bool:
        """See :meth:`dialogue.ports.SurveyRepo.remind_later`."""
        changed = await self.changed(
            update(OccurrenceRow)
            .where(
                OccurrenceRow.id == occurrence_id,
                OccurrenceRow.reminded.is_(False),
                OccurrenceRow.remind_at == was,
            )
            .values(remind_at=at)
        )
        return changed == 1

    async def set_reply(self, occurrence_id: int, text: str) -> None:
        """Store the owner's "you said, we did" reply."""
        await self.session.execute(
            update(OccurrenceRow).where(OccurrenceRow.id == occurrence_id).values(reply_text=text)
        )

    async def set_reply_draft(self, occurrence_id: int, text: str) -> None:
        """Keep the owner's reply until they send it ("" forgets it)."""
        await self.session.execute(
            update(OccurrenceRow).where(OccurrenceRow.id == occurrence_id).values(reply_draft=text)
        )

    async def add_recipients(self, occurrence_id: int, recipients: Sequence[Recipient]) -> None:
        """Record who the occurrence was sent to (duplicates ignored)."""
        if not recipients:
            return
        await self.session.execute(
            self.insert(RecipientRow.__table__).on_conflict_do_nothing(),
            [
                {"occurrence_id": occurrence_id, "person_id": r.person_id, "team_id": r.team_id}
                for r in recipients
            ],
        )

    async def recipients(self, occurrence_id: int) -> list[Recipient]:
        """Everyone the occurrence was sent to, ordered by person id."""
        rows = await self.session.execute(
            select(RecipientRow.person_id, RecipientRow.team_id)
            .where(RecipientRow.occurrence_id == occurrence_id)
            .order_by(RecipientRow.person_id)
        )
        return [Recipient(person_id, team_id) for person_id, team_id in rows]

    async def invited(self, occurrence_id: int) -> int:
        """How many people the occurrence was sent to, counted without reading them."""
        invited = await self.session.scalar(
            select(func.count()).select_from(RecipientRow).where(RecipientRow.occurrence_id == occurrence_id)
        )
        return invited or 0

    async def run_as_sent(
        self, occurrence_id: int, person_id: int
    ) -> tuple[Occurrence, Survey | None, Recipient | None] | None:
        """The occurrence, its survey (None if the target is no survey, or gone) and the person's
        recipient record (None if it was not sent to them), in one query; None if there is no such run."""
        rows = (
            await self.session.execute(_RUN_AS_SENT, {"occurrence_id": occurrence_id, "person_id": person_id})
        ).all()
        if not rows:
            return None
        first = rows[0]
        run = _occurrence(
            SimpleNamespace(**{c.name: getattr(first, _OCC + c.name) for c in _OCCURRENCES.columns})
        )
        survey = _surveys(rows)[0] if first.id is not None else None
        recipient = Recipient(person_id, first.recipient_team) if first.recipient_id is not None else None
        return run, survey, recipient

    async def is_recipient(self, occurrence_id: int, person_id: int) -> Recipient | None:
        """The person's recipient record for this occurrence, if it was sent to them."""
        team = await self.session.execute(
            _RECIPIENT_TEAM, {"occurrence_id": occurrence_id, "person_id": person_id}
        )
        row = team.first()
        return Recipient(person_id, row.team_id) if row else None

    async def save_answer(self, answer: Answer) -> None:
        """Insert or replace the answer for (occurrence, item, respondent), in one statement."""
        await self.session.execute(
            _save_answer(self.dialect),
            {
                "occurrence_id": answer.occurrence_id,
                "item_id": answer.item_id,
                "respondent": answer.respondent,
                "team_id": answer.team_id,
                "number": answer.number,
                "text": answer.text,
            },
        )

    async def _answers(self, *conditions: SQLCoreOperations[bool]) -> list[Answer]:
        # Plain columns, not ORM entities: a run can have 100,000 answers, and building an identity-mapped
        # object for each is most of the cost of reading them.
        result = await self.session.execute(
            _ANSWER.where(*conditions).order_by(_ANSWERS.c.item_id, _ANSWERS.c.respondent)
        )
        return [Answer(*row) for row in result]

    async def tallies(self, occurrence_id: int) -> dict[int, Tally]:
        """Numeric answers counted by item in one GROUP BY (a trend needs no more than this)."""
        number = AnswerRow.number
        rows = await self.session.execute(
            select(
                AnswerRow.item_id,
                func.count(number),
                func.sum(number),
                func.sum(case((number >= 9, 1), else_=0)),
                func.sum(case((number <= 6, 1), else_=0)),
            )
            .where(AnswerRow.occurrence_id == occurrence_id, number.is_not(None))
            .group_by(AnswerRow.item_id)
        )
        return {
            item_id: Tally(int(n), int(total), int(promoters), int(detractors))
            for item_id, n, total, promoters, detractors in rows
        }

    async def counts(self, occurrence_id: int) -> RunCounts:
        """The run's answers counted by item, team and number in one GROUP BY, and its respondents."""
        respondents = await self.respondent_count(occurrence_id)
        rows = await self.session.execute(
            select(AnswerRow.item_id, AnswerRow.team_id, AnswerRow.number, func.count())
            .where(AnswerRow.occurrence_id == occurrence_id, AnswerRow.number.is_not(None))
            .group_by(AnswerRow.item_id, AnswerRow.team_id, AnswerRow.number)
            # Each group where its first answer comes in `answers` (by the database's collation of keys),
            # so that teams with the same label are listed as reading every answer lists them.
            .order_by(AnswerRow.item_id, func.min(AnswerRow.respondent))
        )
        numbers = []
        for item_id, team_id, number, count in rows:
            assert number is not None  # skips are left out above
            numbers.append(NumberCount(item_id, team_id, number, count))
        return RunCounts(respondents or 0, tuple(numbers))

    async def answers(self, occurrence_id: int, item_ids: Collection[int] | None = None) -> list[Answer]:
        """Every answer of the run (to ``item_ids`` when given), by item, in respondent-key order (which
        says nothing of time)."""
        conditions = [AnswerRow.occurrence_id == occurrence_id]
        if item_ids is not None:
            conditions.append(AnswerRow.item_id.in_(item_ids))
        return await self._answers(*conditions)

    async def answers_of(
        self, occurrence_id: int, respondent: str, item_ids: Collection[int]
    ) -> list[Answer]:
        """One respondent's answers in the run to ``item_ids``, by item."""
        # With the items named, both engines search the primary key (occurrence, item, respondent) once
        # per item; without them, they would read every answer of the run.
        result = await self.session.execute(
            _ANSWERS_OF,
            {"occurrence_id": occurrence_id, "respondent": respondent, "item_ids": list(item_ids)},
        )
        return [Answer(*row) for row in result]

    async def respondent_count(self, occurrence_id: int) -> int:
        """How many answered at least one item: kept once the run has closed, else counted (not read)."""
        kept = await self.session.scalar(
            select(OccurrenceRow.respondents).where(OccurrenceRow.id == occurrence_id)
        )
        if kept is not None:
            return kept
        counted = await self.session.scalar(
            select(func.count(AnswerRow.respondent.distinct())).where(
                AnswerRow.occurrence_id == occurrence_id
            )
        )
        return counted or 0

    async def answer_counts(self, occurrence_id: int) -> dict[str, int]:
        """See :meth:`dialogue.ports.SurveyRepo.answer_counts`."""
        rows = await self.session.execute(
            select(AnswerRow.respondent, func.count())
            .where(AnswerRow.occurrence_id == occurrence_id)
            .group_by(AnswerRow.respondent)
        )
        return {respondent: count for respondent, count in rows}
