"""Platform contact data (Teams conversation references), kept in the database, never only in memory,
so any replica can message anyone after a restart."""

from __future__ import annotations

import functools
from collections.abc import Collection
from datetime import datetime
from typing import cast

from sqlalchemy import Table, Text, bindparam, false, or_, select, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects import postgresql, sqlite

from dialogue.anonymity import coarse
from dialogue.outbox import Contact
from storage.models import ContactRow
from storage.sql import Repo, dialect_insert

_CONTACTS = cast(Table, ContactRow.__table__)
_COLUMNS = select(
    _CONTACTS.c.platform, _CONTACTS.c.key, _CONTACTS.c.data, _CONTACTS.c.reachable, _CONTACTS.c.updated_at
)
_CONTACT = _COLUMNS.where(_CONTACTS.c.platform == bindparam("platform"), _CONTACTS.c.key == bindparam("key"))
# An IN list a column: the wanted pairs are picked out of what comes back.
_CONTACTS_FOR = _COLUMNS.where(
    _CONTACTS.c.platform.in_(bindparam("platforms", expanding=True)),
    _CONTACTS.c.key.in_(bindparam("keys", expanding=True)),
)


@functools.cache
def _keep_contact(dialect: str) -> postgresql.Insert | sqlite.Insert:
    """Insert the contact, or on conflict replace it where the kept one differs or is unreachable: a
    reference that is already kept costs one statement that writes nothing. Built once per dialect."""
    rows, insert = _CONTACTS.c, dialect_insert(dialect, _CONTACTS)
    new = insert.excluded
    # As text: PostgreSQL's json type has no equality; both sides are serialised alike.
    changed = sql_cast(rows.data, Text) != sql_cast(new.data, Text)
    return insert.on_conflict_do_update(
        index_elements=[rows.platform, rows.key],
        set_={"data": new.data, "reachable": new.reachable, "updated_at": new.updated_at},
        where=or_(changed, rows.reachable == false()),
    )


class SqlContacts(Repo):
    """Implements :class:`dialogue.ports.ContactRepo`. Times are kept to the hour: a Teams reference is
    saved with someone's first message, and its exact time would tie an anonymous first message to them."""

    async def save_contact(self, contact: Contact, *, at: datetime) -> None:
        """Insert or replace the contact; a fresh one is reachable again."""
        values = {"data": contact.data, "reachable": contact.reachable, "updated_at": coarse(at)}
        statement = (
            self.insert(ContactRow)
            .values(platform=contact.platform, key=contact.key, **values)
            .on_conflict_do_update(index_elements=["platform", "key"], set_=values)
        )
        await self.session.execute(statement)

    async def keep_contact(self, contact: Contact, *, at: datetime) -> None:
        """Save the contact as reachable unless exactly its data is kept and reachable already."""
        await self.session.execute(
            _keep_contact(self.dialect),
            {
                "platform": contact.platform,
                "key": contact.key,
                "data": contact.data,
                "reachable": True,
                "updated_at": coarse(at),
            },
        )

    async def contact(self, platform: str, key: str) -> Contact | None:
        """The contact, or None if the platform never told us how to reach it."""
        row = (await self.session.execute(_CONTACT, {"platform": platform, "key": key})).first()
        if row is None:
            return None
        return Contact(row.platform, row.key, dict(row.data), row.reachable, row.updated_at)

    async def contacts_for(self, wanted: Collection[tuple[str, str]]) -> dict[tuple[str, str], Contact]:
        """The contacts among ``wanted`` ``(platform, key)`` pairs that exist, reachable or not."""
        if not wanted:
            return {}
        platforms, keys = sorted({platform for platform, _ in wanted}), sorted({key for _, key in wanted})
        rows = await self.session.execute(_CONTACTS_FOR, {"platforms": platforms, "keys": keys})
        pairs = set(wanted)
        return {
            (platform, key): Contact(platform, key, dict(data), reachable, updated_at)
            for platform, key, data, reachable, updated_at in rows
            if (platform, key) in pairs
        }

    async def contacts(self, platform: str, *, prefix: str = "") -> list[Contact]:
        """The platform's reachable contacts whose key starts with ``prefix``, in key order."""
        query = select(ContactRow).where(ContactRow.platform == platform, ContactRow.reachable)
        if prefix:
            query = query.where(ContactRow.key.startswith(prefix, autoescape=True))  # "_" is no wildcard
        rows = await self.session.scalars(query.order_by(ContactRow.key))
        return [Contact(row.platform, row.key, dict(row.data), row.reachable, row.updated_at) for row in rows]

    async def set_reachable(self, platform: str, key: str, reachable: bool, *, at: datetime) -> bool:
        """Mark a known contact reachable or not; False if there is no such contact."""
        statement = (
            update(ContactRow)
            .where(ContactRow.platform == platform, ContactRow.key == key)
            .values(reachable=reachable, updated_at=coarse(at))
        )
        return await self.changed(statement) == 1
