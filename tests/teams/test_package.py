"""The Teams app package: the manifest Microsoft's schema accepts, the menu the core answers, the zip
an admin uploads, and ``nextpractice teams package`` end to end."""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from adapters.teams.package import (
    BAD_APP_ID,
    MANIFEST,
    TEMPLATE,
    PackageError,
    build_package,
    default_manifest_dir,
    package_version,
    problems,
    render_manifest,
)
from dialogue.commands import COMMANDS

ROOT = Path(__file__).resolve().parents[2]
MANIFEST_DIR = ROOT / "manifest" / "teams"
SCHEMA = MANIFEST_DIR / "MicrosoftTeams.v1.25.schema.json"  # Microsoft's (tests/reference/SOURCES.md)
APP_ID = "6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b"
OTHER_APP_ID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
ICON_SIZES = {"color.png": (192, 192), "outline.png": (32, 32)}


@pytest.fixture
def built(tmp_path: Path) -> Path:
    """The package built from the shipped files."""
    return build_package(MANIFEST_DIR, app_id=APP_ID, version="1.2.3", out=tmp_path / "teams.zip")


def manifest_of(package: Path) -> dict[str, Any]:
    with zipfile.ZipFile(package) as archive:
        manifest: dict[str, Any] = json.loads(archive.read(MANIFEST))
    return manifest


def ihdr(data: bytes) -> tuple[int, int]:
    """A PNG's size, read here independently of the code under test."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


Pixel = tuple[int, int, int, int]


def png(width: int, height: int, rgba: Pixel | Callable[[int, int], Pixel], row_filter: int = 0) -> bytes:
    """An RGBA PNG of one colour, or of ``rgba(x, y)``, each row stored with PNG filter ``row_filter``."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    colour = rgba if callable(rgba) else (lambda x, y: rgba)
    previous, rows = bytes(width * 4), b""
    for y in range(height):
        line = b"".join(bytes(colour(x, y)) for x in range(width))
        rows += bytes([row_filter]) + _filtered(row_filter, line, previous)
        previous = line
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _filtered(kind: int, line: bytes, previous: bytes) -> bytes:
    """One row as the PNG specification's filter ``kind`` stores it (4 bytes a pixel)."""
    out = bytearray()
    for i, value in enumerate(line):
        a, b = line[i - 4] if i >= 4 else 0, previous[i]
        c = previous[i - 4] if i >= 4 else 0
        p = a + b - c
        paeth = (
            a
            if abs(p - a) <= abs(p - b) and abs(p - a) <= abs(p - c)
            else b
            if abs(p - b) <= abs(p - c)
            else c
        )
        predictor = (0, a, b, (a + b) // 2, paeth)[kind]
        out.append((value - predictor) & 0xFF)
    return bytes(out)


def shipped_icons() -> dict[str, bytes]:
    return {name: (MANIFEST_DIR / name).read_bytes() for name in ICON_SIZES}


def rendered() -> dict[str, Any]:
    return render_manifest(
        (MANIFEST_DIR / TEMPLATE).read_text(encoding="utf-8"), app_id=APP_ID, version="1.0.0"
    )


def personal_menu(manifest: dict[str, Any]) -> list[dict[str, str]]:
    lists = manifest["bots"][0]["commandLists"]
    menus = [command_list["commands"] for command_list in lists if "personal" in command_list["scopes"]]
    assert len(menus) == 1, "exactly one command list for personal chats"
    return list(menus[0])


# -- the manifest ------------------------------------------------------------------------------


def test_the_built_manifest_is_valid_against_microsofts_schema(built: Path) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)(schema)
    manifest = manifest_of(built)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(manifest)]
    assert errors == []
    # The schema says draft-04, which ignores its own "const": check the version it pins by hand.
    assert manifest["manifestVersion"] == schema["properties"]["manifestVersion"]["const"] == "1.25"
    assert manifest["$schema"].endswith("/teams/v1.25/MicrosoftTeams.schema.json")


def test_the_app_id_is_the_app_and_the_bot_and_the_version_is_filled_in(built: Path) -> None:
    manifest = manifest_of(built)
    assert manifest["id"] == manifest["bots"][0]["botId"] == APP_ID
    assert manifest["version"] == "1.2.3"
    assert "{{" not in json.dumps(manifest)


def test_the_shipped_files_break_none_of_teams_rules() -> None:
    assert problems(rendered(), shipped_icons()) == []


def test_render_fills_a_parsed_template_without_changing_it() -> None:
    template = {
        "id": "{{MICROSOFT_APP_ID}}",
        "version": "{{VERSION}}",
        "bots": [{"botId": "{{MICROSOFT_APP_ID}}"}],
    }
    manifest = render_manifest(template, app_id=f"  {APP_ID}\n", version="2.0.0")
    assert manifest == {"id": APP_ID, "version": "2.0.0", "bots": [{"botId": APP_ID}]}
    assert template["id"] == "{{MICROSOFT_APP_ID}}"


def test_the_bot_works_in_personal_chats_and_teams_not_group_chats() -> None:
    bot = rendered()["bots"][0]
    assert bot["scopes"] == ["personal", "team"]
    assert bot["supportsFiles"] is False
    assert bot["isNotificationOnly"] is False
    # In a channel the bot only takes follow-ups in question threads, so no channel menu to mislead.
    assert [command_list["scopes"] for command_list in bot["commandLists"]] == [["personal"]]


# -- the command menu ----------------------------------------------------------------------------


def test_every_menu_command_is_a_core_command_with_its_usage() -> None:
    for command_list in rendered()["bots"][0]["commandLists"]:
        for command in command_list["commands"]:
            word = command["title"].split()[0]
            assert command["title"] == word, "Teams types the title into the box: it must be the command word"
            assert word in COMMANDS, f"{word!r} is not a command the bot knows"
            assert COMMANDS[word].usage in command["description"]


def test_the_personal_menu_puts_what_staff_can_do_first() -> None:
    titles = [command["title"] for command in personal_menu(rendered())]
    assert titles[:3] == ["help", "idea", "ideas"]
    # Teams holds ten; `away` and `quiet`, set once in a while, are found through help and the words people
    # use ("I'm on leave", "mute").
    for_everyone = [name for name, spec in COMMANDS.items() if not spec.who and name not in ("away", "quiet")]
    assert set(for_everyone) <= set(titles), "every command staff may run is in the menu"
    assert titles[: len(for_everyone)] == [t for t in titles if not COMMANDS[t].who], (
        "staff commands come first"
    )
    assert len(titles) <= 10


def test_a_manager_command_in_the_menu_says_who_may_use_it() -> None:
    for command in personal_menu(rendered()):
        spec = COMMANDS[command["title"]]
        if spec.who:
            assert command["description"].lower().startswith("managers"), command


# -- the zip ---------------------------------------------------------------------------------------


def test_the_zip_holds_the_manifest_and_two_icons_at_its_root(built: Path) -> None:
    with zipfile.ZipFile(built) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        for name, size in ICON_SIZES.items():
            assert ihdr(archive.read(name)) == size
    manifest = manifest_of(built)
    assert manifest["icons"] == {"color": "color.png", "outline": "outline.png"}


def test_the_same_inputs_build_the_same_zip(built: Path, tmp_path: Path) -> None:
    again = build_package(MANIFEST_DIR, app_id=APP_ID, version="1.2.3", out=tmp_path / "again" / "teams.zip")
    assert again.read_bytes() == built.read_bytes()


# -- problems, each in plain words ------------------------------------------------------------------


@pytest.mark.parametrize(
    "app_id",
    # The last: the README's example, copied as it is.
    [
        "",
        "not-a-guid",
        f"28:{APP_ID}",
        "{" + APP_ID + "}",
        APP_ID[:-1],
        "xoxb-1234",
        "0" * 8 + "-0000" * 3 + "-" + "0" * 12,
    ],
)
def test_an_app_id_that_is_not_a_guid_is_refused(app_id: str) -> None:
    with pytest.raises(
        ValueError, match=r"a GUID like 5a0c1d9e-.*; the README's 0{8}-0{4}.* is a placeholder"
    ) as caught:
        render_manifest({"id": "{{MICROSOFT_APP_ID}}"}, app_id=app_id, version="1.0.0")
    assert str(caught.value) == BAD_APP_ID
    assert "MICROSOFT_APP_ID must be the bot's Microsoft App ID" in BAD_APP_ID


def test_more_than_ten_commands_in_a_menu_is_refused() -> None:
    manifest = rendered()
    menu = manifest["bots"][0]["commandLists"][0]["commands"]
    menu.append({"title": "status", "description": "move an idea on"})
    assert problems(manifest, shipped_icons()) == [
        "the personal command list has 11 commands; Teams shows at most 10"
    ]


def test_long_command_titles_and_descriptions_are_refused() -> None:
    manifest = rendered()
    menu = manifest["bots"][0]["commandLists"][0]["commands"]
    menu[0] = {"title": "h" * 33, "description": "d" * 129}
    assert problems(manifest, shipped_icons()) == [
        f"the personal command {'h' * 33!r} is longer than 32 characters",
        f"the personal command {'h' * 33!r} has a 129-character description; Teams allows 128",
    ]


def test_a_wrong_sized_or_missing_icon_is_refused() -> None:
    icons = shipped_icons()
    assert problems(rendered(), {"color.png": icons["outline.png"], "outline.png": icons["color.png"]}) == [
        "the color icon color.png is 32x32 pixels; Teams needs 192x192",
        "the outline icon outline.png is 192x192 pixels; Teams needs 32x32",
    ]
    assert problems(rendered(), {"color.png": b"GIF89a...", "outline.png": icons["outline.png"]}) == [
        "the color icon color.png is not a PNG image"
    ]
    assert problems(rendered(), {"color.png": icons["color.png"]}) == [
        "the outline icon file outline.png is missing"
    ]


def test_an_outline_icon_must_be_white_on_transparent() -> None:
    icons = shipped_icons()
    teal = png(32, 32, (11, 114, 133, 255))
    assert problems(rendered(), {**icons, "outline.png": teal}) == [
        "the outline icon outline.png must be white on a transparent background: it has other colours"
    ]
    blank = png(32, 32, (255, 255, 255, 0))
    assert problems(rendered(), {**icons, "outline.png": blank}) == [
        "the outline icon outline.png is fully transparent"
    ]
    assert problems(rendered(), {**icons, "outline.png": png(32, 32, (255, 255, 255, 255))}) == []


@pytest.mark.parametrize("row_filter", [0, 1, 2, 3, 4])
def test_the_outline_check_reads_every_row_filter(row_filter: int) -> None:
    icons = shipped_icons()

    def ring(x: int, y: int) -> Pixel:  # white, with alpha varying across the icon
        return (255, 255, 255, (x * 8 + y * 3) % 256)

    clean = png(32, 32, ring, row_filter)
    assert problems(rendered(), {**icons, "outline.png": clean}) == []

    def ring_with_a_dot(x: int, y: int) -> Pixel:
        return (200, 255, 255, 255) if (x, y) == (20, 17) else ring(x, y)

    dotted = png(32, 32, ring_with_a_dot, row_filter)
    assert problems(rendered(), {**icons, "outline.png": dotted}) == [
        "the outline icon outline.png must be white on a transparent background: it has other colours"
    ]


def test_the_bot_must_be_the_app_and_the_version_three_numbers() -> None:
    manifest = rendered()
    manifest["bots"][0]["botId"] = OTHER_APP_ID
    manifest["version"] = "1.0"
    assert problems(manifest, shipped_icons()) == [
        "the app version must be three numbers like 1.0.0 (Teams needs a new one for every update), "
        "not '1.0'",
        "the bot's id (bots[0].botId) must be the app's id: both are the bot's Microsoft App ID",
    ]


def test_a_broken_manifest_folder_builds_nothing_and_lists_every_problem(tmp_path: Path) -> None:
    folder = tmp_path / "teams"
    shutil.copytree(MANIFEST_DIR, folder)
    template = json.loads((folder / TEMPLATE).read_text(encoding="utf-8"))
    template["bots"][0]["commandLists"][0]["commands"] *= 2
    (folder / TEMPLATE).write_text(json.dumps(template), encoding="utf-8")
    (folder / "color.png").write_bytes(png(100, 100, (11, 114, 133, 255)))
    out = tmp_path / "out" / "teams.zip"
    with pytest.raises(PackageError) as caught:
        build_package(folder, app_id=APP_ID, version="1.0.0", out=out)
    assert isinstance(caught.value, ValueError)
    assert caught.value.problems[:2] == [
        "the color icon color.png is 100x100 pixels; Teams needs 192x192",
        "the personal command list has 20 commands; Teams shows at most 10",
    ]
    assert "the personal command list has 'help' more than once" in str(caught.value)
    assert not out.exists()


def test_links_and_a_colour_the_schema_refuses_are_named_before_teams_refuses_the_upload(
    tmp_path: Path,
) -> None:
    # The edits the command asks for (the organisation's own links), made as people type them.
    folder = tmp_path / "teams"
    shutil.copytree(MANIFEST_DIR, folder)
    template = json.loads((folder / TEMPLATE).read_text(encoding="utf-8"))
    template["developer"] |= {"websiteUrl": "www.trust.nhs.uk", "termsOfUseUrl": ""}
    template["accentColor"] = "teal"
    (folder / TEMPLATE).write_text(json.dumps(template), encoding="utf-8")
    out = tmp_path / "out" / "teams.zip"

    with pytest.raises(PackageError) as caught:
        build_package(folder, app_id=APP_ID, version="1.0.0", out=out)

    assert caught.value.problems == [
        "accentColor must be a colour written like #4F6BED, not 'teal'",
        "developer.termsOfUseUrl must be a web address starting https://, not ''",
        "developer.websiteUrl must be a web address starting https://, not 'www.trust.nhs.uk'",
    ]
    assert not out.exists()


def test_a_missing_template_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="there is no Teams manifest template"):
        build_package(tmp_path, app_id=APP_ID, version="1.0.0", out=tmp_path / "teams.zip")


def test_the_defaults_find_this_checkout_and_its_version() -> None:
    assert default_manifest_dir() == MANIFEST_DIR
    assert re.fullmatch(r"\d+\.\d+\.\d+", package_version())


# -- nextpractice teams package ---------------------------------------------------------------------


def run_cli(tmp_path: Path, *args: str, app_id_env: str | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m bot teams package ...`` in a clean environment whose data directory is ``tmp_path``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MICROSOFT_", "TEAMS_"))}
    env["NEXTPRACTICE_DATA_DIR"] = str(tmp_path / "data")
    if app_id_env is not None:
        env["MICROSOFT_APP_ID"] = app_id_env
    return subprocess.run(
        [sys.executable, "-m", "bot", "teams", "package", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_command_builds_the_package_and_says_what_to_do_next(tmp_path: Path) -> None:
    out = tmp_path / "nextpractice-teams.zip"
    result = run_cli(tmp_path, "--app-id", APP_ID, "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert str(out) in result.stdout
    assert "Upload new app" in result.stdout
    assert "Upload a custom app" in result.stdout
    assert "https://<your host>/api/messages" in result.stdout
    manifest = manifest_of(out)
    assert manifest["id"] == APP_ID
    assert manifest["version"] == package_version()
    assert not (tmp_path / "data").exists(), "packaging reads no settings and writes no data"
    # The template's developer links are this project's: the organisation is told to give its own.
    assert "Before staff see it: websiteUrl, privacyUrl, termsOfUseUrl in " in result.stdout


def test_with_the_organisations_own_links_nothing_more_is_asked(tmp_path: Path) -> None:
    mine = tmp_path / "manifest"
    shutil.copytree(ROOT / "manifest" / "teams", mine)
    template = mine / "manifest.template.json"
    template.write_text(
        template.read_text(encoding="utf-8").replace(
            "https://github.com/nextpractice/nextpractice", "https://www.riverside.gov.uk/staff-app"
        ),
        encoding="utf-8",
    )
    result = run_cli(
        tmp_path, "--app-id", APP_ID, "--out", str(tmp_path / "t.zip"), "--manifest-dir", str(mine)
    )
    assert result.returncode == 0, result.stderr
    assert "Before staff see it" not in result.stdout


def test_the_command_takes_the_app_id_from_the_environment(tmp_path: Path) -> None:
    # Only MICROSOFT_APP_ID: the rest of the bot's Teams settings (password, tenant) are not needed.
    out = tmp_path / "teams.zip"
    result = run_cli(tmp_path, "--out", str(out), "--version", "2.0.1", app_id_env=OTHER_APP_ID)
    assert result.returncode == 0, result.stderr
    assert manifest_of(out)["id"] == OTHER_APP_ID
    assert manifest_of(out)["version"] == "2.0.1"


def test_the_command_without_an_app_id_says_where_to_give_one(tmp_path: Path) -> None:
    out = tmp_path / "teams.zip"
    result = run_cli(tmp_path, "--out", str(out))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "nextpractice: give the bot's Microsoft App ID with --app-id, or set MICROSOFT_APP_ID"
    )
    assert not out.exists()


def test_the_command_refuses_a_bad_app_id_and_a_missing_manifest_folder(tmp_path: Path) -> None:
    out = tmp_path / "teams.zip"
    bad = run_cli(tmp_path, "--app-id", "my-bot", "--out", str(out))
    assert bad.returncode == 1
    assert bad.stderr.strip() == f"nextpractice: {BAD_APP_ID}"
    missing = run_cli(tmp_path, "--app-id", APP_ID, "--out", str(out), "--manifest-dir", str(tmp_path))
    assert missing.returncode == 2
    assert f"there is no Teams manifest in {tmp_path}; use --manifest-dir" in missing.stderr
    assert not out.exists()
