"""The ``nextpractice`` command around the console: exit codes, messages, demo data, a scripted chat."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from bot.cli import CONSOLE_ZONE, CliError, ImportProgress, _csv_rows, main, next_monday_morning

DEMO = Path(__file__).resolve().parents[2] / "bot" / "demo"


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own data directory and SQLite database."""
    monkeypatch.setenv("NEXTPRACTICE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return tmp_path / "data"


def test_a_data_folder_that_is_a_file_is_named_without_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # With the key set (as in production) nothing else writes to the folder before the database does.
    (tmp_path / "afile").write_text("not a folder")
    monkeypatch.setenv("NEXTPRACTICE_DATA_DIR", str(tmp_path / "afile" / "data"))
    monkeypatch.setenv("NEXTPRACTICE_SECRET_KEY", "k" * 32)

    assert main(["pulse", "list"]) == 2

    said = capsys.readouterr().err
    assert said.startswith("nextpractice: cannot open the database sqlite+aiosqlite:///")
    assert f"NEXTPRACTICE_DATA_DIR ({tmp_path / 'afile' / 'data'}) must be a folder the bot may write" in said


@pytest.mark.parametrize(
    ("now", "start"),
    [
        (datetime(2026, 11, 25, 15, 0, tzinfo=UTC), datetime(2026, 11, 30, 8, 0, tzinfo=UTC)),  # Wednesday
        (datetime(2026, 11, 30, 7, 0, tzinfo=UTC), datetime(2026, 11, 30, 8, 0, tzinfo=UTC)),  # Monday early
        (datetime(2026, 11, 30, 8, 0, tzinfo=UTC), datetime(2026, 11, 30, 8, 0, tzinfo=UTC)),
        (datetime(2026, 11, 30, 9, 0, tzinfo=UTC), datetime(2026, 12, 7, 8, 0, tzinfo=UTC)),
        (datetime(2026, 7, 1, 12, 0, tzinfo=UTC), datetime(2026, 7, 6, 7, 0, tzinfo=UTC)),  # 08:00 BST
    ],
)
def test_the_demo_starts_on_a_monday_at_eight_in_england(now: datetime, start: datetime) -> None:
    assert next_monday_morning(now) == start


def test_csv_columns_are_matched_loosely_and_trailing_blank_rows_dropped() -> None:
    rows = _csv_rows(" Handle ,NAME,Team\namira, Amira Hassan ,Reablement\n,,\n", Path("people.csv"))

    assert rows == [{"handle": "amira", "name": "Amira Hassan", "team": "Reablement"}]


def test_csv_headers_written_as_words_are_understood_and_unused_columns_named(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rows = _csv_rows(
        "Handle,Name,Time Zone,Parent-Team,Email\namira,Amira,Europe/London,Adults,a@x\n", Path("p")
    )

    assert rows == [
        {
            "handle": "amira",
            "name": "Amira",
            "time_zone": "Europe/London",
            "parent_team": "Adults",
            "email": "a@x",
        }
    ]
    assert "Left out columns this does not use: email" in capsys.readouterr().err


def test_a_complete_directory_switches_off_leavers_and_says_who(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "all.csv").write_text("handle,name,roles\namira,Amira Hassan,staff\nben,Ben Carter,manager\n")
    (tmp_path / "now.csv").write_text("handle,name\namira,Amira Hassan\n")
    (tmp_path / "programme.toml").write_text(
        '[[pulse]]\nname = "Quick"\nowner = "ben"\n[[pulse.question]]\nkind = "yes_no"\ntext = "OK?"\n'
    )
    assert main(["directory", "import", str(tmp_path / "all.csv")]) == 0
    assert main(["programme", "load", str(tmp_path / "programme.toml")]) == 0
    capsys.readouterr()

    assert main(["directory", "import", str(tmp_path / "now.csv"), "--complete"]) == 0

    out, err = capsys.readouterr()
    assert "Switched off 1 person the file leaves out (they get no more messages): ben" in out
    # Ben owned a pulse: whoever imports hears that its results now reach nobody at close.
    assert (
        "Please give a new owner: pulse 'Quick': its owner ben is switched off, so nobody gets its results "
        "at close (any manager may read them; a senior leader may reply) until you name a new `owner` in the "
        "programme file and load it again." in err
    )


def test_an_import_says_what_it_changed_whom_the_file_leaves_out_and_when_nothing_changed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "all.csv").write_text(
        "handle,name,roles,team\namira,Amira Hassan,staff,Reablement\nben,Ben Carter,manager,Reablement\n"
        "dev,Dev Patel,staff,Repairs\n"
    )
    (tmp_path / "now.csv").write_text(
        "handle,name,roles,team\namira,Amira Okafor,staff,Reablement\nben,Ben Carter,manager,Repairs\n"
        "kim,Kim Lee,staff,Repairs\n"
    )
    assert main(["directory", "import", str(tmp_path / "all.csv")]) == 0
    first = capsys.readouterr().out
    assert main(["directory", "import", str(tmp_path / "all.csv")]) == 0
    again = capsys.readouterr().out
    assert main(["directory", "import", str(tmp_path / "now.csv"), "--dry-run"]) == 1  # amira's new name
    refused = capsys.readouterr().err
    assert main(["directory", "import", str(tmp_path / "now.csv"), "--allow-renames"]) == 0
    out, err = capsys.readouterr()

    assert first.splitlines()[:3] == [
        "Imported 3 people in 2 teams.",
        "Added 3 people: amira, ben, dev",
        "New teams (2): Reablement, Repairs",
    ]
    assert again.splitlines()[:2] == ["Imported 3 people in 2 teams.", "No changes."]
    assert out.splitlines() == [
        "Imported 3 people in 2 teams.",
        "Added 1 person: kim",
        "Renamed 1 person: amira (Amira Hassan -> Amira Okafor)",
        "Moved 1 person to another team: ben (Reablement -> Repairs)",
        "Note: Reablement has 1 person: under 5, its pulse results are withheld (shown within "
        "'Other teams').",
        "Note: Repairs has 3 people: under 5, its pulse results are withheld (shown within 'Other teams').",
        "1 person in the directory is not in this file (dev): --complete switches them off.",
    ]
    assert "could not be imported" not in err
    assert (
        "  line 2: amira is Amira Hassan in the directory but Amira Okafor here. If this is the same person "
        "under a new name, import again with --allow-renames;" in refused
    )


def test_a_dry_run_says_so_and_a_filtered_complete_file_is_refused_unless_many_leavers_are_allowed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "all.csv").write_text("handle,name\n" + "".join(f"p{n},Person {n}\n" for n in range(10)))
    (tmp_path / "some.csv").write_text("handle,name\np0,Person 0\np1,Person 1\np2,Person 2\n")
    assert main(["directory", "import", str(tmp_path / "all.csv")]) == 0
    capsys.readouterr()

    assert (
        main(
            [
                "directory",
                "import",
                str(tmp_path / "some.csv"),
                "--complete",
                "--dry-run",
                "--allow-many-leavers",
            ]
        )
        == 0
    )
    dry = capsys.readouterr().out.splitlines()
    refused = main(["directory", "import", str(tmp_path / "some.csv"), "--complete"])
    said = capsys.readouterr()

    assert dry[0] == dry[-1] == "Dry run: nothing was changed."
    assert (
        "Switched off 7 people the file leaves out (they get no more messages): p3, p4, p5, p6, p7, p8, p9"
        in dry
    )
    assert refused == 2 and said.out == ""
    assert said.err.startswith("nextpractice: --complete would switch off 7 of the 10 active people (70%)")
    assert said.err.rstrip().endswith("run it again with --allow-many-leavers")
    alone = main(["directory", "import", str(tmp_path / "some.csv"), "--allow-many-leavers"])
    assert (alone, capsys.readouterr().err) == (
        2,
        "nextpractice: --allow-many-leavers only means something with --complete\n",
    )
    assert main(["directory", "import", str(tmp_path / "all.csv")]) == 0
    assert (
        "No changes." in capsys.readouterr().out
    )  # neither the dry run nor the refused imports changed a thing
    assert (
        main(["directory", "import", str(tmp_path / "some.csv"), "--complete", "--allow-many-leavers"]) == 0
    )
    assert "Switched off 7 people" in capsys.readouterr().out


def test_a_complete_file_with_a_refused_row_says_nobody_was_switched_off(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "all.csv").write_text("handle,name\namira,Amira Hassan\nben,Ben Carter\n")
    (tmp_path / "now.csv").write_text("handle,name\namira,Amira Hassan\nben@council.gov.uk,Ben Carter\n")
    assert main(["directory", "import", str(tmp_path / "all.csv")]) == 0
    capsys.readouterr()

    assert main(["directory", "import", str(tmp_path / "now.csv"), "--complete"]) == 1

    out = capsys.readouterr().out.splitlines()
    assert out[-2:] == [
        "1 row could not be imported, so nobody was switched off: fix them and import again.",
        "1 person in the directory is not in this file (ben): they are switched off once every row imports.",
    ]


def test_small_team_notes_put_the_newly_small_first_and_say_how_many_more_there_are(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # 34 one-person teams, and Big of 5: Ezra moves to a new team, leaving Big with 4.
    singles = "".join(f"s{n:02},Single {n},Team {n:02}\n" for n in range(34))
    big = "".join(f"b{n},Big {n},Big\n" for n in range(4))
    (tmp_path / "all.csv").write_text("handle,name,team\n" + singles + big + "ezra,Ezra Cole,Big\n")
    (tmp_path / "now.csv").write_text("handle,name,team\n" + singles + big + "ezra,Ezra Cole,Zeta\n")
    assert main(["directory", "import", str(tmp_path / "all.csv")]) == 0
    first = capsys.readouterr().out.splitlines()

    assert main(["directory", "import", str(tmp_path / "now.csv")]) == 0

    assert first[1].startswith("Added 39 people: s00, s01,") and first[1].endswith(", s19 and 19 more")
    notes = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Note: ")]
    assert len(notes) == 31
    assert notes[0].startswith("Note: Big has 4 people, 5 before this import: under 5")
    assert notes[1].startswith("Note: Zeta, a new team, has 1 person: under 5")
    assert notes[-1] == "Note: ... and 6 more teams under 5."


def test_a_subject_access_export_and_an_erasure_from_the_command_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "all.csv").write_text("handle,name,roles\namira,Amira Hassan,staff\nben,Ben Carter,manager\n")
    assert main(["directory", "import", str(tmp_path / "all.csv")]) == 0
    capsys.readouterr()

    assert main(["directory", "export", "amira", "--out", str(tmp_path / "amira.json")]) == 0
    wrote = capsys.readouterr().out
    refused = main(["directory", "forget", "amira"])
    asked = capsys.readouterr().err
    assert main(["directory", "forget", "amira", "--yes"]) == 0
    forgot = capsys.readouterr().out
    unknown = main(["directory", "export", "amira"])

    held = json.loads((tmp_path / "amira.json").read_text())
    assert held["person"]["name"] == "Amira Hassan" and held["roles"][0]["role"] == "staff"
    assert wrote.startswith(f"Wrote {tmp_path / 'amira.json'}: amira's record and 2 kinds of data")
    assert refused != 0 and "cannot be undone; run it again with --yes" in asked
    assert forgot.startswith("Forgot amira: what they wrote in their name now shows as “Former colleague”'s.")
    assert "Take them out of your directory file" in forgot
    assert unknown != 0 and "nobody with the handle 'amira'" in capsys.readouterr().err


def test_a_run_open_longer_than_its_cadence_is_refused_at_load(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Open 200 hours, sent every Monday: each run found the last still open and did not start, unsaid.
    (tmp_path / "people.csv").write_text("handle,name,roles\nhelen,Helen Marsh,senior_leader\n")
    (tmp_path / "programme.toml").write_text(
        '[[checkin]]\nname = "Weekly"\nowner = "helen"\nopen_hours = 200\n'
        'schedule = { cron = "0 9 * * MON", time_zone = "Asia/Kolkata" }\n'  # no summer time: 168 hours
        '[[checkin.question]]\nkind = "scale"\ntext = "How was your week?"\n'
    )
    assert main(["directory", "import", str(tmp_path / "people.csv")]) == 0
    capsys.readouterr()

    assert main(["programme", "load", str(tmp_path / "programme.toml")]) != 0

    assert (
        "checkin 1 (“Weekly”): `open_hours` (200) must be less than the 168 hours between its runs: a run "
        "still open when the next is due makes that one skip" in capsys.readouterr().err
    )

    # Every other week, the same run may stay open a week, and the schedule says so when loaded.
    fortnightly = (
        (tmp_path / "programme.toml")
        .read_text()
        .replace('"Asia/Kolkata" }', '"Asia/Kolkata", every_weeks = 2 }')
    )
    (tmp_path / "programme.toml").write_text(fortnightly)
    assert main(["programme", "load", str(tmp_path / "programme.toml")]) == 0
    assert 'checkin "Weekly": 0 9 * * MON (Asia/Kolkata, every 2 weeks), next Mon ' in capsys.readouterr().out


def test_outbox_prune_takes_a_retention_period_in_days(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["outbox", "prune"])  # the period is the organisation's to choose: no default
    assert "--days" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["outbox", "prune", "--days", "0"])
    assert "give a whole number of days from 1 to 3660" in capsys.readouterr().err

    assert main(["outbox", "prune", "--days", "90"]) == 0
    assert capsys.readouterr().out == "Deleted 0 messages sent or failed more than 90 days ago.\n"


def test_csv_without_handle_and_name_is_refused() -> None:
    with pytest.raises(CliError, match="needs the columns handle and name"):
        _csv_rows("who,what\n", Path("people.csv"))


def test_the_demo_carries_on_where_its_clock_stopped(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("/clock +1d2h\n/quit\n"))
    assert main(["demo", "--fresh"]) == 0
    first = re.search(r"The clock stands at (\w+ \d+ \w+ \d\d:\d\d)", capsys.readouterr().out)
    assert first is not None and first.group(1).startswith("Monday") and first.group(1).endswith("08:00")

    monkeypatch.setattr("sys.stdin", io.StringIO("/quit\n"))
    assert main(["demo"]) == 0

    shown = capsys.readouterr().out
    assert "Welcome back to Riverside Council" in shown and "Welcome to" not in shown
    again = re.search(r"The clock stands at (\w+ \d+ \w+ \d\d:\d\d)", shown)
    assert again is not None and again.group(1).startswith("Tuesday") and again.group(1).endswith("10:00")
    # What the first run left waiting is shown again: "tap the button on the question you mean" showed none.
    assert "from before still wait for your answer:" in shown and "Monday pulse" in shown


def test_in_the_demo_the_other_staff_answer_so_the_pulse_has_results_to_read(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    steps = "/clock +1h\n/others\n/as ben\npulse close Monday pulse\npulse results Monday pulse\n/quit\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(steps))
    assert main(["demo", "--fresh"]) == 0

    out = capsys.readouterr().out
    assert "/others " in out  # the guide offers it
    note = re.search(
        r"-- (\d+) of the (\d+) staff with questions waiting gave made-up answers: "
        r"(\d+) to “Director's weekly check-in” and (\d+) to “Monday pulse”; (\d+) answered nothing",
        out,
    )
    assert note is not None
    answered, asked, checkin, pulse, left = (int(n) for n in note.groups())
    assert asked == 27 and answered + left == asked  # the 28 staff but Amira; some leave it
    assert 20 <= pulse <= answered and checkin <= 10  # the check-in goes to Adult Social Care only
    results = out[out.index("Monday pulse — run of") :]
    # Teams where five answered show their own figures; smaller ones are withheld, as with real answers.
    assert len(re.findall(r"^ {6}(?!Everyone)[A-Z][\w ]+: n=[5-9],", results, re.MULTILINE)) >= 2
    assert "Withheld, fewer than 5 answers:" in results
    written = re.search(r"^ +(\d+) written answers$", results, re.MULTILINE)
    assert written is not None and int(written.group(1)) >= 10  # some leave the written question blank


def test_no_command_prints_the_overview(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "nextpractice demo" in capsys.readouterr().out


def test_a_missing_script_is_one_clear_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["console", "--as", "amira", "--script", str(tmp_path / "nope.txt")]) == 1
    assert capsys.readouterr().err == f"nextpractice: there is no script file {tmp_path / 'nope.txt'}\n"


def test_a_missing_directory_file_is_one_clear_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["directory", "import", str(tmp_path / "people.csv")]) == 2  # nothing imported
    assert capsys.readouterr().err.startswith("nextpractice: there is no directory file")


def test_the_demo_organisation_and_programme_load_and_a_script_plays(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["directory", "import", str(DEMO / "organisation.csv")]) == 0
    assert main(["programme", "load", str(DEMO / "programme.toml")]) == 0
    assert "Imported 40 people in 9 teams." in capsys.readouterr().out
    script = tmp_path / "chat.txt"
    script.write_text(
        "# Amira asks, Jo answers\n"
        "amira: ask Can we have parking permits for care visits?\n"
        "jo: answer 1 We are talking to Highways this month.\n",
        encoding="utf-8",
    )

    assert main(["console", "--as", "amira", "--script", str(script)]) == 0

    out = capsys.readouterr().out.splitlines()
    assert "<- amira: ask Can we have parking permits for care visits?" in out
    assert "-> #qa: Question #1 from Amira Hassan:" in out
    assert "-> #qa: (thread question:1) Answer from Jo Adeyemi: We are talking to Highways this month." in out
    assert "-> amira: Your question #1 has an answer from Jo Adeyemi:" in out


def test_a_console_started_on_monday_morning_still_gets_that_mondays_local_time_check_in(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Nine o'clock comes first on Sunday evening (UTC+14): started at 08:00 on Monday in London, the
    # console never fired it, where serve catches it up, and the README's example missed the check-in.
    assert main(["directory", "import", str(DEMO / "organisation.csv")]) == 0
    assert main(["programme", "load", str(DEMO / "programme.toml")]) == 0
    monday = next_monday_morning(datetime.now(UTC)).astimezone(CONSOLE_ZONE)
    (tmp_path / "wait.txt").write_text("/clock +1h\n", encoding="utf-8")
    capsys.readouterr()

    start = f"{monday:%Y-%m-%d %H:%M}"
    assert main(["console", "--as", "amira", "--script", str(tmp_path / "wait.txt"), "--start", start]) == 0

    out = capsys.readouterr().out.splitlines()
    assert "-> amira: Director's weekly check-in (check-in, 2 questions, anonymous)" in out


def test_an_unknown_handle_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["directory", "import", str(DEMO / "organisation.csv")]) == 0

    assert main(["console", "--as", "nobody"]) == 1
    err = capsys.readouterr().err
    # It names the database it looked in: from another folder, ./data is another, empty one.
    assert 'has the handle "nobody"' in err and "nextpractice.db" in err


def test_a_script_with_a_start_time_plays_the_same_every_time(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["directory", "import", str(DEMO / "organisation.csv")]) == 0
    assert main(["programme", "load", str(DEMO / "programme.toml")]) == 0
    script = tmp_path / "week.txt"
    script.write_text("/clock +1h\namira: 4\n", encoding="utf-8")
    capsys.readouterr()

    assert main(["console", "--as", "amira", "--script", str(script), "--start", "2026-11-30 08:00"]) == 0

    out = capsys.readouterr().out
    assert "-- moving the clock on +1h to Mon 30 Nov 2026 09:00 (Europe/London)" in out
    assert "-> amira: Monday pulse (pulse, 5 questions, anonymous)" in out
    assert "[4] (chosen)" in out
    # The same database cannot be taken back in time.
    assert main(["console", "--as", "amira", "--script", str(script), "--start", "2026-11-30 08:00"]) == 1
    assert "cannot go back" in capsys.readouterr().err


def test_a_long_import_shows_how_far_it_has_got() -> None:
    shown: list[str] = []
    progress = ImportProgress(10_000, lambda report: shown.append(str(report)), every=0)
    progress(2_500)
    assert len(shown) == 1
    assert shown[0].startswith("import progress: 2500 / 10000 rows (25%), ")
    assert "/s, ETA " in shown[0]

    quiet: list[str] = []
    short = ImportProgress(10, lambda report: quiet.append(str(report)), every=3600)
    short(5)
    assert quiet == []  # an import quicker than the interval shows no progress at all


def test_a_role_column_is_roles_and_a_misspelt_column_is_refused_not_left_out() -> None:
    rows = _csv_rows("handle,name,Role,Timezone\nben,Ben Carter,manager,Europe/London\n", Path("p.csv"))
    assert rows == [{"handle": "ben", "name": "Ben Carter", "roles": "manager", "time_zone": "Europe/London"}]

    # Left out, "rols" would have made everyone staff.
    with pytest.raises(CliError, match=r"column 'rols' is not one I know: did you mean 'roles'\?"):
        _csv_rows("handle,name,rols\nben,Ben Carter,manager\n", Path("p.csv"))


def test_an_import_names_the_rows_whose_time_zone_or_team_looks_like_a_slip(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "people.csv").write_text(
        "handle,name,time_zone,team\n"
        "amira,Amira Hassan,Europe/London,Revenues & Benefits\n"
        "kevin,Kevin Doyle,,Revenues & Benefits\n"
        "gwen,Gwen Pryce,GMT,Revenues and benefits\n"
        "priya,Priya Nair,Asia/Kolkata,Revenues & Benefits\n"
    )

    assert main(["directory", "import", str(tmp_path / "people.csv")]) == 0

    captured = capsys.readouterr()
    assert "Imported 4 people in 2 teams." in captured.out
    assert captured.err.splitlines() == [
        "Imported, but please check 3 rows:",
        "  line 3: kevin has no time_zone, so UTC is used; give one such as Europe/London",
        "  line 4: gwen's time zone 'GMT' is a fixed offset and will not follow summer time; give the place, "
        "such as Europe/London",
        "  line 4: team 'Revenues and benefits' looks like 'Revenues & Benefits' (line 2) written another "
        "way; they are two teams unless written the same",
    ]


def test_a_pulse_sent_in_one_console_run_is_shown_and_answered_by_number_in_the_next(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["directory", "import", str(DEMO / "organisation.csv")]) == 0
    assert main(["programme", "load", str(DEMO / "programme.toml")]) == 0
    (tmp_path / "send.txt").write_text("ben: pulse send Monday pulse\n", encoding="utf-8")
    (tmp_path / "answer.txt").write_text("amira: 4\n", encoding="utf-8")
    assert (
        main(
            ["console", "--as", "ben", "--script", str(tmp_path / "send.txt"), "--start", "2026-11-24 15:00"]
        )
        == 0
    )
    capsys.readouterr()

    # The manager quits; later someone opens the console as Amira and types the number.
    assert (
        main(
            [
                "console",
                "--as",
                "amira",
                "--script",
                str(tmp_path / "answer.txt"),
                "--start",
                "2026-11-24 15:05",
            ]
        )
        == 0
    )

    out = capsys.readouterr().out
    assert "-- 1 message from before still waits for your answer:" in out
    assert "-> amira: Monday pulse (pulse, 5 questions, anonymous)" in out
    assert "[4] (chosen)" in out and "Q2/5" in out  # answered, and the next question came
    assert "I didn't catch that" not in out

    # Opened again: only the question still to answer is shown again, and a number answers it, not Q1.
    (tmp_path / "again.txt").write_text("amira: 3\n", encoding="utf-8")
    again = [
        "console",
        "--as",
        "amira",
        "--script",
        str(tmp_path / "again.txt"),
        "--start",
        "2026-11-24 15:10",
    ]
    assert main(again) == 0
    out = capsys.readouterr().out
    assert "-- 1 message from before still waits for your answer:" in out
    assert "Q1/5" not in out and "Q2/5" in out


def test_version_names_the_installed_release(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])

    assert done.value.code == 0
    assert re.fullmatch(r"nextpractice \d+\.\d+\.\d+\n", capsys.readouterr().out)


def test_the_demo_in_sittings_shows_what_came_for_someone_in_an_earlier_run_once(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # "-- 1 message went to amira; /as amira shows theirs", and a later run showed her nothing: messages
    # without buttons (an answer to her question, "you said, we did") lived only in the first run's memory.
    steps = "ask Will weekend rotas be published a month ahead?\n/as jo\nanswer 1 Yes, from January\n/quit\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(steps))
    assert main(["demo", "--fresh"]) == 0
    capsys.readouterr()

    monkeypatch.setattr("sys.stdin", io.StringIO("/as jo\n/as amira\n/quit\n"))
    assert main(["demo"]) == 0
    second = capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("/quit\n"))
    assert main(["demo"]) == 0
    third = capsys.readouterr().out

    assert (
        "-- 1 message came for amira in an earlier run:\n-> amira: Your question #1 has an answer from Jo"
        in second
    )
    assert second.count("has an answer from Jo") == 1  # once, though she was become again in the run
    assert "has an answer from Jo" not in third  # and not again in a later run


def test_a_blank_row_a_semicolon_file_a_new_starter_without_a_team_and_a_refused_row_are_said_plainly(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "people.csv").write_text(
        "handle,name,time_zone,team\n"
        "amira,Amira Hassan,Europe/London,Reablement\n"
        ",,,\n"  # a row deleted in the spreadsheet, its line left
        "kevin,Kevin Doyle,Europe/London,\n"
        "BAD HANDLE,Nobody,Europe/London,Reablement\n"
    )
    (tmp_path / "europe.csv").write_text("handle;name;time_zone\namira;Amira Hassan;Europe/London\n")

    assert main(["directory", "import", str(tmp_path / "people.csv")]) == 1
    out, err = capsys.readouterr()
    assert main(["directory", "import", str(tmp_path / "europe.csv")]) == 2
    semicolons = capsys.readouterr().err

    assert out.splitlines()[0] == "1 row could not be imported; the other 2 were, in 1 team."
    assert "  line 3 is blank, so it was skipped" in err.splitlines()
    assert (
        "  line 4: kevin has no team, so their pulse answers count within 'Other teams'; give the team they "
        "work in" in err.splitlines()
    )
    assert semicolons == (
        f"nextpractice: {tmp_path / 'europe.csv'}: the file is separated by semicolons: save it as CSV UTF-8 "
        "(comma delimited)\n"
    )


def test_an_imports_exit_code_says_whether_every_row_some_or_none_went_in(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A scheduled job alerted every week: a blank row or a row pasted twice exited 1, as refused rows do.
    (tmp_path / "ok.csv").write_text(
        "handle,name,time_zone,team\n"
        "amira,Amira Hassan,Europe/London,Reablement\n"
        ",,,\n"
        "amira,Amira Hassan,Europe/London,Reablement\n"
    )
    (tmp_path / "some.csv").write_text("handle,name\namira,Amira Hassan\nBAD HANDLE,Nobody\n")
    (tmp_path / "none.csv").write_text("handle,name\nBAD HANDLE,Nobody\n")

    assert main(["directory", "import", str(tmp_path / "ok.csv")]) == 0
    err = capsys.readouterr().err.splitlines()
    assert main(["directory", "import", str(tmp_path / "some.csv")]) == 1
    assert main(["directory", "import", str(tmp_path / "none.csv")]) == 2
    assert "Nothing was imported: 1 row could not be." in capsys.readouterr().out

    assert err[1:] == [
        "  line 3 is blank, so it was skipped",
        "  line 4 is the same as line 2, so it was skipped",
    ]
    help_text = io.StringIO()
    monkeypatch.setattr("sys.stdout", help_text)
    with pytest.raises(SystemExit):
        main(["directory", "import", "--help"])
    assert "  1  some rows were refused and are listed; the others were imported" in help_text.getvalue()

    async def failing(*args: object, **kwargs: object) -> None:
        raise OperationalError("INSERT", {}, Exception("disk I/O error"))

    monkeypatch.setattr("bot.cli.import_directory", failing)
    assert main(["directory", "import", str(tmp_path / "ok.csv")]) == 2
    assert "nextpractice: nothing was imported: the database failed: " in capsys.readouterr().err
