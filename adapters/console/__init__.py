"""A local chat in the terminal, for trying the bot and for end-to-end tests."""

from adapters.console.sender import ConsoleSender
from adapters.console.session import (
    Answered,
    ConsoleHost,
    ConsoleSession,
    ScriptError,
    console_identity,
    parse_script,
    play_script,
    run_interactive,
    script_handles,
)

__all__ = [
    "Answered",
    "ConsoleHost",
    "ConsoleSender",
    "ConsoleSession",
    "ScriptError",
    "console_identity",
    "parse_script",
    "play_script",
    "run_interactive",
    "script_handles",
]
