"""Finding a pulse, check-in or campaign by the name someone typed on a phone.

Phones type curly apostrophes ("Director’s"), people drop them ("Directors") or type only the start
("monday") or a word of it ("wellbeing"): a name matches when it is the same once case, spaces, quotes and
punctuation are set aside, or, failing that, when it starts only one name, or else is inside only one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import TypeVar

from dialogue.errors import Refusal

T = TypeVar("T")
_NOT_LETTERS = re.compile(r"[\W_]+")


def loose(name: str) -> str:
    """``name`` as letters and digits only, in one case ("Director’s check-in" -> "directorscheckin")."""
    return _NOT_LETTERS.sub("", unicodedata.normalize("NFKC", name).casefold())


def best_match(typed: str, things: Sequence[T], name: Callable[[T], str], what: str) -> T | None:
    """The one thing whose name ``typed`` means (see the module's rule); None if none. Refuses, naming them,
    when ``typed`` starts more than one name and equals none."""
    wanted = loose(typed)
    if not wanted:
        return None
    same = [thing for thing in things if loose(name(thing)) == wanted]
    if same:
        return same[0]
    starting = [thing for thing in things if loose(name(thing)).startswith(wanted)]
    # "wellbeing" for "Staff wellbeing pulse": a word inside the name, when no name starts so.
    found = starting or [thing for thing in things if wanted in loose(name(thing))]
    if len(found) > 1:
        names = ", ".join(f"“{name(thing)}”" for thing in found)
        raise Refusal(f"“{typed}” could be the {what} {names}: please give the whole name.")
    return found[0] if found else None
