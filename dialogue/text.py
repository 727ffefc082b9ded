"""Rich text as a sequence of spans, so user-written words stay marked for escaping."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class UserText:
    """Words a person wrote. Every adapter escapes these before showing them to anyone."""

    text: str


Span = str | UserText


@dataclass(frozen=True)
class Text:
    """Message text: literal spans written by the bot and :class:`UserText` spans."""

    spans: tuple[Span, ...] = ()

    def plain(self) -> str:
        """The text with no markup and no escaping (the plain-text fallback)."""
        return "".join(s if isinstance(s, str) else s.text for s in self.spans)

    def __add__(self, other: Text | Span) -> Text:
        if isinstance(other, Text):
            return Text(self.spans + other.spans)
        return Text((*self.spans, other))

    def __bool__(self) -> bool:
        return any((s if isinstance(s, str) else s.text) for s in self.spans)


def t(*spans: Span | Text) -> Text:
    """Build a :class:`Text` from literal strings, user text and other texts."""
    out: list[Span] = []
    for span in spans:
        if isinstance(span, Text):
            out.extend(span.spans)
        else:
            out.append(span)
    return Text(tuple(out))


def user(text: str) -> UserText:
    """Mark ``text`` as written by a person."""
    return UserText(text)


def lines(*parts: Text | str) -> Text:
    """Join texts with newlines."""
    out: list[Span | Text] = []
    for i, part in enumerate(parts):
        if i:
            out.append("\n")
        out.append(part)
    return t(*out)


def same_words(a: str, b: str) -> bool:
    """Whether two texts say the same, case, spacing, quotes and end punctuation aside: a question sent
    twice, or a button's words typed ("*Share anonymously*")."""
    return _folded(a) == _folded(b)


def _folded(text: str) -> str:
    return " ".join(text.replace("’", "'").casefold().strip(" .!?*\"“”'").split())
