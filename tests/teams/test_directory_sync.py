"""``nextpractice directory sync teams``: the app added to two teams in Teams, then the command (a real
subprocess) reads both rosters through the local connector into people and teams."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.teams.activities import make_member, make_team
from tests.teams.harness import TeamsBot, people_csv, teams_bot

ROOT = Path(__file__).resolve().parents[2]
AMIRA = make_member("Amira Hassan")
BEN = make_member("Ben Carter")
CHLOE = make_member("Chloe Martin", email="c.martin@riverside.gov.uk")
REABLEMENT = make_team("Reablement", ["Ideas"])
HOUSING = make_team("Housing Repairs")


async def sync(bot: TeamsBot, database_url: str, data_dir: Path) -> tuple[int, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "NEXTPRACTICE_DATA_DIR": str(data_dir),
        "TEAMS_UNAUTHENTICATED": "1",
        "TEAMS_SERVICE_URL": bot.fake.url,
        "NEXTPRACTICE_SECRET_KEY": "teams-tests-secret-0000000",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "directory", "sync", "teams",
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    output, log = await asyncio.wait_for(process.communicate(), timeout=60)
    assert b"Traceback" not in log, log.decode()
    return process.returncode or 0, output.decode()


async def test_rosters_of_the_teams_the_app_is_in_become_people_and_teams(
    database_url: str, tmp_path: Path
) -> None:
    # Ben is already in the directory as a manager, under the handle the CSV gave him.
    # Chloe is in the directory file too, with no Teams account in it: the sync finds her by name.
    people = (
        people_csv([("bcarter", "Ben Carter", "manager", "Reablement", BEN)])
        + "chloe,Chloe Martin,staff,Repairs,,\n"
    )
    async with teams_bot(database_url, tmp_path, people=people) as bot:
        bot.fake.add_team(REABLEMENT, [AMIRA, BEN])
        bot.fake.add_team(HOUSING, [BEN, CHLOE])
        nothing_yet = await sync(bot, database_url, tmp_path)

        assert (await bot.post(bot.teams.installation_update("add", by=BEN, team=REABLEMENT)))[0] == 201
        assert (await bot.post(bot.teams.bot_added(by=BEN, team=HOUSING)))[0] == 201
        first = await sync(bot, database_url, tmp_path)
        again = await sync(bot, database_url, tmp_path)
        handles = await bot.people_by_handle()

        # Removed from a team: that roster is no longer read.
        await bot.post(bot.teams.installation_update("remove", by=BEN, team=HOUSING))
        after_removal = await sync(bot, database_url, tmp_path)

    # The installer who added the app before serve ran is told why the sync finds nothing.
    assert nothing_yet[0] == 0 and nothing_yet[1].startswith(
        "No Teams team has the app yet: add it to a team (Apps > NextPractice > Add to a team) while "
        "nextpractice serve is running. A team it was added to while the bot was down is not known"
    )
    assert first == (
        0,
        "From Teams: 1 person added, 2 updated; 2 teams read.\n"
        "Linked by full name to people from the directory file (1; check them):\n"
        f"  Chloe Martin ({CHLOE['aadObjectId']}) -> chloe\n",
    )
    assert again == (0, "From Teams: 0 people added, 3 updated; 2 teams read.\n")
    assert after_removal == (0, "From Teams: 0 people added, 2 updated; 1 team read.\n")
    assert handles == {
        "amira.hassan": ("Amira Hassan", ["staff"], ["Reablement"]),
        # Ben keeps the handle and role the CSV gave him.
        "bcarter": ("Ben Carter", ["manager", "staff"], ["Housing Repairs", "Reablement"]),
        "chloe": ("Chloe Martin", ["staff"], ["Housing Repairs"]),  # the file's Chloe, linked
    }
    assert bot.fake.violations == []
