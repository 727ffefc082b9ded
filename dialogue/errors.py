"""Refusals: bad input or a forbidden action, answered kindly and changing nothing."""

from __future__ import annotations

# What a person is told when the bot failed on its side after the platform had its answer, so the
# platform will not send it again: the person must.
NOT_SAVED = "Sorry, something went wrong on our side and that was not saved. Please try again in a minute."


class Refusal(Exception):
    """Raised by a flow to refuse with a friendly message; the transaction is rolled back.

    ``field`` names the form field at fault, so a form can show the error inline. ``written`` is what the
    person wrote, to be shown back where nothing else keeps it (a Slack slash command's text).
    """

    def __init__(self, message: str, *, field: str | None = None, written: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.written = written
