"""Long messages in parts: a digest of many written answers, results or an idea with a long thread must
reach people whole, not cut where a platform's limit falls."""

from __future__ import annotations

from dataclasses import replace

from dialogue.limits import utf16_units
from dialogue.messages import Message, Reply
from dialogue.outbox import NewDelivery
from dialogue.text import Span, Text, UserText

# Text one message may hold, in UTF-16 units: well under what Slack draws in one message's blocks
# (12,000, after escaping) and what fits a Teams card (24 KB as UTF-16, with the card around it).
PAGE = 6000


def pages(message: Message, limit: int = PAGE) -> tuple[Message, ...]:
    """``message`` as one or more messages whose text fits ``limit``, split between lines (inside a line
    only if the line alone is longer). The first part keeps the message's thread anchor, the last its
    choices, form and context; every part after the first says which part it is."""
    if utf16_units(message.text.plain()) <= limit:
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
                lines[-1].append(part if isinstance(span, str) else UserText(part))
    return lines


def _pieces(line: list[Span], limit: int) -> list[list[Span]]:
    """A line in pieces of at most ``limit`` (one piece when it fits)."""
    if sum(utf16_units(_raw(s)) for s in line) <= limit:
        return [line]
    pieces: list[list[Span]] = [[]]
    room = limit
    for span in line:
        raw = _raw(span)
        while raw:
            if room <= 0:
                pieces.append([])
                room = limit
            # A surrogate pair counts twice.
            cut = raw[: room // 2 or 1] if utf16_units(raw[:room]) > room else raw[:room]
            pieces[-1].append(cut if isinstance(span, str) else UserText(cut))
            room -= utf16_units(cut)
            raw = raw[len(cut) :]
    return pieces


def _raw(span: Span) -> str:
    return span if isinstance(span, str) else span.text


def _chunks(text: Text, limit: int) -> list[Text]:
    chunks: list[list[Span]] = [[]]
    used = 0
    for line in _lines(text):
        for piece in _pieces(line, limit):
            size = sum(utf16_units(_raw(s)) for s in piece) + 1
            if chunks[-1] and used + size > limit:
                chunks.append([])
                used = 0
            chunks[-1].extend(["\n", *piece] if chunks[-1] else piece)
            used += size
    return [Text(tuple(chunk)) for chunk in chunks]
