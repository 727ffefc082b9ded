"""``nextpractice directory import``'s core: people, roles, teams and their parents from CSV rows, written
to a real database, and imported again as an organisation updates its spreadsheet."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

from dialogue.directory import Role
from dialogue.directory_import import import_directory
from dialogue.events import Identity
from dialogue.ideas import IdeaStatus
from dialogue.qa import QuestionStatus
from storage.store import SqlStore

HEADER = "handle,name,roles,team,parent_team,slack_user_id,slack_team_id\n"


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(HEADER + text)))


async def parents(store: SqlStore) -> dict[str, str | None]:
    """Each team's parent, by name."""
    async with store.transaction(read_only=True) as tx:
        teams = await tx.directory.teams()
    names = {team.id: team.name for team in teams}
    return {team.name: names.get(team.parent_id) if team.parent_id else None for team in teams}


async def test_a_three_level_organisation_keeps_every_parent(store: SqlStore) -> None:
    organisation = rows(
        "amira,Amira Haddad,staff,Reablement,Adult Social Care,,\n"
        "ben,Ben Okafor,manager,Adult Social Care,Council,,\n"
        "dev,Dev Patel,staff,Adult Social Care,Council,,\n"
        "cara,Cara Lewis,staff,Reablement,Adult Social Care,,\n"  # names it as a parent again, last
    )

    report = await import_directory(store, organisation)

    assert (report.people, report.teams, report.errors) == (4, 3, [])
    expected = {"Reablement": "Adult Social Care", "Adult Social Care": "Council", "Council": None}
    assert await parents(store) == expected
    await import_directory(store, organisation)  # the same spreadsheet again changes nothing
    assert await parents(store) == expected


async def test_a_file_gives_a_team_one_parent_and_a_later_file_may_move_it(store: SqlStore) -> None:
    report = await import_directory(
        store,
        rows(
            "amira,Amira Haddad,staff,Referrals,Adults,,\n"
            "ben,Ben Okafor,staff,Referrals,,,\n"  # no parent given: Referrals stays under Adults
            "cara,Cara Lewis,staff,Referrals,Children,,\n"  # a second parent: a slip, or a move half-typed
            "dev,Dev Patel,staff,Referrals,adults,,\n"  # the first parent again, in another case
        ),
    )
    assert report.errors == [
        "line 4: cara: team 'Referrals' is under 'Children' here but under 'Adults' on lines 2 and 5; a team "
        "has one parent"
    ]
    assert report.people == 3
    assert (await parents(store))["Referrals"] == "Adults"

    await import_directory(store, rows("amira,Amira Haddad,staff,Referrals,Children,,\n"))
    assert (await parents(store))["Referrals"] == "Children"


async def test_a_new_import_updates_roles_teams_and_accounts(store: SqlStore) -> None:
    await import_directory(store, rows('amira,Amira Haddad,"manager,staff",Referrals,Adults,U1,T1\n'))
    report = await import_directory(
        store, rows("amira,Amira H.,staff,Reablement,Adults,U1,T1\n"), allow_renames=True
    )

    assert report.errors == []
    async with store.transaction(read_only=True) as tx:
        amira = await tx.directory.person_by_handle("amira")
        assert amira is not None
        reablement = await tx.directory.team_by_name("Reablement")
        assert reablement is not None
        assert (amira.display_name, amira.roles, amira.team_ids) == (
            "Amira H.",
            {Role.STAFF},
            (reablement.id,),
        )
        assert await tx.directory.person_by_identity(Identity("slack", "T1", "U1")) == amira


async def test_a_handle_twice_in_one_file_keeps_the_first_row_and_says_which_lines(store: SqlStore) -> None:
    report = await import_directory(
        store,
        rows(
            "bob,Bob Stone,staff,Repairs,,,\n"
            "amira,Amira Haddad,staff,Reablement,,,\n"
            "@Bob,Bob Smith,manager,Housing,,,\n"  # the same handle once lower-cased, without the @
        ),
    )

    assert report.people == 2
    assert report.errors == ["line 4: bob is already on line 2"]
    async with store.transaction(read_only=True) as tx:
        bob = await tx.directory.person_by_handle("bob")
    assert bob is not None and (bob.display_name, bob.roles) == ("Bob Stone", {Role.STAFF})


async def test_progress_is_told_every_row_read(store: SqlStore) -> None:
    read: list[int] = []
    report = await import_directory(
        store,
        rows("amira,Amira Haddad,staff,,,,\nBAD HANDLE,Nobody,staff,,,,\nben,Ben Okafor,staff,,,,\n"),
        read.append,
    )
    assert read == [0, 1, 2]  # rows read before each row, the refused one too
    assert report.people == 2 and len(report.errors) == 1


async def test_a_file_of_handles_and_names_keeps_what_is_known_of_each_person(store: SqlStore) -> None:
    full = "handle,name,time_zone,roles,team\nsarah,Sarah Jones,Europe/London,senior_leader,Executive\n"
    await import_directory(store, list(csv.DictReader(io.StringIO(full))))

    renamed = "handle,name,time_zone,roles,team\nsarah,Sarah Jones-Smith,,,\nnew,New Starter,,,\n"
    report = await import_directory(store, list(csv.DictReader(io.StringIO(renamed))), allow_renames=True)
    await import_directory(store, list(csv.DictReader(io.StringIO("handle,name\nsarah,Sarah Jones-Smith\n"))))

    assert report.errors == []
    async with store.transaction(read_only=True) as tx:
        sarah = await tx.directory.person_by_handle("sarah")
        new = await tx.directory.person_by_handle("new")
        executive = await tx.directory.team_by_name("Executive")
    assert sarah is not None and new is not None and executive is not None
    assert sarah.display_name == "Sarah Jones-Smith"
    assert (sarah.time_zone, sarah.roles, sarah.team_ids) == (
        "Europe/London",
        frozenset({Role.SENIOR_LEADER, Role.STAFF}),
        (executive.id,),
    )
    assert (new.time_zone, new.roles, new.team_ids) == ("UTC", frozenset({Role.STAFF}), ())


async def test_a_team_under_itself_and_an_account_on_two_rows_or_without_its_workspace_are_mistakes(
    store: SqlStore,
) -> None:
    report = await import_directory(
        store,
        rows(
            "kim,Kim Lee,staff,Repairs,Repairs,,\n"
            "ola,Ola Nowak,staff,Housing,Repairs,,\n"
            "jon,Jon Snow,staff,Repairs,Housing,,\n"  # Housing is under Repairs already
            "ned,Ned Stark,staff,Housing,,U123,T1\n"
            "ari,Ari Gold,staff,Housing,,U123,T1\n"  # Ned's account: it would silently move to Ari
            "bea,Bea Smith,staff,Housing,,U456,\n"  # no workspace: no Slack user could ever match
        ),
    )

    assert report.errors == [
        "line 2: kim: team 'Repairs' cannot be its own parent team",
        "line 4: jon: team 'Repairs' cannot go under 'Housing', which is inside it",
        "line 6: ari's slack account U123 is already on line 5",
        "line 7: bea has a slack_user_id but no slack_team_id (the workspace id that goes with it)",
    ]
    assert report.people == 2
    async with store.transaction(read_only=True) as tx:
        ned = await tx.directory.person_by_identity(Identity("slack", "T1", "U123"))
    assert ned is not None and ned.handle == "ned"


async def test_an_account_someone_else_holds_is_refused_unless_the_file_takes_it_off_their_row(
    store: SqlStore,
) -> None:
    await import_directory(store, rows("uma,Uma Shah,staff,,,U123,T1\nvictor,Victor Hale,staff,,,,\n"))

    # A later week's file: Uma's Slack id pasted on Victor's row; Uma is not in it, or comes after him.
    report = await import_directory(store, rows("victor,Victor Hale,staff,,,U123,T1\n"))
    assert report.errors == [
        "line 2: victor's slack account U123 belongs to uma; remove it from uma's row first if it is now "
        "victor's"
    ]
    report = await import_directory(
        store, rows("alex,Alex Kerr,staff,,,U123,T1\numa,Uma Shah,staff,,,U123,T1\n")
    )
    assert report.errors == [
        "line 2: alex's slack account U123 belongs to uma; remove it from uma's row first if it is now alex's"
    ]
    async with store.transaction(read_only=True) as tx:
        holder = await tx.directory.person_by_identity(Identity("slack", "T1", "U123"))
    assert holder is not None and holder.handle == "uma"

    # It was Victor's all along: a file giving Uma's row without it moves it.
    report = await import_directory(
        store, rows("uma,Uma Shah,staff,,,,\nvictor,Victor Hale,staff,,,U123,T1\n")
    )
    assert report.errors == [] and report.accounts_linked == ["victor"]
    async with store.transaction(read_only=True) as tx:
        holder = await tx.directory.person_by_identity(Identity("slack", "T1", "U123"))
    assert holder is not None and holder.handle == "victor"


async def test_a_complete_file_switches_off_leavers_and_back_on_whoever_returns(store: SqlStore) -> None:
    await import_directory(store, rows("amira,Amira Haddad,staff,,,,\nben,Ben Okafor,manager,,,,\n"))

    report = await import_directory(store, rows("amira,Amira Haddad,staff,,,,\n"), complete=True)
    async with store.transaction(read_only=True) as tx:
        assert [p.handle for p in await tx.directory.people()] == ["amira"]
    assert report.switched_off == ["ben"]

    # Ben is back; Amira's row has a mistake, but a row that names her does not make her a leaver.
    report = await import_directory(
        store, rows("amira,Amira Haddad,boss,,,,\nben,Ben Okafor,manager,,,,\n"), complete=True
    )
    assert report.switched_off == [] and len(report.errors) == 1
    async with store.transaction(read_only=True) as tx:
        assert [p.handle for p in await tx.directory.people()] == ["amira", "ben"]


async def test_a_complete_file_with_a_refused_row_switches_nobody_off_and_imports_the_rest(
    store: SqlStore,
) -> None:
    await import_directory(
        store, rows("amira,Amira Haddad,staff,,,,\nben,Ben Okafor,staff,,,,\ncara,Cara Lewis,staff,,,,\n")
    )

    # Cara's handle typed as her email: her row is refused, and she was switched off as a leaver.
    report = await import_directory(
        store,
        rows("amira,Amira Haddad,manager,,,,\ncara@council.gov.uk,Cara Lewis,staff,,,,\n"),
        complete=True,
    )

    assert len(report.errors) == 1 and report.switched_off == []
    assert report.held_back == (
        "1 row could not be imported, so nobody was switched off: fix them and import again"
    )
    assert report.left_out == ["ben", "cara"]
    assert report.roles_changed == ["amira (staff -> manager, staff)"]
    async with store.transaction(read_only=True) as tx:
        assert [p.handle for p in await tx.directory.people()] == ["amira", "ben", "cara"]

    report = await import_directory(
        store, rows("amira,Amira Haddad,manager,,,,\ncara,Cara Lewis,staff,,,,\n"), complete=True
    )
    assert (report.held_back, report.switched_off) == (None, ["ben"])


async def test_a_team_moved_away_and_back_cannot_close_a_loop(store: SqlStore) -> None:
    await import_directory(store, rows("a,A,staff,Housing,Repairs,,\n"))
    report = await import_directory(
        store,
        rows(
            "b,B,staff,Housing,Council,,\n"  # Housing moves under Council
            "c,C,staff,Repairs,Housing,,\n"  # so Repairs may go under Housing
        ),
    )
    assert report.errors == []
    report = await import_directory(store, rows("d,D,staff,Housing,Repairs,,\n"))  # that would close a loop

    assert report.errors == ["line 2: d: team 'Housing' cannot go under 'Repairs', which is inside it"]
    assert (await parents(store))["Repairs"] == "Housing"


TEAMS = "handle,name,roles,team,teams_user_id,teams_tenant\n"
TENANT = "9b1c2d3e-aaaa-4bbb-8ccc-1234567890ab"


async def test_teams_accounts_must_be_entra_ids_and_match_in_any_case(store: SqlStore) -> None:
    # Teams sends ids in lower case; an export in upper case, an email or a tenant domain matched nobody,
    # and the chief executive came in as someone new, a member of staff, the first time she wrote.
    people = (
        f"cno,Chief Nurse,senior_leader,Board,AAAAAAAA-0000-4000-8000-000000000002,{TENANT.upper()}\n"
        f"alex,Alex Kerr,staff,Ward 4,alex.kerr@trust.nhs.uk,{TENANT}\n"
        "sam,Sam Ode,staff,Ward 4,bbbbbbbb-0000-4000-8000-000000000003,contoso.onmicrosoft.com\n"
    )

    report = await import_directory(store, list(csv.DictReader(io.StringIO(TEAMS + people))))

    assert report.people == 1
    assert [error.split(" (")[0] for error in report.errors] == [
        "line 3: alex's teams_user_id 'alex.kerr@trust.nhs.uk' is not a Microsoft Entra Object Id",
        "line 4: sam's teams_tenant 'contoso.onmicrosoft.com' is not a Microsoft Entra tenant id",
    ]
    assert "directory sync teams" in report.errors[0]
    async with store.transaction(read_only=True) as tx:
        found = await tx.directory.person_by_identity(
            Identity("teams", TENANT, "aaaaaaaa-0000-4000-8000-000000000002")
        )
    assert found is not None and found.handle == "cno"


async def test_a_leavers_handle_given_to_a_new_starter_is_refused_not_their_history(store: SqlStore) -> None:
    await import_directory(store, rows("sam,Sam Rivera,staff,,,,\namira,Amira Haddad,staff,,,,\n"))
    async with store.transaction() as tx:
        sam = await tx.directory.person_by_handle("sam")
        assert sam is not None
        await tx.directory.set_away(sam.id, date(2030, 1, 1))
        await tx.directory.set_quiet_hours(sam.id, "18:00-08:00")
    await import_directory(store, rows("amira,Amira Haddad,staff,,,,\n"), complete=True)  # Sam left

    report = await import_directory(
        store, rows("amira,Amira Haddad,staff,,,,\nsam,Sam O'Neill,staff,,,,\n"), complete=True
    )

    assert report.errors == [
        "line 3: sam is Sam Rivera in the directory but Sam O'Neill here. If this is the same person under a "
        "new name, import again with --allow-renames; if it is someone new, give them a handle of their own "
        "(such as sam.oneill): the old one carries Sam Rivera's questions, ideas and settings"
    ]
    async with store.transaction(read_only=True) as tx:
        old = await tx.directory.person_by_handle("sam")
        assert [p.handle for p in await tx.directory.people()] == ["amira"]
    assert old is not None and (old.display_name, old.active) == ("Sam Rivera", False)

    # Sam Rivera back (the name written another way is still his), then renamed as allowed.
    report = await import_directory(
        store, rows("amira,Amira Haddad,staff,,,,\nsam, sam  RIVERA ,staff,,,,\n"), complete=True
    )
    assert report.errors == [] and report.switched_on == ["sam"]
    report = await import_directory(store, rows("sam,Sam Rivera-Jones,staff,,,,\n"), allow_renames=True)
    assert report.errors == [] and report.renamed == ["sam (sam  RIVERA -> Sam Rivera-Jones)"]
    async with store.transaction(read_only=True) as tx:
        back = await tx.directory.person_by_handle("sam")
    assert back is not None and (back.display_name, back.active, back.away_until, back.quiet_hours) == (
        "Sam Rivera-Jones",
        True,
        date(2030, 1, 1),
        "18:00-08:00",
    )


async def test_a_leavers_handle_given_to_a_new_starter_in_the_same_file_is_refused_unless_renames_are_allowed(
    store: SqlStore,
) -> None:
    # Olu Bakare leaves and Olivia Brown starts in the same week: the file that leaves Olu out gives Olivia
    # the handle olu, while Olu is still active, and Olivia got Olu's anonymous questions and ideas.
    await import_directory(store, rows("olu,Olu Bakare,staff,,,U1,T1\namira,Amira Haddad,staff,,,,\n"))

    report = await import_directory(
        store, rows("amira,Amira Haddad,staff,,,,\nolu,Olivia Brown,staff,,,,\n"), complete=True
    )

    assert report.errors == [
        "line 3: olu is Olu Bakare in the directory but Olivia Brown here. If this is the same person under "
        "a new name, import again with --allow-renames; if it is someone new, give them a handle of their "
        "own (such as olu.brown): the old one carries Olu Bakare's questions, ideas and settings"
    ]
    assert (report.renamed, report.switched_off) == ([], [])
    async with store.transaction(read_only=True) as tx:
        olu = await tx.directory.person_by_handle("olu")
    assert olu is not None and (olu.display_name, olu.active) == ("Olu Bakare", True)

    # The same name written another way is no rename; a marriage name is, once allowed.
    report = await import_directory(store, rows("olu, olu  BAKARE ,staff,,,,\n"))
    assert report.errors == []
    report = await import_directory(store, rows("olu,Olu Adeyemi,staff,,,,\n"), allow_renames=True)
    assert report.errors == [] and report.renamed == ["olu (olu  BAKARE -> Olu Adeyemi)"]


async def test_one_rows_slip_in_a_parent_team_does_not_move_the_team_and_the_new_team_shows(
    store: SqlStore,
) -> None:
    # Reablement under "Adult Social Car" on one row moved the whole team out of Adult Social Care.
    organisation = "".join(f"p{n},Person {n},staff,Reablement,Adult Social Care,,\n" for n in range(6))
    report = await import_directory(
        store,
        rows(
            organisation + "kim,Kim Lee,staff,Reablement,Adult Social Car,,\nben,Ben Okafor,staff,Cafe,,,\n"
        ),
    )

    assert report.errors == [
        "line 8: kim: team 'Reablement' is under 'Adult Social Car' here but under 'Adult Social Care' on "
        "lines 2-7; a team has one parent"
    ]
    assert (await parents(store))["Reablement"] == "Adult Social Care"
    assert report.new_teams == ["Adult Social Care", "Reablement", "Cafe"]
    report = await import_directory(store, rows(organisation))
    assert report.new_teams == []


async def test_a_slip_in_a_teams_first_row_does_not_move_it_the_parent_most_rows_or_the_directory_give_wins(
    store: SqlStore,
) -> None:
    # Rows are sorted by handle: aaron's slip came first, moved Reablement and refused its six right rows.
    right = "".join(f"p{n},Person {n},staff,Reablement,Adult Social Care,,\n" for n in range(6))
    report = await import_directory(
        store, rows("aaron,Aaron Lee,staff,Reablement,Adult Socal Care,,\n" + right + "q,Q,staff,Cafe,,,\n")
    )

    assert report.errors == [
        "line 2: aaron: team 'Reablement' is under 'Adult Socal Care' here but under 'Adult Social Care' on "
        "lines 3-8; a team has one parent"
    ]
    assert report.people == 7 and "Adult Socal Care" not in report.new_teams
    assert (await parents(store))["Reablement"] == "Adult Social Care"

    # A file giving the parent the team already has keeps it, though more of its rows give another.
    report = await import_directory(
        store,
        rows(
            "a,A,staff,Reablement,Community Care,,\n"
            "b,B,staff,Reablement,adult social care,,\n"
            "c,C,staff,Reablement,Community Care,,\n"
        ),
    )

    assert [error.split(": ", 1)[0] for error in report.errors] == ["line 2", "line 4"]
    assert report.errors[0] == (
        "line 2: a: team 'Reablement' is under 'Community Care' here but under 'adult social care' on line 3 "
        "and in the directory; a team has one parent"
    )
    assert (await parents(store))["Reablement"] == "Adult Social Care"


async def test_a_team_written_in_another_case_is_the_same_team_and_no_slip(store: SqlStore) -> None:
    await import_directory(store, rows("amira,Amira Haddad,staff,Reablement,Adult Social Care,,\n"))

    report = await import_directory(
        store,
        rows(
            "ben,Ben Okafor,staff,reablement,ADULT SOCIAL CARE,,\n"
            "cara,Cara Lewis,staff,Intake,Adult Social-Care,,\n"
        ),
    )

    assert [note for note in report.notes if "looks like" in note] == [
        "line 3: team 'Adult Social-Care' looks like 'Adult Social Care' (already in the directory) written "
        "another way; they are two teams unless written the same"
    ]
    assert report.errors == [] and report.new_teams == ["Adult Social-Care", "Intake"]


async def test_the_report_says_what_changed_and_nothing_when_nothing_did(store: SqlStore) -> None:
    before = (
        "amira,Amira Haddad,staff,Referrals,Adults,,\n"
        "ben,Ben Okafor,manager,Referrals,Adults,U1,T1\n"
        "cara,Cara Lewis,staff,Housing,,,\n"
        "dev,Dev Patel,staff,Housing,,,\n"
    )
    await import_directory(store, rows(before))
    assert not (await import_directory(store, rows(before))).changed

    report = await import_directory(
        store,
        rows(
            "amira,Amira Okafor,staff,Referrals,Children,,\n"  # married; her team moves under Children
            "ben,Ben Okafor,senior_leader,Housing,,U2,T1\n"  # promoted, moved, a new Slack account
            "cara,Cara Lewis,staff,Housing,,,\n"
            "eve,Eve Adams,staff,Housing,,,\n"
        ),
        allow_renames=True,
    )

    assert report.changed
    assert report.added == ["eve"]
    assert report.renamed == ["amira (Amira Haddad -> Amira Okafor)"]
    assert report.moved == ["ben (Referrals -> Housing)"]
    assert report.roles_changed == ["ben (manager, staff -> senior_leader, staff)"]
    assert report.accounts_linked == ["ben"]
    assert report.new_teams == ["Children"]
    assert report.regrouped == ["Referrals (Adults -> Children)"]
    assert report.left_out == ["dev"]  # not complete: said, not switched off
    assert (report.switched_on, report.switched_off) == ([], [])
    assert report.small_teams == [
        "Referrals has 1 person: under 5, its pulse results are withheld (shown within 'Other teams')",
        "Housing has 4 people: under 5, its pulse results are withheld (shown within 'Other teams')",
    ]


async def test_teams_the_import_makes_small_or_makes_come_first_among_the_small_teams(
    store: SqlStore,
) -> None:
    before = "".join(f"a{n},A {n},staff,Alpha,,,\n" for n in range(6)) + "b0,B 0,staff,Beta,,,\n"
    await import_directory(store, rows(before))

    after = "".join(f"a{n},A {n},staff,{'Gamma' if n < 2 else 'Alpha'},,,\n" for n in range(6))

    report = await import_directory(store, rows(after + "b0,B 0,staff,Beta,,,\n"))

    assert report.small_teams == [
        "Gamma, a new team, has 2 people: under 5, its pulse results are withheld (shown within "
        "'Other teams')",
        "Alpha has 4 people, 6 before this import: under 5, its pulse results are withheld (shown within "
        "'Other teams')",
        "Beta has 1 person: under 5, its pulse results are withheld (shown within 'Other teams')",
    ]


async def test_a_leaver_switched_off_is_said_to_leave_open_ideas_and_questions_put_to_them(
    store: SqlStore,
) -> None:
    await import_directory(store, rows("gary,Gary Holt,manager,,,,\namira,Amira Haddad,staff,,,,\n"))
    at = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    async with store.transaction() as tx:
        gary, amira = (
            await tx.directory.person_by_handle("gary"),
            await tx.directory.person_by_handle("amira"),
        )
        assert gary is not None and amira is not None
        ideas = [
            await tx.ideas.add_idea(
                text=f"Idea {n}", at=at, author_id=amira.id, route=None, team_id=None, campaign_id=None
            )
            for n in range(3)
        ]
        for idea in ideas[:2]:
            await tx.ideas.set_owner(idea.id, gary.id)
        await tx.ideas.set_status(ideas[1].id, IdeaStatus.NEW, IdeaStatus.DECLINED)  # settled: not left open
        question = await tx.questions.add_question(
            text="When?",
            at=at,
            asker_id=amira.id,
            route=None,
            addressed_to_id=gary.id,
            status=QuestionStatus.OPEN,
        )
        await tx.questions.add_question(
            text="Why?",
            at=at,
            asker_id=amira.id,
            route=None,
            addressed_to_id=gary.id,
            status=QuestionStatus.ANSWERED,
        )

    report = await import_directory(store, rows("amira,Amira Haddad,staff,,,,\n"), complete=True)

    assert report.switched_off == ["gary"]
    assert report.open_work == [
        f"gary leaves 1 open idea they own (#{ideas[0].id}) and 1 unanswered question put to them "
        f"(#{question.id}): `owner {ideas[0].id} @someone` passes it on; any senior leader may answer it"
    ]


async def everything(store: SqlStore) -> tuple[object, ...]:
    """What the directory holds: every person (switched off too) with their accounts, and every team."""
    async with store.transaction(read_only=True) as tx:
        people = await tx.directory.people_by_ids(range(1, 100))
        accounts = [await tx.directory.identities(person.id) for person in people]
        return people, accounts, await tx.directory.teams()


async def test_a_dry_run_reports_the_same_and_writes_nothing(store: SqlStore) -> None:
    await import_directory(
        store, rows("amira,Amira Haddad,staff,Referrals,Adults,,\nben,Ben Okafor,manager,,,,\n")
    )
    held = await everything(store)
    changed = rows(
        "amira,Amira Okafor,manager,Reablement,Children,U1,T1\n"  # renamed, promoted, moved, an account
        "kim,Kim Lee,staff,Reablement,Children,U2,T1\n"  # someone new, with an account
    )

    report = await import_directory(store, changed, complete=True, dry_run=True, allow_renames=True)

    assert await everything(store) == held
    assert report.added == ["kim"] and report.switched_off == ["ben"]
    assert report.renamed == ["amira (Amira Haddad -> Amira Okafor)"]
    assert report.new_teams == ["Children", "Reablement"]
    # The same file for real reports the same.
    assert await import_directory(store, changed, complete=True, allow_renames=True) == report
    assert await everything(store) != held


async def test_a_complete_file_leaving_out_many_changes_nothing_unless_allowed(store: SqlStore) -> None:
    everyone = "".join(f"p{n},Person {n},staff,Team {n % 3},,,\n" for n in range(41))
    await import_directory(store, rows(everyone))
    held = await everything(store)
    filtered = rows(
        "p0,Person Zero,staff,Team 0,,,\n"
        + "".join(f"p{n},Person {n},staff,Team {n % 3},,,\n" for n in range(1, 5))
    )

    report = await import_directory(store, filtered, complete=True)

    assert report.refused == (
        "--complete would switch off 36 of the 41 active people (88%), as this file leaves them out (p5, p6, "
        "p7, p8, p9, p10, p11, p12, p13, p14 and 26 more), so nothing was changed: more than 5 people and "
        "10% of the active people at once is too many to take without asking. Is it the whole "
        "organisation's export, not a filtered one? If they have all left, run it again with "
        "--allow-many-leavers"
    )
    assert await everything(store) == held  # not even Person Zero's new name

    # Five leavers, or a tenth of everyone, is a week's leavers: taken without asking.
    report = await import_directory(store, rows(everyone.split("p36,")[0]), complete=True)
    assert report.refused is None and report.switched_off == ["p36", "p37", "p38", "p39", "p40"]
    report = await import_directory(
        store, filtered, complete=True, allow_many_leavers=True, allow_renames=True
    )
    assert report.refused is None and len(report.switched_off) == 31
    async with store.transaction(read_only=True) as tx:
        left = await tx.directory.people()
    assert [(p.handle, p.display_name) for p in left][:2] == [("p0", "Person Zero"), ("p1", "Person 1")]
    assert len(left) == 5


async def test_more_than_a_tenth_of_everyone_leaving_at_once_is_too_many_without_asking(
    store: SqlStore,
) -> None:
    # A file missing 1,045 of 5,575 people (19%) was taken: under a quarter.
    everyone = [f"p{n:02},Person {n},staff,Team {n % 6},,,\n" for n in range(60)]
    await import_directory(store, rows("".join(everyone)))

    report = await import_directory(store, rows("".join(everyone[:53])), complete=True, dry_run=True)
    assert report.refused is not None and report.refused.startswith(
        "--complete would switch off 7 of the 60 active people (12%)"
    )
    report = await import_directory(store, rows("".join(everyone[:54])), complete=True)
    assert report.refused is None and len(report.switched_off) == 6  # exactly a tenth
