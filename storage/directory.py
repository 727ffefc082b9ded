"""People, teams, memberships and platform identities."""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable
from datetime import date
from typing import Any, cast

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Row,
    ScalarSelect,
    Table,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.dml import Insert, ReturningInsert

from dialogue.directory import Person, Role, Team
from dialogue.events import Identity
from storage.models import IdentityRow, MembershipRow, PersonRoleRow, PersonRow, TeamRow
from storage.sql import Repo, dialect_insert


def name_key(name: str) -> str:
    """The case-insensitive form names and handles are unique by.

    Computed in Python rather than with SQL ``lower()``, which on SQLite folds ASCII only.
    """
    return name.strip().lower()


_PEOPLE = cast(Table, PersonRow.__table__)
_ROLES = cast(Table, PersonRoleRow.__table__)
_MEMBERSHIPS = cast(Table, MembershipRow.__table__)
_IDENTITIES = cast(Table, IdentityRow.__table__)
_OTHER_IDENTITY = _IDENTITIES.alias()  # another identity of the same person, in subqueries

IDS_PER_QUERY = 5000  # people read by id in one query

# The columns a Person is made of, one row per role and membership (a person has a few of each).
_PERSON = select(
    _PEOPLE.c.id,
    _PEOPLE.c.handle,
    _PEOPLE.c.display_name,
    _PEOPLE.c.time_zone,
    _PEOPLE.c.active,
    _PEOPLE.c.away_until,
    _PEOPLE.c.quiet_hours,
    _ROLES.c.role,
    _MEMBERSHIPS.c.team_id,
    _MEMBERSHIPS.c.position,
)
_WITH_ROLES_AND_TEAMS = _PEOPLE.outerjoin(_ROLES, _ROLES.c.person_id == _PEOPLE.c.id).outerjoin(
    _MEMBERSHIPS, _MEMBERSHIPS.c.person_id == _PEOPLE.c.id
)


def _latest_seen(person_id: int | ColumnElement[int]) -> ScalarSelect[int]:
    """The ``seen`` of the person's most recent identity (0 when they have none)."""
    # An alias, so the subquery never correlates with the identities row being updated.
    return (
        select(func.coalesce(func.max(_OTHER_IDENTITY.c.seen), 0))
        .where(_OTHER_IDENTITY.c.person_id == person_id)
        .scalar_subquery()
    )


def _next_seen(person_id: int | ColumnElement[int]) -> ColumnElement[int]:
    """One more than the person's most recent identity, so it sorts first."""
    return _latest_seen(person_id) + 1


# Every event asks who is behind its identity, and whether that identity is already the person's most
# recent one (then linking it again writes nothing, so the statement is skipped).
_BY_IDENTITY = (
    _PERSON.add_columns(
        _IDENTITIES.c.seen.label("identity_seen"),
        _latest_seen(_PEOPLE.c.id).label("latest_seen"),
    )
    .select_from(_IDENTITIES.join(_WITH_ROLES_AND_TEAMS, _PEOPLE.c.id == _IDENTITIES.c.person_id))
    .where(
        _IDENTITIES.c.platform == bindparam("platform"),
        _IDENTITIES.c.tenant == bindparam("tenant"),
        _IDENTITIES.c.user_id == bindparam("user_id"),
    )
)


_PERSON_BY_ID = (
    _PERSON.select_from(_WITH_ROLES_AND_TEAMS)
    .where(_PEOPLE.c.id == bindparam("person_id"))
    .order_by(_PEOPLE.c.id)
)
_REACHABLE = (
    select(_PEOPLE.c.id, _IDENTITIES.c.platform, _IDENTITIES.c.tenant, _IDENTITIES.c.user_id)
    .outerjoin(_IDENTITIES, _IDENTITIES.c.person_id == _PEOPLE.c.id)
    .where(_PEOPLE.c.id.in_(bindparam("person_ids", expanding=True)), _PEOPLE.c.active.is_(True))
    .order_by(_PEOPLE.c.id, _IDENTITIES.c.seen.desc(), _IDENTITIES.c.id.desc())
)
# A person's roles and memberships are kept in step with plain statements, not ORM collections: an import
# of 10,000 people loaded and flushed both collections twice per person (a third of its time).
_ROLES_OF = select(_ROLES.c.role).where(_ROLES.c.person_id == bindparam("person_id"))
_DROP_ROLES = delete(_ROLES).where(
    _ROLES.c.person_id == bindparam("person_id"), _ROLES.c.role.in_(bindparam("roles", expanding=True))
)
_MEMBERSHIPS_OF = select(_MEMBERSHIPS.c.team_id, _MEMBERSHIPS.c.position).where(
    _MEMBERSHIPS.c.person_id == bindparam("person_id")
)
_LEAVE_TEAMS = delete(_MEMBERSHIPS).where(
    _MEMBERSHIPS.c.person_id == bindparam("person_id"),
    _MEMBERSHIPS.c.team_id.in_(bindparam("team_ids", expanding=True)),
)
# An UPDATE's bind parameters may not be named after the columns it sets.
_MOVE_MEMBERSHIP = (
    update(_MEMBERSHIPS)
    .where(
        _MEMBERSHIPS.c.person_id == bindparam("b_person_id"), _MEMBERSHIPS.c.team_id == bindparam("b_team_id")
    )
    .values(position=bindparam("b_position"))
)


@functools.cache
def _upsert_person(dialect: str) -> ReturningInsert[Any]:
    """Insert a person, or on their handle update name and time zone (values given when run)."""
    insert = dialect_insert(dialect, _PEOPLE)
    return insert.on_conflict_do_update(
        index_elements=[_PEOPLE.c.handle_key],
        set_={"display_name": insert.excluded.display_name, "time_zone": insert.excluded.time_zone},
    ).returning(_PEOPLE.c.id)


@functools.cache
def _link_identity(dialect: str) -> Insert:
    """Link an identity to a person as their most recent one (see :meth:`SqlDirectory.add_identity`)."""
    person_id: BindParameter[int] = bindparam("b_person_id")
    seen = _next_seen(person_id)
    insert = dialect_insert(dialect, _IDENTITIES)
    return insert.values(
        person_id=person_id,
        platform=bindparam("b_platform"),
        tenant=bindparam("b_tenant"),
        user_id=bindparam("b_user_id"),
        seen=seen,
    ).on_conflict_do_update(
        index_elements=[_IDENTITIES.c.platform, _IDENTITIES.c.tenant, _IDENTITIES.c.user_id],
        set_={"person_id": person_id, "seen": seen},
        # Every event links its identity: when it is already the person's most recent, no row
        # changes (no write for the database to make).
        where=or_(_IDENTITIES.c.person_id != person_id, _IDENTITIES.c.seen < _latest_seen(person_id)),
    )


def _people_from(rows: Iterable[Any]) -> list[Person]:
    """People from rows of :data:`_PERSON`, in the order their first row comes."""
    found: dict[int, tuple[Row[Any], set[Role], dict[int, int]]] = {}
    for row in rows:
        _, roles, teams = found.setdefault(row.id, (row, set(), {}))
        if row.role is not None:
            roles.add(Role(row.role))
        if row.team_id is not None:
            teams[row.team_id] = row.position
    return [
        Person(
            id=row.id,
            handle=row.handle,
            display_name=row.display_name,
            time_zone=row.time_zone,
            roles=frozenset(roles),
            team_ids=tuple(sorted(teams, key=teams.__getitem__)),
            active=row.active,
            away_until=row.away_until,
            quiet_hours=row.quiet_hours,
        )
        for row, roles, teams in found.values()
    ]


def _team(row: TeamRow) -> Team:
    return Team(id=row.id, name=row.name, parent_id=row.parent_id)


class SqlDirectory(Repo):
    """Implements :class:`dialogue.ports.DirectoryRepo`."""

    def __init__(self, session: AsyncSession, dialect: str) -> None:
        super().__init__(session, dialect)
        # (person id, identity) pairs read in this unit of work where the identity is already the
        # person's most recent: add_identity has nothing to write for them.
        self._latest: set[tuple[int, Identity]] = set()

    async def get_person(self, person_id: int) -> Person | None:
        """The person with this id, active or not."""
        people = _people_from(await self.session.execute(_PERSON_BY_ID, {"person_id": person_id}))
        return people[0] if people else None

    async def person_by_handle(self, handle: str) -> Person | None:
        """Case-insensitive lookup by handle."""
        people = await self._people(PersonRow.handle_key == name_key(handle))
        return people[0] if people else None

    async def _people(self, *conditions: ColumnElement[bool]) -> list[Person]:
        """People matching ``conditions``, ordered by id, with roles and teams, in one query."""
        rows = await self.session.execute(
            _PERSON.select_from(_WITH_ROLES_AND_TEAMS).where(*conditions).order_by(_PEOPLE.c.id)
        )
        return _people_from(rows)

    async def person_by_identity(self, identity: Identity) -> Person | None:
        """The person this platform account belongs to (one query: every event asks it)."""
        rows = (
            await self.session.execute(
                _BY_IDENTITY,
                {"platform": identity.platform, "tenant": identity.tenant, "user_id": identity.user_id},
            )
        ).all()
        if not rows:
            return None
        if rows[0].identity_seen >= rows[0].latest_seen:
            self._latest.add((rows[0].id, identity))
        return _people_from(rows)[0]

    async def upsert_person(
        self, *, handle: str, display_name: str, time_zone: str, roles: Collection[Role]
    ) -> Person:
        """Create the person with this handle, or update name, time zone and roles."""
        values = {
            "handle": handle.strip(),
            "handle_key": name_key(handle),
            "display_name": display_name,
            "time_zone": time_zone,
            "active": True,
        }
        person_id = await self.session.scalar(_upsert_person(self.dialect), values)
        assert person_id is not None
        wanted = {Role(r).value for r in roles}
        held = set(await self.session.scalars(_ROLES_OF, {"person_id": person_id}))
        if held - wanted:
            await self.session.execute(_DROP_ROLES, {"person_id": person_id, "roles": sorted(held - wanted)})
        if wanted - held:
            await self.session.execute(
                insert(_ROLES), [{"person_id": person_id, "role": role} for role in sorted(wanted - held)]
            )
        person = await self.get_person(person_id)
        assert person is not None
        return person

    async def set_active(self, person_id: int, active: bool) -> None:
        """Activate or deactivate the person (inactive people get no messages)."""
        await self.session.execute(update(PersonRow).where(PersonRow.id == person_id).values(active=active))

    async def set_away(self, person_id: int, until: date | None) -> None:
        """Mark the person away until ``until`` (None: back)."""
        away = update(PersonRow).where(PersonRow.id == person_id).values(away_until=until)
        await self.session.execute(away)

    async def forget_away(self, before: date) -> int:
        """Forget the days people were back on that are before ``before``; how many."""
        back = update(PersonRow).where(PersonRow.away_until < before).values(away_until=None)
        return await self.changed(back)

    async def set_quiet_hours(self, person_id: int, hours: str | None) -> None:
        """Set the person's own quiet hours (``""``: none; None: the organisation's)."""
        quiet = update(PersonRow).where(PersonRow.id == person_id).values(quiet_hours=hours)
        await self.session.execute(quiet)

    async def people_by_ids(self, person_ids: Collection[int]) -> list[Person]:
        """These people, active or not, a query for each few thousand (a driver takes 32,767 parameters
        at most, and "you said, we did" goes to everyone a pulse went to)."""
        wanted = sorted(person_ids)
        found: list[Person] = []
        for start in range(0, len(wanted), IDS_PER_QUERY):
            found += await self._people(_PEOPLE.c.id.in_(wanted[start : start + IDS_PER_QUERY]))
        return found

    async def set_teams(self, person_id: int, team_ids: Collection[int]) -> None:
        """Replace the person's team memberships, keeping the given order (the first is home)."""
        held: dict[int, int] = {
            team_id: position
            for team_id, position in await self.session.execute(_MEMBERSHIPS_OF, {"person_id": person_id})
        }
        wanted = {team_id: position for position, team_id in enumerate(dict.fromkeys(team_ids))}
        if not held and not wanted:
            return
        if not held and await self.get_person(person_id) is None:
            raise LookupError(f"no person {person_id}")
        if held.keys() - wanted.keys():
            await self.session.execute(
                _LEAVE_TEAMS, {"person_id": person_id, "team_ids": sorted(held.keys() - wanted.keys())}
            )
        moved = [
            {"b_person_id": person_id, "b_team_id": team_id, "b_position": position}
            for team_id, position in wanted.items()
            if team_id in held and held[team_id] != position
        ]
        if moved:
            await self.session.execute(_MOVE_MEMBERSHIP, moved)
        joined = [
            {"person_id": person_id, "team_id": team_id, "position": position}
            for team_id, position in wanted.items()
            if team_id not in held
        ]
        if joined:
            await self.session.execute(insert(_MEMBERSHIPS), joined)

    async def add_identity(self, person_id: int, identity: Identity) -> None:
        """Link an identity to the person (moving it if another person had it), as their most recent."""
        if (person_id, identity) in self._latest:
            return
        self._latest.clear()  # whichever identity was the most recent is not any more
        await self.session.execute(
            _link_identity(self.dialect),
            {
                "b_person_id": person_id,
                "b_platform": identity.platform,
                "b_tenant": identity.tenant,
                "b_user_id": identity.user_id,
            },
        )

    async def identities(self, person_id: int) -> list[Identity]:
        """The person's identities, most recently linked or seen first."""
        rows = await self.session.execute(
            select(IdentityRow.platform, IdentityRow.tenant, IdentityRow.user_id)
            .where(IdentityRow.person_id == person_id)
            .order_by(IdentityRow.seen.desc(), IdentityRow.id.desc())
        )
        return [Identity(platform, tenant, user_id) for platform, tenant, user_id in rows]

    async def reachable(self, person_ids: Collection[int]) -> dict[int, list[Identity]]:
        """Active people's identities, most recent first, by person id (see the port)."""
        rows = await self.session.execute(_REACHABLE, {"person_ids": sorted(person_ids)})
        found: dict[int, list[Identity]] = {}
        for person_id, platform, tenant, user_id in rows:
            identities = found.setdefault(person_id, [])
            if platform is not None:  # an active person with no identity yet
                identities.append(Identity(platform, tenant, user_id))
        return found

    async def touch_identity(self, identity: Identity) -> None:
        """Record that this identity was just active (it becomes the person's preferred one)."""
        self._latest.clear()
        same = aliased(IdentityRow)
        owner = (
            select(same.person_id)
            .where(
                same.platform == identity.platform,
                same.tenant == identity.tenant,
                same.user_id == identity.user_id,
            )
            .scalar_subquery()
        )
        await self.session.execute(
            update(IdentityRow)
            .where(
                IdentityRow.platform == identity.platform,
                IdentityRow.tenant == identity.tenant,
                IdentityRow.user_id == identity.user_id,
            )
            .values(seen=_next_seen(owner))
            .execution_options(synchronize_session=False)
        )

    async def upsert_team(self, *, name: str, parent_id: int | None) -> Team:
        """Create the team with this name (case-insensitive), or update its parent."""
        insert = self.insert(TeamRow)
        row = await self.session.scalar(
            insert.values(name=name.strip(), name_key=name_key(name), parent_id=parent_id)
            .on_conflict_do_update(index_elements=[TeamRow.name_key], set_={"parent_id": parent_id})
            .returning(TeamRow)
            .execution_options(populate_existing=True)
        )
        assert row is not None
        return _team(row)

    async def get_team(self, team_id: int) -> Team | None:
        """The team with this id."""
        row = await self.session.get(TeamRow, team_id, populate_existing=True)
        return _team(row) if row else None

    async def team_by_name(self, name: str) -> Team | None:
        """Case-insensitive lookup by name."""
        row = await self.session.scalar(
            select(TeamRow)
            .where(TeamRow.name_key == name_key(name))
            .execution_options(populate_existing=True)
        )
        return _team(row) if row else None

    async def teams(self) -> list[Team]:
        """Every team, ordered by id."""
        rows = await self.session.scalars(
            select(TeamRow).order_by(TeamRow.id).execution_options(populate_existing=True)
        )
        return [_team(row) for row in rows]

    async def people(self, *, team_ids: Collection[int] | None = None) -> list[Person]:
        """Active people, ordered by id; only members of ``team_ids`` when given."""
        if team_ids is None:
            return await self._people(PersonRow.active.is_(True))
        members = select(MembershipRow.person_id).where(MembershipRow.team_id.in_(list(team_ids)))
        return await self._people(PersonRow.active.is_(True), PersonRow.id.in_(members))

    async def people_with_role(self, role: Role) -> list[Person]:
        """Active people holding ``role``, ordered by id."""
        holders = select(PersonRoleRow.person_id).where(PersonRoleRow.role == Role(role).value)
        return await self._people(PersonRow.active.is_(True), PersonRow.id.in_(holders))

    async def everyone(self) -> list[Person]:
        """Every person, switched off too, ordered by id."""
        return await self._people()

    async def all_identities(self) -> dict[int, set[Identity]]:
        """Every person's identities, by person id."""
        rows = await self.session.execute(
            select(IdentityRow.person_id, IdentityRow.platform, IdentityRow.tenant, IdentityRow.user_id)
        )
        found: dict[int, set[Identity]] = {}
        for person_id, platform, tenant, user_id in rows:
            found.setdefault(person_id, set()).add(Identity(platform, tenant, user_id))
        return found
