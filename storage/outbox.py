"""The durable outbox the delivery worker drains."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Row, String, Table, and_, bindparam, delete, func, literal, or_, select, update
from sqlalchemy import cast as cast_
from sqlalchemy.sql.dml import ReturningInsert, ReturningUpdate

from dialogue.messages import Message, message_from_data, message_to_data
from dialogue.outbox import Delivery, DeliveryStatus, NewDelivery, Sent
from storage.models import DeliveryRow, OccurrenceRow
from storage.sql import Repo, dialect_insert
from storage.types import UTCDateTime

PENDING = DeliveryStatus.PENDING.value
SENDING = DeliveryStatus.SENDING.value
SENT = DeliveryStatus.SENT.value
FAILED = DeliveryStatus.FAILED.value
_OUTBOX = cast(Table, DeliveryRow.__table__)


@functools.cache
def _new_deliveries(dialect: str) -> ReturningInsert[tuple[int]]:
    """Rows whose key exists are skipped (see :meth:`SqlOutbox.enqueue`); built once per dialect."""
    return (
        dialect_insert(dialect, _OUTBOX)
        .on_conflict_do_nothing(index_elements=[_OUTBOX.c.key])
        .returning(_OUTBOX.c.id)
    )


def _claim() -> ReturningUpdate[Any]:
    """Lease the oldest due rows to a worker, in one statement.

    Due: pending with ``not_before <= b_now``, or sending with an expired lease (its worker died).
    """
    rows = _OUTBOX.c
    due = or_(
        and_(rows.status == PENDING, rows.not_before <= bindparam("b_now")),
        and_(rows.status == SENDING, rows.lease_until <= bindparam("b_now")),
    )
    oldest_due = (
        select(rows.id)
        .where(due)
        .order_by(rows.id)
        .limit(bindparam("b_limit"))
        .with_for_update(skip_locked=True)
    )
    return (
        update(_OUTBOX)
        .where(rows.id.in_(oldest_due.scalar_subquery()))
        .values(status=SENDING, claimed_by=bindparam("b_worker"), lease_until=bindparam("b_lease"))
        .returning(*rows)
    )


_CLAIM = _claim()  # built once, as is the next one
# Core: one executemany for a group of sent marks, no ORM objects.
_MARK_SENT = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("sent_id"))
    .values(
        status=SENT,
        platform=bindparam("sent_platform"),
        platform_ref=bindparam("sent_ref"),
        sent_at=bindparam("sent_at"),
        lease_until=None,
        claimed_by=None,
    )
)


_RECENT = 50  # the messages read back to find those still to pick on


def _delivery(row: Row[Any]) -> Delivery:
    return Delivery(
        id=row.id,
        key=row.key,
        message=message_from_data(row.message),
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        not_before=row.not_before,
        person_id=row.person_id,
        route=row.route,
        channel=row.channel,
        platform=row.platform,
        group=row.group_key,
        replaces=row.replaces,
        platform_ref=row.platform_ref,
        last_error=row.last_error,
    )


class SqlOutbox(Repo):
    """Implements :class:`dialogue.ports.OutboxRepo`."""

    async def enqueue(self, deliveries: Sequence[NewDelivery], *, now: datetime) -> int:
        """Store deliveries (``not_before`` defaults to ``now``); rows whose key exists are skipped.

        Returns how many rows were new. The unique key decides, so a repeated fan-out (a
        retried firing, a second replica) adds nothing.
        """
        if not deliveries:
            return 0
        rows = [
            {
                "key": d.key,
                "message": message_to_data(d.message),
                "anchor": d.message.anchor,
                "person_id": d.person_id,
                "route": d.route,
                "channel": d.channel,
                "platform": d.platform,
                "group_key": d.group,
                "replaces": d.replaces,
                "not_before": d.not_before or now,
                "status": PENDING,
                "attempts": 0,
                "last_error": "",
                "created_at": now,
            }
            for d in deliveries
        ]
        new = await self.session.scalars(_new_deliveries(self.dialect), rows)
        return len(new.all())

    async def claim(self, *, worker: str, now: datetime, limit: int, lease_seconds: float) -> list[Delivery]:
        """Claim up to ``limit`` due rows, oldest first, leasing them to ``worker``.

        Due means pending with ``not_before <= now``, or sending with an expired lease (its
        worker died). On PostgreSQL ``FOR UPDATE SKIP LOCKED`` makes concurrent claimers
        take disjoint rows; SQLite renders no locking clause, and needs none, because the
        transaction began with ``BEGIN IMMEDIATE`` and so holds the only write lock.
        """
        claimed = await self.session.execute(
            _CLAIM,
            {
                "b_now": now,
                "b_limit": limit,
                "b_worker": worker,
                "b_lease": now + timedelta(seconds=lease_seconds),
            },
        )
        # RETURNING comes in no particular order; the worker sends oldest first.
        return sorted((_delivery(row) for row in claimed), key=lambda delivery: delivery.id)

    async def renew(self, ids: Sequence[int], *, worker: str, until: datetime) -> set[int]:
        """Extend to ``until`` the leases ``worker`` still holds among rows ``ids``; the ids extended."""
        if not ids:
            return set()
        rows = _OUTBOX.c
        renewed = await self.session.scalars(
            update(_OUTBOX)
            .where(rows.id.in_(ids), rows.status == SENDING, rows.claimed_by == worker)
            .values(lease_until=until)
            .returning(rows.id)
        )
        return set(renewed)

    async def mark_sent(self, sent: Sequence[Sent]) -> None:
        """Record each of ``sent`` as SENT with its platform and ref, in one executemany statement."""
        if not sent:
            return
        await self.session.execute(
            _MARK_SENT,
            [
                {"sent_id": s.delivery_id, "sent_platform": s.platform, "sent_ref": s.platform_ref}
                | {"sent_at": s.at}
                for s in sent
            ],
        )

    async def mark_retry(self, delivery_id: int, *, error: str, not_before: datetime) -> None:
        """Back to PENDING, attempts + 1, due again at ``not_before``."""
        await self.session.execute(
            update(DeliveryRow)
            .where(DeliveryRow.id == delivery_id)
            .values(
                status=PENDING,
                attempts=DeliveryRow.attempts + 1,
                not_before=not_before,
                last_error=error,
                lease_until=None,
                claimed_by=None,
            )
        )

    async def mark_failed(self, delivery_id: int, *, error: str) -> None:
        """Give up on it for good (the failed attempt is counted)."""
        await self.session.execute(
            update(DeliveryRow)
            .where(DeliveryRow.id == delivery_id)
            .values(
                status=FAILED,
                attempts=DeliveryRow.attempts + 1,
                last_error=error,
                lease_until=None,
                claimed_by=None,
            )
        )

    async def requeue_failed(self, *, since: datetime, now: datetime, error: str = "") -> int:
        """Send again the failed deliveries made since ``since`` (whose error contains ``error``, if given),
        except those of runs closed since: a question of a closed pulse can no longer be answered."""
        closed_groups = select(literal("occurrence:") + cast_(OccurrenceRow.id, String)).where(
            OccurrenceRow.closed
        )
        conditions = [
            DeliveryRow.status == FAILED,
            DeliveryRow.created_at >= since,
            or_(DeliveryRow.group_key.is_(None), DeliveryRow.group_key.not_in(closed_groups)),
        ]
        if error:
            conditions.append(DeliveryRow.last_error.contains(error, autoescape=True))
        return await self.changed(
            update(DeliveryRow)
            .where(*conditions)
            .values(status=PENDING, attempts=0, not_before=now, last_error="")
        )

    async def prune(self, *, before: datetime) -> int:
        """See :meth:`dialogue.ports.OutboxRepo.prune`."""
        open_groups = select(literal("occurrence:") + cast_(OccurrenceRow.id, String)).where(
            OccurrenceRow.closed.is_(False)
        )
        return await self.changed(
            delete(DeliveryRow).where(
                DeliveryRow.status.in_([SENT, FAILED]),
                DeliveryRow.created_at < before,
                DeliveryRow.anchor.is_(None),
                or_(DeliveryRow.group_key.is_(None), DeliveryRow.group_key.not_in(open_groups)),
            )
        )

    async def sent_ref(self, key: str) -> tuple[str, str] | None:
        """``(platform, platform_ref)`` of the sent delivery with this key, if sent."""
        result = await self.session.execute(
            select(DeliveryRow.platform, DeliveryRow.platform_ref).where(
                DeliveryRow.key == key, DeliveryRow.status == SENT
            )
        )
        row = result.first()
        if row is None or row.platform is None or row.platform_ref is None:
            return None
        return row.platform, row.platform_ref

    async def still_to_pick(self, person_id: int, platform: str, *, limit: int) -> list[tuple[str, Message]]:
        """Messages sent to the person on ``platform`` whose latest version still has choices, as
        ``(platform_ref, latest version)``, oldest first; at most ``limit``, the newest of them."""
        originals = (
            await self.session.execute(
                select(DeliveryRow.key, DeliveryRow.platform_ref, DeliveryRow.message)
                .where(
                    DeliveryRow.person_id == person_id,
                    DeliveryRow.platform == platform,
                    DeliveryRow.status == SENT,
                    DeliveryRow.replaces.is_(None),
                )
                .order_by(DeliveryRow.id.desc())
                .limit(_RECENT)
            )
        ).all()
        latest = {row.key: row.message for row in originals}
        updates = await self.session.execute(
            select(DeliveryRow.replaces, DeliveryRow.message)
            .where(DeliveryRow.replaces.in_(list(latest)), DeliveryRow.status == SENT)
            .order_by(DeliveryRow.id)
        )
        for replaced, message in updates:
            latest[replaced] = message
        found: list[tuple[str, Message]] = []
        for row in originals:
            message = message_from_data(latest[row.key])
            if message.choices and row.platform_ref is not None and len(found) < limit:
                found.append((row.platform_ref, message))
        return found[::-1]

    async def sent_between(
        self, person_id: int, platform: str, *, after: int | None, until: int, limit: int
    ) -> list[Message]:
        """See :meth:`dialogue.ports.OutboxRepo.sent_between`."""
        conditions = [
            DeliveryRow.person_id == person_id,
            DeliveryRow.platform == platform,
            DeliveryRow.status == SENT,
            DeliveryRow.replaces.is_(None),
            DeliveryRow.id <= until,
        ]
        if after is not None:
            conditions.append(DeliveryRow.id > after)
        rows = await self.session.scalars(
            select(DeliveryRow.message).where(*conditions).order_by(DeliveryRow.id.desc()).limit(_RECENT)
        )
        messages = [message for message in map(message_from_data, rows) if not message.choices]
        return messages[:limit][::-1]

    async def newest_id(self) -> int:
        """See :meth:`dialogue.ports.OutboxRepo.newest_id`."""
        return await self.session.scalar(select(func.max(DeliveryRow.id))) or 0

    async def forget_progress(self, occurrence_id: int, first_item_id: int) -> int:
        """See :meth:`dialogue.ports.OutboxRepo.forget_progress`."""
        run = f"occ:{occurrence_id}:item:"
        later_questions = and_(  # the questions and their "closed" updates
            DeliveryRow.key.startswith(run, autoescape=True),
            ~DeliveryRow.key.startswith(f"{run}{first_item_id}:", autoescape=True),
        )
        reminders = DeliveryRow.key.startswith(f"occ:{occurrence_id}:remind:", autoescape=True)  # who had not
        return await self.changed(
            delete(DeliveryRow).where(or_(later_questions, reminders), DeliveryRow.status.in_([SENT, FAILED]))
        )

    async def status_of(self, key: str) -> DeliveryStatus | None:
        """See :meth:`dialogue.ports.OutboxRepo.status_of`."""
        status = await self.session.scalar(select(DeliveryRow.status).where(DeliveryRow.key == key))
        return None if status is None else DeliveryStatus(status)

    async def anchor_ref(self, anchor: str, platform: str) -> str | None:
        """The platform ref of the sent message on ``platform`` that starts thread ``anchor``.

        The first such message wins: later ones with the same anchor are edits of it.
        """
        return await self.session.scalar(
            select(DeliveryRow.platform_ref)
            .where(DeliveryRow.anchor == anchor, DeliveryRow.platform == platform, DeliveryRow.status == SENT)
            .order_by(DeliveryRow.id)
            .limit(1)
        )

    async def thread_of(self, platform: str, platform_ref: str) -> str | None:
        """The thread key (``anchor``) of the sent message on ``platform`` with this ref, if it starts one."""
        return await self.session.scalar(
            select(DeliveryRow.anchor)
            .where(
                DeliveryRow.platform == platform,
                DeliveryRow.platform_ref == platform_ref,
                DeliveryRow.anchor.is_not(None),
            )
            .limit(1)
        )

    async def next_due(self, after: datetime) -> datetime | None:
        """The earliest ``not_before`` of a pending row later than ``after`` (for moving a clock)."""
        return await self.session.scalar(
            select(func.min(DeliveryRow.not_before)).where(
                DeliveryRow.status == PENDING, DeliveryRow.not_before > after
            )
        )

    async def due_at(self, key: str) -> datetime | None:
        """See :meth:`dialogue.ports.OutboxRepo.due_at`."""
        when = func.coalesce(DeliveryRow.sent_at, DeliveryRow.not_before, type_=UTCDateTime())
        return await self.session.scalar(select(when).where(DeliveryRow.key == key))

    async def delivered_at(self, group: str, prefix: str) -> dict[str, datetime]:
        """See :meth:`dialogue.ports.OutboxRepo.delivered_at`."""
        when = func.coalesce(DeliveryRow.sent_at, DeliveryRow.not_before, type_=UTCDateTime())
        rows = await self.session.execute(select(DeliveryRow.key, when).where(DeliveryRow.group_key == group))
        return {key: at for key, at in rows if key.startswith(prefix)}

    async def keys_in_group(self, group: str) -> list[str]:
        """Keys of every delivery in ``group`` (e.g. all messages of one pulse run), oldest first."""
        keys = await self.session.scalars(
            select(DeliveryRow.key).where(DeliveryRow.group_key == group).order_by(DeliveryRow.id)
        )
        return list(keys)

    async def counts(self) -> dict[str, int]:
        """Number of rows by status (statuses without rows are left out)."""
        result = await self.session.execute(
            select(DeliveryRow.status, func.count()).group_by(DeliveryRow.status)
        )
        return {status: count for status, count in result}

    async def backlog(self, now: datetime) -> tuple[int, datetime | None]:
        """Rows due by ``now`` and not yet sent, and the earliest ``not_before`` among them.

        Rows being sent count (they are not out yet, whoever holds their lease); rows waiting for a
        later ``not_before`` (a retry, a local-time pulse) do not.
        """
        due = or_(
            and_(DeliveryRow.status == PENDING, DeliveryRow.not_before <= now),
            DeliveryRow.status == SENDING,
        )
        result = await self.session.execute(select(func.count(), func.min(DeliveryRow.not_before)).where(due))
        count, oldest = result.one()
        return int(count), oldest
