"""The Slack app manifest: it parses, speaks the core's command grammar, and asks for least privilege."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from dialogue.commands import COMMANDS

MANIFEST = Path(__file__).resolve().parents[2] / "manifest" / "slack.yaml"
GENERAL = "/nextpractice"  # the one command that takes any core command in its text
# The least-privilege set, each justified in slack.yaml. Changing this list is a deliberate decision.
BOT_SCOPES = {"channels:history", "chat:write", "commands", "im:history", "users:read", "usergroups:read"}
BOT_EVENTS = {"app_home_opened", "message.channels", "message.im"}


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    """The parsed manifest."""
    loaded = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def slash_commands(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The manifest's slash command entries."""
    commands = manifest["features"]["slash_commands"]
    assert isinstance(commands, list)
    return commands


def test_the_required_sections_are_present(manifest: dict[str, Any]) -> None:
    display = manifest["display_information"]
    assert display["name"] == "NextPractice" and len(display["name"]) <= 35
    assert 0 < len(display["description"]) <= 140
    assert re.fullmatch(r"#(?:[0-9a-fA-F]{3}){1,2}", display["background_color"])

    bot = manifest["features"]["bot_user"]
    assert re.fullmatch(r"[a-z0-9._-]{1,80}", bot["display_name"])  # Slack's allowed characters
    assert bot["always_online"] is True
    assert manifest["features"]["app_home"] == {
        "home_tab_enabled": True,
        "messages_tab_enabled": True,
        "messages_tab_read_only_enabled": False,
    }

    settings = manifest["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is True
    assert settings["org_deploy_enabled"] is False
    assert settings["token_rotation_enabled"] is False


def test_slash_commands_respect_slacks_limits(manifest: dict[str, Any]) -> None:
    names = [entry["command"] for entry in slash_commands(manifest)]
    assert len(names) == len(set(names))
    for entry in slash_commands(manifest):
        assert entry["command"].startswith("/") and len(entry["command"]) <= 32
        assert re.fullmatch(r"/[a-z0-9_-]+", entry["command"])
        assert 0 < len(entry["description"]) <= 2000
        assert 0 < len(entry["usage_hint"]) <= 1000
        # No url: Socket Mode by default; HTTP mode adds one per command (see the manifest's comments).
        assert "url" not in entry


def test_every_slash_command_is_a_core_command_with_its_grammar(manifest: dict[str, Any]) -> None:
    names = {entry["command"] for entry in slash_commands(manifest)}
    assert names == {"/idea", "/ask", "/answer", "/pulse", GENERAL}
    for entry in slash_commands(manifest):
        if entry["command"] == GENERAL:
            continue
        spec = COMMANDS[entry["command"].removeprefix("/")]
        word, _, grammar = spec.usage.partition(" ")
        assert word == spec.name
        # Slack shows the hint right after the command, so it is the core's usage without the command word.
        assert entry["usage_hint"] == grammar


def test_the_general_command_offers_everything_else(manifest: dict[str, Any]) -> None:
    (general,) = [entry for entry in slash_commands(manifest) if entry["command"] == GENERAL]
    offered = [alternative.split()[0] for alternative in general["usage_hint"].split(" | ")]
    assert offered[0] == "help"
    assert set(offered) <= set(COMMANDS), set(offered) - set(COMMANDS)
    own_slash = {entry["command"].removeprefix("/") for entry in slash_commands(manifest)}
    assert set(COMMANDS) - own_slash <= set(offered), "a core command is reachable from no slash command"


def test_bot_scopes_are_exactly_the_least_privilege_set(manifest: dict[str, Any]) -> None:
    scopes = manifest["oauth_config"]["scopes"]
    assert set(scopes) == {"bot"}  # no user scopes: the app never acts as a person
    assert len(scopes["bot"]) == len(set(scopes["bot"]))
    assert set(scopes["bot"]) == BOT_SCOPES


def test_every_scope_is_justified_by_a_comment() -> None:
    lines = MANIFEST.read_text(encoding="utf-8").splitlines()
    for scope in BOT_SCOPES:
        (line,) = [line for line in lines if line.strip().startswith(f"- {scope} ")]
        assert "#" in line and len(line.split("#", 1)[1].strip()) > 10, line


def test_bot_events_are_listed(manifest: dict[str, Any]) -> None:
    subscriptions = manifest["settings"]["event_subscriptions"]
    assert set(subscriptions["bot_events"]) == BOT_EVENTS
    assert "request_url" not in subscriptions  # Socket Mode by default
    assert "user_events" not in subscriptions
