"""Limits on what people write, and the checks that enforce them."""

from __future__ import annotations

import unicodedata

from dialogue.errors import Refusal

IDEA_MAX = 1000
COMMENT_MAX = 500
QUESTION_MAX = 1000
ANSWER_MAX = 2000
REASON_MAX = 500
PULSE_TEXT_MAX = 1000
CHECKIN_REPLY_MAX = 2000
MIN_LENGTH = 3
FORM_QUOTE = 150  # characters of a question or idea quoted in a form's field label
# What a button can carry back (words shown back to be shared with a tap), in UTF-16 code units: Slack's
# limit on a button's value, the tightest of the platforms'.
CHOICE_VALUE_MAX = 2000


def utf16_units(text: str) -> int:
    """The length of ``text`` as Slack and Teams count it: in UTF-16 code units (most emoji count two)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def clean_text(text: str, *, what: str, limit: int, field: str | None = None) -> str:
    """Strip the text and refuse it if it is empty (nothing visible), too short or longer than ``limit``
    characters."""
    cleaned = text.strip()
    if not any(_visible(c) for c in cleaned):
        raise Refusal(f"Your {what} is empty. Please write something.", field=field)
    if len(cleaned) < MIN_LENGTH:
        raise Refusal(f"Your {what} is too short. Please say a little more.", field=field)
    if len(cleaned) > limit:
        raise Refusal(
            f"Your {what} is {len(cleaned)} characters long; the limit is {limit}. Please shorten it.",
            field=field,
            written=cleaned,
        )
    return cleaned


def _visible(character: str) -> bool:
    """False for what shows as nothing on its own: spaces, zero-width and format characters, controls and
    combining marks (text made only of these would be stored as a blank idea or question)."""
    return unicodedata.category(character)[0] not in "ZCM"
