"""Reading a command's arguments one piece at a time, with friendly refusals."""

from __future__ import annotations

import re

from dialogue.errors import Refusal

# "anon", "anonymous" or "anonymously" before the words, however people write it: "anon:", "(anon)",
# "Anon -", "*anon*", "anon.", "annon" (a form missed would post the words under the person's name).
_MARKS = "*_'\"`“”‘’"
_ANONYMOUS = re.compile(
    rf"[{_MARKS}(\[]*(?:anonymously|anonymous|annon|anon)[{_MARKS})\]]*(?:[\s.,:;!?\-–—…]+|$)", re.IGNORECASE
)
# Words near the start that ask for anonymity in a form not understood: nothing is posted then.
_SOUNDS_ANONYMOUS = re.compile(
    r"\b(?:an+on\w*|anonym\w*|privately|confidential\w*|in confidence|off the record|secretly"
    # Plain words for it: "no name please", "without my name", "don’t use my name", "leave my name off".
    r"|no names?|without (?:my )?names?|without naming me"
    r"|(?:don[’']?t|do not|dont) (?:\w+ )?(?:my name|name me)"
    r"|(?:hide|withhold|leave|keep) my name|my name (?:off|out)|not my name|not be named|nameless|unnamed)\b",
    re.IGNORECASE,
)


def says_anonymous(text: str) -> bool:
    """Whether ``text`` starts by asking for anonymity (see :meth:`Args.anonymous`)."""
    return _ANONYMOUS.match(text.strip()) is not None


_BARE_ANONYMOUS = re.compile(r"anonymous\s+\w", re.IGNORECASE)


def may_be_the_words(text: str) -> bool:
    """Whether a leading "anonymous" could as well be the first word of what follows ("Anonymous surveys twice
    a year", "Anonymous feedback from families ..."): the bare word, then more words, with nothing between."""
    return _BARE_ANONYMOUS.match(text.strip()) is not None


def not_understood(command: str, what: str) -> str:
    """The answer to words that mention anonymity in a form :func:`sounds_anonymous` caught."""
    return (
        "That mentions being anonymous, so nothing was posted with your name. "
        f"Send `{command} anon <{what}>` to stay anonymous, or `{command} <{what}>` to put your name to it."
    )


def sounds_anonymous(text: str) -> bool:
    """Whether the first words of ``text`` mention anonymity ("ask privately: ...", "idea anonymos ...", "no
    name please ..."): a named post would then not be what its writer meant."""
    return _SOUNDS_ANONYMOUS.search(" ".join(text.split()[:8])) is not None


class Args:
    """The words after a command name."""

    def __init__(self, text: str, *, usage: str = "") -> None:
        self._text = text.strip()
        self.usage = usage

    def _missing(self, what: str) -> Refusal:
        hint = f" Usage: `{self.usage}`" if self.usage else ""
        return Refusal(f"Please give {what}.{hint}")

    @property
    def empty(self) -> bool:
        """True when nothing is left."""
        return not self._text

    def peek(self) -> str:
        """The next word, lower-cased, without taking it ('' when none)."""
        return self._text.split(maxsplit=1)[0].lower() if self._text else ""

    def word(self, what: str) -> str:
        """Take the next word."""
        if not self._text:
            raise self._missing(what)
        parts = self._text.split(maxsplit=1)
        self._text = parts[1] if len(parts) > 1 else ""
        return parts[0]

    def flag(self, *words: str) -> bool:
        """Take the next word if it is one of ``words`` (case-insensitive)."""
        if self.peek() in words:
            self.word("")
            return True
        return False

    def anonymous(self) -> bool:
        """Take a leading "anon" (or "anonymous", "anon:", "(anon)"...) if there is one."""
        found = _ANONYMOUS.match(self._text)
        if found is None:
            return False
        self._text = self._text[found.end() :].strip()
        return True

    def number(self, what: str) -> int:
        """Take a number such as ``12`` or ``#12``."""
        word = self.word(what)
        digits = word.lstrip("#")
        if not digits.isdigit() or len(digits) > 9:
            raise Refusal(f"{word!r} is not a number. Please give {what}, like `12`.")
        return int(digits)

    def rest(self) -> str:
        """Take everything that is left (may be empty)."""
        text, self._text = self._text, ""
        return text
