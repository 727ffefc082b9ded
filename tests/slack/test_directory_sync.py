"""Directory sync from a Slack-like users.list and user groups, into the real database."""

from __future__ import annotations

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack_sync import sync_slack_directory
from dialogue.directory import Role
from dialogue.directory_import import import_directory
from dialogue.events import Identity
from storage import SqlStore
from tests.slack.fake_api import TEAM_ID, FakeSlack, make_member


async def test_people_and_groups_become_the_directory_and_known_people_keep_their_roles(
    store: SqlStore,
) -> None:
    async with store.transaction() as tx:
        ben = await tx.directory.upsert_person(
            handle="ben", display_name="Ben C", time_zone="UTC", roles={Role.STAFF, Role.MANAGER}
        )
        await tx.directory.add_identity(ben.id, Identity("slack", TEAM_ID, "U0BEN"))
    members = [
        make_member("U0BEN", "Ben Carter"),
        make_member("U0AMIRA", "Amira Hassan"),
        make_member("U0PRIYA", "Priya Nair", tz="Asia/Kolkata"),
        make_member("U0GONE", "Gone Person", deleted=True),
        make_member("U0BOT", "Some Bot", is_bot=True),
        make_member("U0AMIRA2", "Amira Khan"),
    ]
    groups = [{"id": "S1", "handle": "reablement", "name": "Reablement", "users": ["U0BEN", "U0AMIRA"]}]
    async with FakeSlack(members=members, usergroups=groups) as fake, aiohttp.ClientSession() as session:
        client = AsyncWebClient(token="xoxb-test", base_url=fake.url, session=session)
        first = await sync_slack_directory(client, store)
        again = await sync_slack_directory(client, store)
        assert fake.violations == []

    assert (first.added, first.updated, first.deactivated, first.teams) == (3, 1, 0, 1)
    assert (again.added, again.updated) == (0, 4)
    async with store.transaction() as tx:
        ben_now = await tx.directory.person_by_identity(Identity("slack", TEAM_ID, "U0BEN"))
        priya = await tx.directory.person_by_identity(Identity("slack", TEAM_ID, "U0PRIYA"))
        team = await tx.directory.team_by_name("Reablement")
        handles = sorted(p.handle for p in await tx.directory.people())
    assert ben_now is not None and ben_now.display_name == "Ben Carter" and Role.MANAGER in ben_now.roles
    assert priya is not None and priya.time_zone == "Asia/Kolkata" and priya.roles == {Role.STAFF}
    assert team is not None and ben_now.team_ids == (team.id,)
    assert handles == ["amira", "amira2", "ben", "priya"]


async def test_someone_from_the_directory_file_is_linked_by_their_full_name_when_only_one_has_it(
    store: SqlStore,
) -> None:
    rows = [
        {"handle": "amira", "name": "Amira Hassan", "roles": "manager", "team": "Reablement"},
        {"handle": "sam.r", "name": "Sam Reid", "roles": "staff", "team": "Housing"},
        {"handle": "sam.r2", "name": "Sam Reid", "roles": "staff", "team": "Repairs"},  # two of that name
    ]
    assert (await import_directory(store, rows)).errors == []
    members = [make_member("U0AMIRA", "Amira Hassan"), make_member("U0SAM", "Sam Reid")]
    async with FakeSlack(members=members) as fake, aiohttp.ClientSession() as session:
        client = AsyncWebClient(token="xoxb-test", base_url=fake.url, session=session)
        report = await sync_slack_directory(client, store)

    assert report.linked == ("Amira Hassan (U0AMIRA) -> amira",)
    assert (report.added, report.updated) == (1, 1)  # Sam Reid could be either: a person of their own
    async with store.transaction() as tx:
        amira = await tx.directory.person_by_identity(Identity("slack", TEAM_ID, "U0AMIRA"))
        handles = sorted(p.handle for p in await tx.directory.people())
    assert amira is not None and amira.handle == "amira" and Role.MANAGER in amira.roles and amira.team_ids
    assert handles == ["amira", "sam", "sam.r", "sam.r2"]  # no second Amira; a Sam of their own
