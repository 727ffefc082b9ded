"""Long messages in parts: a digest of many written answers, results or an idea with a long thread must
reach people whole, not cut where a platform's limit falls."""

from __future__ import annotations

from dataclasses import replace

from dialogue.limits import utf16_units
from dialogue.messages import Message, Reply
from dialogue.outbox import NewDelivery
from dialogue.text import Span, Text, UserText

# Text one message may hold, in UTF-16 units after escaping (see :func:`units`): well under what Slack
# draws in one message's blocks (12,000) and what fits a Teams card (24 KB as UTF-16, with the card
# around it).
PAGE = 6000
# Slack writes &, < and > as &amp;, &lt; and &gt; (https://api.slack.com/reference/surfaces/formatting
# #escaping), and its limits count the entities: "R&D" costs 7, and a page of them five times its length.
_ESCAPED = {"&": 5, "<": 4, ">": 4}


def units(text: str) -> int:
    """What ``text`` costs against a platform's limit: its UTF-16 units, with &, < and > as escaped."""
    return utf16_units(text) + sum((cost - 1) * text.count(mark) for mark, cost in _ESCAPED.items())


def pages(message: Message, limit: int = PAGE) -> tuple[Message, ...]:
    """``message`` as one or more messages whose text fits ``limit``, split between lines (inside a line
    only if the line alone is longer). The first part keeps the message's thread anchor, the last its
    choices, form and context; every part after the first says which part it is."""
    if units(message.text.plain()) <= limit:
        return (message,)
    chunks = _chunks(message.text, limit - 40)  # room for the "(part 2 of 3)" line
    count = len(chunks)
    parts = []
    for n, chunk in enumerate(chunks, start=1):
        text = chunk if n == 1 else Text((f"(part {n} of {count})\n", *chunk.spans))
        if n == 1:
            parts.append(replace(message, text=text, choices=(), form=None, context=""))
        elif n == count:
            parts.append(replace(message, text=text, anchor=None))
        else:
            parts.append(Message(text, thread=message.thread))
    return tuple(parts)


def paged_reply(reply: Reply) -> Reply:
    """``reply`` with each of its messages in parts (the message it replaces in place cannot be split)."""
    if all(len(pages(m)) == 1 for m in reply.messages):
        return reply
    return replace(reply, messages=tuple(part for m in reply.messages for part in pages(m)))


def paged_deliveries(deliveries: list[NewDelivery]) -> list[NewDelivery]:
    """Each delivery of a long message as one delivery a part, in order (keys ``KEY``, ``KEY:part2``...);
    an update in place cannot be split."""
    out: list[NewDelivery] = []
    for delivery in deliveries:
        parts = pages(delivery.message) if delivery.replaces is None else (delivery.message,)
        out.append(replace(delivery, message=parts[0]))
        out.extend(
            replace(delivery, key=f"{delivery.key}:part{n}", message=part)
            for n, part in enumerate(parts[1:], 2)
        )
    return out


def _lines(text: Text) -> list[list[Span]]:
    """The text's lines, each as its spans (a person's words stay marked as theirs)."""
    lines: list[list[Span]] = [[]]
    for span in text.spans:
        raw = span if isinstance(span, str) else span.text
        for n, part in enumerate(raw.split("\n")):
            if n:
                lines.append([])
            if part:
                lines[-1].append(_like(span, part))
    return lines


def _pieces(line: list[Span], limit: int) -> list[list[Span]]:
    """A line in pieces of at most ``limit`` (one piece when it fits)."""
    if sum(units(_raw(s)) for s in line) <= limit:
        return [line]
    pieces: list[list[Span]] = [[]]
    room = limit
    for span in line:
        cut: list[str] = []
        for character in _raw(span):
            cost = units(character)
            if cost > room and (cut or pieces[-1]):
                if cut:
                    pieces[-1].append(_like(span, "".join(cut)))
                pieces.append([])
                cut, room = [], limit
            cut.append(character)
            room -= cost
        if cut:
            pieces[-1].append(_like(span, "".join(cut)))
    return pieces


def _like(span: Span, text: str) -> Span:
    """``text`` as the same kind of span as ``span`` (a person's words stay marked as theirs)."""
    return text if isinstance(span, str) else UserText(text)


def _raw(span: Span) -> str:
    return span if isinstance(span, str) else span.text


def _chunks(text: Text, limit: int) -> list[Text]:
    chunks: list[list[Span]] = [[]]
    used = 0
    for line in _lines(text):
        for piece in _pieces(line, limit):
            size = sum(units(_raw(s)) for s in piece) + 1
            if chunks[-1] and used + size > limit:
                chunks.append([])
                used = 0
            chunks[-1].extend(["\n", *piece] if chunks[-1] else piece)
            used += size
    return [Text(tuple(chunk)) for chunk in chunks]
