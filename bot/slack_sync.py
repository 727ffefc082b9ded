"""``nextpractice directory sync slack``: people from ``users.list``, teams from Slack user groups."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from dialogue.directory import Person, Role
from dialogue.events import Identity
from dialogue.ports import DirectoryRepo, Store

PAGE = 200  # users.list page size Slack recommends
ACCOUNTS_AT_ONCE = 5000  # people whose accounts are read in one query


@dataclass(frozen=True)
class SyncReport:
    """What a sync changed; ``linked``: "Name (account) -> handle" for each account given to someone the
    directory file had brought in (see :class:`FromTheFile`)."""

    added: int
    updated: int
    deactivated: int
    teams: int
    linked: tuple[str, ...] = ()


class FromTheFile:
    """People the directory file brought in with no account on ``platform`` yet, by full name.

    A platform member the bot does not know yet is one of them when exactly one has the member's full
    name: the account is linked to that person (their roles and teams kept) instead of a second person
    being made for them. Two with the same name are left alone, as before: a wrong link would send one
    person's messages to another.
    """

    def __init__(self, platform: str, unlinked: dict[str, list[Person]]) -> None:
        self.platform = platform
        self._unlinked = unlinked
        self.linked: list[str] = []

    @classmethod
    async def load(cls, directory: DirectoryRepo, platform: str) -> FromTheFile:
        """Everyone active with no account on ``platform``, read once (one query for their accounts)."""
        people = await directory.people()
        accounts: dict[int, list[Identity]] = {}
        for start in range(0, len(people), ACCOUNTS_AT_ONCE):  # bound parameters are limited (32,766)
            accounts.update(
                await directory.reachable([p.id for p in people[start : start + ACCOUNTS_AT_ONCE]])
            )
        unlinked: dict[str, list[Person]] = {}
        for person in people:
            if not any(identity.platform == platform for identity in accounts.get(person.id, [])):
                unlinked.setdefault(person.display_name.casefold(), []).append(person)
        return cls(platform, unlinked)

    async def link(self, directory: DirectoryRepo, identity: Identity, name: str) -> Person | None:
        """The one person of this name still without an account here, now linked to ``identity``."""
        found = self._unlinked.get(name.casefold(), [])
        if len(found) != 1:
            return None
        person = found.pop()
        await directory.add_identity(person.id, identity)
        self.linked.append(f"{name} ({identity.user_id}) -> {person.handle}")
        return person


async def sync_slack_directory(client: AsyncWebClient, store: Store) -> SyncReport:
    """Bring people and teams in line with the workspace.

    People already known keep their handle and roles (roles are set by the directory CSV);
    their name and time zone follow Slack. A member unknown here who is the only person of that name
    the directory file brought in without a Slack account is linked to them (:class:`FromTheFile`);
    other newcomers join as staff. Deactivated Slack
    accounts are switched off here too. Each user group becomes a team of the same name, and
    a person in any group gets exactly those teams; others keep theirs.
    """
    members: list[dict[str, Any]] = []
    async for page in await client.users_list(limit=PAGE):
        members += page.get("members") or []
    groups = (await client.usergroups_list(include_users=True)).get("usergroups") or []
    added = updated = deactivated = 0
    async with store.transaction() as tx:
        directory = tx.directory
        from_the_file = await FromTheFile.load(directory, "slack")
        team_of_group = {
            str(group["id"]): (await directory.upsert_team(name=str(group["name"]), parent_id=None)).id
            for group in groups
        }
        teams_of_user: dict[str, list[int]] = {}
        for group in groups:
            for user_id in group.get("users") or []:
                teams_of_user.setdefault(str(user_id), []).append(team_of_group[str(group["id"])])
        for member in members:
            if member.get("is_bot") or member.get("id") == "USLACKBOT":
                continue
            identity = Identity("slack", str(member.get("team_id") or ""), str(member["id"]))
            person = await directory.person_by_identity(identity)
            if member.get("deleted"):
                if person is not None and person.active:
                    await directory.set_active(person.id, False)
                    deactivated += 1
                continue
            profile = member.get("profile") or {}
            name = str(
                profile.get("real_name") or member.get("real_name") or member.get("name") or member["id"]
            )
            zone = str(member.get("tz") or "UTC")
            if person is None:
                person = await from_the_file.link(directory, identity, name)
            if person is None:
                handle = await free_handle(directory, str(member.get("name") or name))
                person = await directory.upsert_person(
                    handle=handle, display_name=name, time_zone=zone, roles={Role.STAFF}
                )
                await directory.add_identity(person.id, identity)
                added += 1
            else:
                await directory.upsert_person(
                    handle=person.handle, display_name=name, time_zone=zone, roles=person.roles
                )
                if not person.active:
                    await directory.set_active(person.id, True)
                updated += 1
            if str(member["id"]) in teams_of_user:
                await directory.set_teams(person.id, teams_of_user[str(member["id"])])
    return SyncReport(
        added=added,
        updated=updated,
        deactivated=deactivated,
        teams=len(team_of_group),
        linked=tuple(from_the_file.linked),
    )


async def free_handle(directory: DirectoryRepo, wanted: str) -> str:
    """A handle like Slack's username, made unique with a number if taken."""
    base = re.sub(r"[^a-z0-9._-]+", "", wanted.lower()) or "someone"
    handle, n = base, 1
    while await directory.person_by_handle(handle) is not None:
        n += 1
        handle = f"{base}{n}"
    return handle
