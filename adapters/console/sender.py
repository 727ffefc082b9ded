"""The console's outbound side: prints messages and remembers what can be answered by number."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from adapters.console.render import block, message_lines, picks, render
from dialogue.messages import Message
from dialogue.outbox import Address, Undeliverable

PLATFORM = "console"


@dataclass(frozen=True)
class Shown:
    """A message printed to ``target`` (a handle or ``#channel``) under ``ref``."""

    ref: str
    target: str
    message: Message
    seq: int  # print order, to tell which of two messages came last


class ConsoleSender:
    """Implements :class:`dialogue.ports.Sender` by printing to the terminal (or a list, in tests).

    ``session`` makes refs unique across runs that share a database, so an update of a
    message printed by an earlier run is never drawn over a message of this run.
    """

    platform = PLATFORM

    def __init__(self, write: Callable[[str], None], *, session: str = "") -> None:
        self._write = write
        self._prefix = f"{PLATFORM}:{session}." if session else f"{PLATFORM}:"
        self._shown: dict[str, Shown] = {}
        self._last: dict[str, str] = {}  # target -> ref of the last message with something to pick
        self._refs = 0
        self._seq = 0

    async def send(self, *, to: Address, message: Message) -> str:
        """Print ``message`` to the person (``identity.user_id`` is the handle) or the channel."""
        if to.identity is not None:
            return self.show(to.identity.user_id, message)
        if to.channel:
            return self.show(f"#{to.channel}", message)
        raise Undeliverable("a console message needs a person or a channel")

    async def update(self, *, ref: str, message: Message) -> None:
        """Print the new version of message ``ref``, marked as updated."""
        shown = self._shown.get(ref)
        if shown is None:
            # Printed by an earlier run: we no longer know to whom, but the change is still news.
            self._write(block("earlier message", message_lines(message), updated=True))
            return
        self._remember(shown.target, message, ref)
        self._write(render(shown.target, message, updated=True))

    def show(self, target: str, message: Message, *, updated: bool = False) -> str:
        """Print ``message`` to ``target`` (a handle or ``#channel``) and return its new ref."""
        self._refs += 1
        ref = f"{self._prefix}{self._refs}"
        self._remember(target, message, ref)
        self._write(render(target, message, updated=updated))
        return ref

    def last_choices(self, handle: str) -> Shown | None:
        """The last message shown to ``handle`` that can be answered by number.

        Channel messages are seen by everyone, so they count for every person.
        """
        candidates = [self._shown[ref] for ref in self._last.values()]
        mine = [s for s in candidates if s.target == handle or s.target.startswith("#")]
        return max(mine, key=lambda s: s.seq, default=None)

    def _remember(self, target: str, message: Message, ref: str) -> None:
        self._seq += 1
        self._shown[ref] = Shown(ref=ref, target=target, message=message, seq=self._seq)
        if picks(message):
            self._last[target] = ref
        elif self._last.get(target) == ref:
            # The message lost its buttons (e.g. a closed pulse): numbers no longer answer it.
            del self._last[target]
