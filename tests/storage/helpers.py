"""Small builders the storage tests share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dialogue.directory import Person, Role
from dialogue.ports import Repositories

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    """``minutes`` after :data:`T0`."""
    return T0 + timedelta(minutes=minutes)


async def person(tx: Repositories, handle: str, *roles: Role) -> Person:
    """A staff member (with extra ``roles``)."""
    return await tx.directory.upsert_person(
        handle=handle, display_name=handle.title(), time_zone="UTC", roles={Role.STAFF, *roles}
    )
