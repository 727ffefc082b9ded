"""``nextpractice directory sync teams``: people and teams from the rosters of the teams the app is in."""

from __future__ import annotations

from adapters.teams.bot import PLATFORM
from adapters.teams.roster import team_roster
from bot.slack_sync import FromTheFile, SyncReport, free_handle
from bot.teams import TeamsParts
from dialogue.directory import Role
from dialogue.events import Identity
from dialogue.ports import Store

TEAM_PREFIX = "team:"


async def sync_teams_directory(teams: TeamsParts, store: Store, *, app_id: str) -> SyncReport:
    """Bring people and teams in line with the rosters of every team the app is installed in.

    Each Teams team becomes a team of the same name; a person in any roster gets exactly the teams
    whose rosters name them. People already known keep their handle and roles (the directory CSV sets
    roles); a member who is the only person of that name the directory file brought in without a Teams
    account is linked to them (:class:`~bot.slack_sync.FromTheFile`); other newcomers join as staff.
    Nobody is switched off: leaving a team is not leaving the organisation.
    """
    async with store.transaction() as tx:
        installed = await tx.contacts.contacts(PLATFORM, prefix=TEAM_PREFIX)
    rosters = []
    for contact in installed:
        _, tenant, team_id = contact.key.split(":", 2)
        team = contact.data.get("team") or {}
        members = await team_roster(
            teams.adapter, app_id=app_id, reference=contact.data["reference"], team_id=team_id
        )
        rosters.append((tenant, str(team.get("name") or team_id), members))
    added = updated = 0
    async with store.transaction() as tx:
        directory = tx.directory
        from_the_file = await FromTheFile.load(directory, PLATFORM)
        teams_of: dict[int, list[int]] = {}
        for tenant, name, members in rosters:
            team_id_here = (await directory.upsert_team(name=name, parent_id=None)).id
            for member in members:
                identity = Identity(PLATFORM, tenant, member.user_id)
                person = await directory.person_by_identity(identity)
                if person is None:
                    person = await from_the_file.link(directory, identity, member.name)
                if person is None:
                    handle = await free_handle(directory, member.email.partition("@")[0] or member.name)
                    person = await directory.upsert_person(
                        handle=handle, display_name=member.name, time_zone="UTC", roles={Role.STAFF}
                    )
                    await directory.add_identity(person.id, identity)
                    added += 1
                elif person.id not in teams_of:
                    await directory.upsert_person(
                        handle=person.handle,
                        display_name=member.name,
                        time_zone=person.time_zone,
                        roles=person.roles,
                    )
                    updated += 1
                teams_of.setdefault(person.id, []).append(team_id_here)
        for person_id, team_ids in teams_of.items():
            await directory.set_teams(person_id, sorted(set(team_ids)))
    return SyncReport(
        added=added, updated=updated, deactivated=0, teams=len(rosters), linked=tuple(from_the_file.linked)
    )
