"""Reading a command's arguments one piece at a time, with friendly refusals."""

from __future__ import annotations

import re

from dialogue.errors import Refusal

# "anon", "anonymous" or "anonymously" before the words, however people write it: "anon:", "(anon)",
# "Anon -", "anonymous," (a form missed would post the words under the person's name).
_ANONYMOUS = re.compile(r"[(\[]?(?:anonymously|anonymous|anon)[)\]]?(?:\s*[:,\-–—]\s*|\s+|$)", re.IGNORECASE)


def says_anonymous(text: str) -> bool:
    """Whether ``text`` starts by asking for anonymity (see :meth:`Args.anonymous`)."""
    return _ANONYMOUS.match(text.strip()) is not None


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
