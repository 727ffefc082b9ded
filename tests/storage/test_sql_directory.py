"""The directory repository on both engines: upserts, case-insensitive lookups, identities."""

from __future__ import annotations

from datetime import date

from dialogue.directory import Role
from dialogue.events import Identity
from storage import SqlStore

STAFF = frozenset({Role.STAFF})


async def test_upsert_person_creates_then_updates_by_handle_case_insensitively(store: SqlStore) -> None:
    async with store.transaction() as tx:
        amira = await tx.directory.upsert_person(
            handle="Amira", display_name="Amira K", time_zone="Europe/London", roles=STAFF
        )
    async with store.transaction() as tx:
        again = await tx.directory.upsert_person(
            handle="AMIRA",
            display_name="Amira Khan",
            time_zone="Europe/Paris",
            roles={Role.STAFF, Role.MANAGER},
        )
        assert again.id == amira.id
        assert again.handle == "Amira"
        assert again.display_name == "Amira Khan"
        assert again.time_zone == "Europe/Paris"
        assert again.roles == {Role.STAFF, Role.MANAGER}
    async with store.transaction() as tx:
        found = await tx.directory.person_by_handle("aMiRa")
        assert found == again
        dropped = await tx.directory.upsert_person(
            handle="amira", display_name="Amira Khan", time_zone="Europe/Paris", roles={Role.ADMIN}
        )
        assert dropped.roles == {Role.ADMIN}
        assert await tx.directory.person_by_handle("nobody") is None
        assert await tx.directory.get_person(amira.id + 100) is None


async def test_teams_are_unique_by_name_case_insensitively(store: SqlStore) -> None:
    async with store.transaction() as tx:
        council = await tx.directory.upsert_team(name="Council", parent_id=None)
        housing = await tx.directory.upsert_team(name="Housing", parent_id=None)
        moved = await tx.directory.upsert_team(name="HOUSING", parent_id=council.id)
        assert moved.id == housing.id
        assert moved.name == "Housing"
        assert moved.parent_id == council.id
        assert await tx.directory.team_by_name("housing") == moved
        assert await tx.directory.get_team(council.id) == council
        assert await tx.directory.teams() == [council, moved]
        assert await tx.directory.team_by_name("parks") is None


async def test_people_are_active_ordered_by_id_and_filtered_by_team(store: SqlStore) -> None:
    async with store.transaction() as tx:
        red = await tx.directory.upsert_team(name="Red", parent_id=None)
        blue = await tx.directory.upsert_team(name="Blue", parent_id=None)
        ids = []
        for handle in ("c", "a", "b"):
            person = await tx.directory.upsert_person(
                handle=handle, display_name=handle, time_zone="UTC", roles=STAFF
            )
            ids.append(person.id)
        c, a, b = ids
        await tx.directory.set_teams(c, [blue.id, red.id])
        await tx.directory.set_teams(a, [red.id])
        await tx.directory.set_teams(b, [blue.id])
    async with store.transaction() as tx:
        everyone = await tx.directory.people()
        assert [p.id for p in everyone] == sorted(ids)
        person_c = await tx.directory.get_person(c)
        assert person_c is not None
        assert person_c.team_ids == (blue.id, red.id)  # the order given: the first is the home team
        assert [p.id for p in await tx.directory.people(team_ids=[red.id])] == sorted([c, a])
        assert await tx.directory.people(team_ids=[]) == []
        await tx.directory.set_active(a, False)
    async with store.transaction() as tx:
        assert [p.id for p in await tx.directory.people(team_ids=[red.id])] == [c]
        inactive = await tx.directory.get_person(a)
        assert inactive is not None
        assert not inactive.active
        await tx.directory.set_teams(c, [red.id])
        person_c = await tx.directory.get_person(c)
        assert person_c is not None
        assert person_c.team_ids == (red.id,)
        await tx.directory.set_teams(c, [])
        person_c = await tx.directory.get_person(c)
        assert person_c is not None
        assert person_c.team_ids == ()


async def test_people_with_role(store: SqlStore) -> None:
    async with store.transaction() as tx:
        boss = await tx.directory.upsert_person(
            handle="boss", display_name="Boss", time_zone="UTC", roles={Role.STAFF, Role.SENIOR_LEADER}
        )
        await tx.directory.upsert_person(handle="worker", display_name="W", time_zone="UTC", roles=STAFF)
        gone = await tx.directory.upsert_person(
            handle="gone", display_name="G", time_zone="UTC", roles={Role.SENIOR_LEADER}
        )
        await tx.directory.set_active(gone.id, False)
    async with store.transaction() as tx:
        assert [p.handle for p in await tx.directory.people_with_role(Role.SENIOR_LEADER)] == ["boss"]
        assert [p.id for p in await tx.directory.people_with_role(Role.STAFF)] == [boss.id, boss.id + 1]
        assert await tx.directory.people_with_role(Role.ADMIN) == []


async def test_identities_move_between_people_and_most_recent_comes_first(store: SqlStore) -> None:
    slack = Identity("slack", "T1", "U1")
    teams = Identity("teams", "tenant", "29:abc")
    console = Identity("console", "local", "amira")
    async with store.transaction() as tx:
        amira = await tx.directory.upsert_person(
            handle="amira", display_name="A", time_zone="UTC", roles=STAFF
        )
        ben = await tx.directory.upsert_person(handle="ben", display_name="B", time_zone="UTC", roles=STAFF)
        await tx.directory.add_identity(amira.id, console)
        await tx.directory.add_identity(amira.id, slack)
        await tx.directory.add_identity(amira.id, teams)
        assert await tx.directory.identities(amira.id) == [teams, slack, console]
        await tx.directory.touch_identity(slack)
        assert await tx.directory.identities(amira.id) == [slack, teams, console]
        await tx.directory.touch_identity(Identity("slack", "T1", "unknown"))  # nobody: nothing happens
    async with store.transaction() as tx:
        assert await tx.directory.person_by_identity(slack) == amira
        await tx.directory.add_identity(ben.id, slack)
    async with store.transaction() as tx:
        found = await tx.directory.person_by_identity(slack)
        assert found is not None
        assert found.id == ben.id
        assert await tx.directory.identities(amira.id) == [teams, console]
        assert await tx.directory.identities(ben.id) == [slack]
        await tx.directory.add_identity(amira.id, console)  # linking again makes it the latest
        assert await tx.directory.identities(amira.id) == [console, teams]
        assert await tx.directory.person_by_identity(Identity("slack", "T2", "U1")) is None


async def test_an_identity_looked_up_as_the_latest_can_still_be_made_the_latest_again(
    store: SqlStore,
) -> None:
    slack = Identity("slack", "T1", "U1")
    teams = Identity("teams", "tenant", "29:abc")
    async with store.transaction() as tx:
        amira = await tx.directory.upsert_person(
            handle="amira", display_name="A", time_zone="UTC", roles=STAFF
        )
        await tx.directory.add_identity(amira.id, teams)
        await tx.directory.add_identity(amira.id, slack)
    async with store.transaction() as tx:
        assert await tx.directory.person_by_identity(slack) == amira  # the latest: linking it writes nothing
        await tx.directory.add_identity(amira.id, slack)
        assert await tx.directory.identities(amira.id) == [slack, teams]
        await tx.directory.add_identity(amira.id, teams)
        await tx.directory.add_identity(amira.id, slack)  # in the same unit of work, after teams took over
        assert await tx.directory.identities(amira.id) == [slack, teams]
        await tx.directory.touch_identity(teams)
        await tx.directory.add_identity(amira.id, slack)
        assert await tx.directory.identities(amira.id) == [slack, teams]


async def test_reachable_gives_active_peoples_identities_in_one_go(store: SqlStore) -> None:
    async with store.transaction() as tx:
        people = {
            handle: await tx.directory.upsert_person(
                handle=handle, display_name=handle, time_zone="UTC", roles=STAFF
            )
            for handle in ("amira", "ben", "chloe", "dev")
        }
        amira, ben, chloe, dev = (people[h].id for h in ("amira", "ben", "chloe", "dev"))
        await tx.directory.add_identity(amira, Identity("console", "local", "amira"))
        await tx.directory.add_identity(amira, Identity("slack", "T1", "U1"))
        await tx.directory.add_identity(ben, Identity("teams", "tenant", "29:ben"))
        await tx.directory.add_identity(dev, Identity("slack", "T1", "U4"))
        await tx.directory.set_active(dev, False)

    async with store.transaction() as tx:
        found = await tx.directory.reachable([amira, ben, chloe, dev, dev + 100])

    assert found == {
        amira: [Identity("slack", "T1", "U1"), Identity("console", "local", "amira")],  # latest first
        ben: [Identity("teams", "tenant", "29:ben")],
        chloe: [],  # in the directory, on no platform yet
    }  # dev is switched off, and there is nobody with the last id


async def test_reads_after_an_upsert_in_the_same_transaction_see_the_new_values(store: SqlStore) -> None:
    async with store.transaction() as tx:
        before = await tx.directory.upsert_person(
            handle="amira", display_name="A", time_zone="UTC", roles=STAFF
        )
        assert await tx.directory.get_person(before.id) == before
        after = await tx.directory.upsert_person(
            handle="amira", display_name="Amira", time_zone="Asia/Tokyo", roles={Role.ADMIN}
        )
        assert await tx.directory.get_person(before.id) == after
        assert await tx.directory.people() == [after]
        team = await tx.directory.upsert_team(name="Red", parent_id=None)
        assert await tx.directory.teams() == [team]
        parent = await tx.directory.upsert_team(name="Top", parent_id=None)
        await tx.directory.upsert_team(name="red", parent_id=parent.id)
        moved = await tx.directory.get_team(team.id)
        assert moved is not None
        assert moved.parent_id == parent.id


async def test_people_are_read_by_id_in_parts_beyond_what_one_query_takes(store: SqlStore) -> None:
    # "You said, we did" goes to everyone a pulse went to: 40,000 ids in one query would exceed the 32,767
    # parameters PostgreSQL's driver takes.
    async with store.transaction() as tx:
        ids = [
            (
                await tx.directory.upsert_person(
                    handle=f"p{n}", display_name=f"P {n}", time_zone="UTC", roles=STAFF
                )
            ).id
            for n in range(3)
        ]
        await tx.directory.set_quiet_hours(ids[1], "09:00-16:00")
        await tx.directory.set_away(ids[2], date(2027, 1, 4))
    async with store.transaction(read_only=True) as tx:
        found = await tx.directory.people_by_ids([*ids, *range(10_000, 50_000)])
    assert [p.id for p in found] == ids  # the ids that are nobody are left out
    assert [p.quiet_hours for p in found] == [None, "09:00-16:00", None]
    assert [p.away_until for p in found] == [None, None, date(2027, 1, 4)]
