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

    With ``focus``, only messages to the person being watched (see :meth:`watch`) and to
    channels are printed; the others wait until :meth:`catch_up` for their recipient, as
    in a real chat app, so a pulse to a whole organisation does not flood the terminal.
    """

    platform = PLATFORM

    def __init__(self, write: Callable[[str], None], *, session: str = "", focus: bool = False) -> None:
        self._write = write
        self._prefix = f"{PLATFORM}:{session}." if session else f"{PLATFORM}:"
        self._focus = focus
        self._watching: str | None = None
        self._unseen: dict[str, list[str]] = {}  # handle -> rendered messages held back by focus
        self._held: set[str] = set()  # recipients held back since the last :meth:`take_held`
        self._held_count = 0
        self._held_anonymous = 0
        self._shown: dict[str, Shown] = {}
        self._pickable: set[str] = set()  # refs of the messages that still have something to pick
        self._picked: set[tuple[str, str]] = set()  # (handle, ref): that person picked on that message
        self._refs = 0
        self._seq = 0

    async def send(self, *, to: Address, message: Message) -> str:
        """Print ``message`` to the person (``identity.user_id`` is the handle) or the channel."""
        if to.identity is not None:
            return self.show(to.identity.user_id, message, anonymous=to.anonymous)
        if to.channel:
            return self.show(f"#{to.channel}", message)
        raise Undeliverable("a console message needs a person or a channel")

    async def update(self, *, ref: str, message: Message) -> None:
        """Print the new version of message ``ref``, marked as updated."""
        shown = self._shown.get(ref)
        if shown is None:
            # Printed by an earlier run, so we no longer know to whom. A transcript still records
            # the change; a person at the keyboard can no longer see the original, so it is skipped.
            if not self._focus:
                self._write(block("earlier message", message_lines(message), updated=True))
            return
        self._remember(shown.target, message, ref)
        self._output(shown.target, render(shown.target, message, updated=True))

    def show(self, target: str, message: Message, *, updated: bool = False, anonymous: bool = False) -> str:
        """Print ``message`` to ``target`` (a handle or ``#channel``) and return its new ref. ``anonymous``:
        it goes to the author of something anonymous, who is then not named in :meth:`take_held`'s count."""
        self._refs += 1
        ref = f"{self._prefix}{self._refs}"
        self._remember(target, message, ref)
        self._output(target, render(target, message, updated=updated), anonymous=anonymous)
        return ref

    def knows(self, ref: str) -> bool:
        """Whether this run printed (or recalled) message ``ref``."""
        return ref in self._shown

    def recall(self, ref: str, target: str, message: Message) -> str:
        """Take back message ``ref``, printed to ``target`` by an earlier run, so a number picks on it and its
        updates draw; the text to show it again."""
        self._remember(target, message, ref)
        return render(target, message)

    def watch(self, handle: str) -> None:
        """Print messages to ``handle`` as they come (with ``focus``, only theirs and channels')."""
        self._watching = handle

    def catch_up(self, handle: str) -> list[str]:
        """The messages held back for ``handle``, oldest first; they count as seen afterwards."""
        return self._unseen.pop(handle, [])

    def take_held(self) -> tuple[int, list[str], int]:
        """How many messages were held back since the last call, for whom (sorted), and how many of them went
        to anonymous authors (left out of the names: the screen may be shown to a room)."""
        held = (self._held_count, sorted(self._held), self._held_anonymous)
        self._held_count, self._held, self._held_anonymous = 0, set(), 0
        return held

    def _output(self, target: str, text: str, *, anonymous: bool = False) -> None:
        if self._focus and not target.startswith("#") and target != self._watching:
            self._unseen.setdefault(target, []).append(text)
            self._held_count += 1
            if anonymous:
                self._held_anonymous += 1
            else:
                self._held.add(target)
        else:
            self._write(text)

    def last_choices(self, handle: str) -> Shown | None:
        """The message shown to ``handle`` that a number answers: the newest one with something to pick;
        once they have picked on it, the newest of their own they have not picked on yet, if any.

        So a check-in that arrived just before a pulse is answered once the pulse is. Channel messages
        are seen by everyone, so they count for every person, but only while they are the newest.
        """
        newest = self.newest_choices(handle)
        if newest is None or (handle, newest.ref) not in self._picked:
            return newest
        waiting = [
            s for s in self._pickable_by(handle) if s.target == handle and (handle, s.ref) not in self._picked
        ]
        return max(waiting, key=lambda s: s.seq, default=newest)

    def newest_choices(self, handle: str) -> Shown | None:
        """The last message shown to ``handle`` with something to pick, picked on or not."""
        return max(self._pickable_by(handle), key=lambda s: s.seq, default=None)

    def _pickable_by(self, handle: str) -> list[Shown]:
        shown = (self._shown[ref] for ref in self._pickable)
        return [s for s in shown if s.target == handle or s.target.startswith("#")]

    def picked(self, handle: str, ref: str) -> None:
        """``handle`` picked something on message ``ref``: a number now answers the next one first."""
        self._picked.add((handle, ref))

    def _remember(self, target: str, message: Message, ref: str) -> None:
        self._seq += 1
        self._shown[ref] = Shown(ref=ref, target=target, message=message, seq=self._seq)
        if picks(message):
            self._pickable.add(ref)
        else:  # it lost its buttons (e.g. a closed pulse): numbers no longer answer it
            self._pickable.discard(ref)
