"""People, teams, memberships and platform identities."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import ColumnElement, Row, ScalarSelect, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from dialogue.directory import Person, Role, Team
from dialogue.events import Identity
from storage.models import IdentityRow, MembershipRow, PersonRoleRow, PersonRow, TeamRow
from storage.sql import Repo


def name_key(name: str) -> str:
    """The case-insensitive form names and handles are unique by.

    Computed in Python rather than with SQL ``lower()``, which on SQLite folds ASCII only.
    """
    return name.strip().lower()


def _person(row: PersonRow) -> Person:
    return Person(
        id=row.id,
        handle=row.handle,
        display_name=row.display_name,
        time_zone=row.time_zone,
        roles=frozenset(Role(r.role) for r in row.roles),
        team_ids=tuple(m.team_id for m in row.memberships),
        active=row.active,
    )


_PEOPLE = PersonRow.__table__
_ROLES = PersonRoleRow.__table__
_MEMBERSHIPS = MembershipRow.__table__
_IDENTITIES = IdentityRow.__table__
_OTHER_IDENTITY = _IDENTITIES.alias()  # another identity of the same person, in subqueries

# The columns a Person is made of, one row per role and membership (a person has a few of each).
_PERSON = select(
    _PEOPLE.c.id,
    _PEOPLE.c.handle,
    _PEOPLE.c.display_name,
    _PEOPLE.c.time_zone,
    _PEOPLE.c.active,
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

    async def _row(self, person_id: int) -> PersonRow | None:
        # populate_existing: an upsert may have changed the row behind the session's back.
        return await self.session.get(PersonRow, person_id, populate_existing=True)

    async def get_person(self, person_id: int) -> Person | None:
        """The person with this id, active or not."""
        people = await self._people(PersonRow.id == person_id)
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
        insert = self.insert(PersonRow)
        person_id = await self.session.scalar(
            insert.values(
                handle=handle.strip(),
                handle_key=name_key(handle),
                display_name=display_name,
                time_zone=time_zone,
                active=True,
            )
            .on_conflict_do_update(
                index_elements=[PersonRow.handle_key],
                set_={"display_name": insert.excluded.display_name, "time_zone": insert.excluded.time_zone},
            )
            .returning(PersonRow.id)
        )
        assert person_id is not None
        row = await self._row(person_id)
        assert row is not None
        wanted = {Role(r).value for r in roles}
        row.roles = [r for r in row.roles if r.role in wanted] + [
            PersonRoleRow(role=role) for role in sorted(wanted - {r.role for r in row.roles})
        ]
        await self.session.flush()
        return _person(row)

    async def set_active(self, person_id: int, active: bool) -> None:
        """Activate or deactivate the person (inactive people get no messages)."""
        await self.session.execute(update(PersonRow).where(PersonRow.id == person_id).values(active=active))

    async def set_teams(self, person_id: int, team_ids: Collection[int]) -> None:
        """Replace the person's team memberships, keeping the given order (the first is home)."""
        row = await self._row(person_id)
        if row is None:
            raise LookupError(f"no person {person_id}")
        existing = {m.team_id: m for m in row.memberships}
        memberships = []
        for position, team_id in enumerate(dict.fromkeys(team_ids)):
            membership = existing.get(team_id) or MembershipRow(team_id=team_id)
            membership.position = position
            memberships.append(membership)
        row.memberships = memberships
        await self.session.flush()

    async def add_identity(self, person_id: int, identity: Identity) -> None:
        """Link an identity to the person (moving it if another person had it), as their most recent."""
        if (person_id, identity) in self._latest:
            return
        self._latest.clear()  # whichever identity was the most recent is not any more
        insert = self.insert(IdentityRow)
        seen = _next_seen(person_id)
        await self.session.execute(
            insert.values(
                person_id=person_id,
                platform=identity.platform,
                tenant=identity.tenant,
                user_id=identity.user_id,
                seen=seen,
            ).on_conflict_do_update(
                index_elements=[IdentityRow.platform, IdentityRow.tenant, IdentityRow.user_id],
                set_={"person_id": person_id, "seen": seen},
                # Every event links its identity: when it is already the person's most recent, no row
                # changes (no write for the database to make).
                where=or_(IdentityRow.person_id != person_id, IdentityRow.seen < _latest_seen(person_id)),
            )
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
        rows = await self.session.execute(
            select(PersonRow.id, IdentityRow.platform, IdentityRow.tenant, IdentityRow.user_id)
            .outerjoin(IdentityRow, IdentityRow.person_id == PersonRow.id)
            .where(PersonRow.id.in_(person_ids), PersonRow.active.is_(True))
            .order_by(PersonRow.id, IdentityRow.seen.desc(), IdentityRow.id.desc())
        )
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
