"""A conversation with the bot in the terminal: one person at a time, with a movable clock.

Lines starting with ``/`` are console controls (switch person, move the clock); a bare
number answers the choices shown to the current person (see :meth:`ConsoleSender.last_choices`);
while a form is open the next lines fill its fields; anything else is said to the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
import threading
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol

from adapters.console.render import OptionPick, block, clean, picks, render, render_field, render_form
from adapters.console.sender import PLATFORM, ConsoleSender, Shown
from dialogue.commands import lookup
from dialogue.events import Chose, Event, Identity, Said, Submitted, ThreadReply
from dialogue.messages import FieldKind, Form, FormField, Message, Reply

TENANT = "local"
MAX_ADVANCE = timedelta(weeks=52)  # moving further would play a year of schedules at once

_HANDLE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_DURATION_PART = re.compile(r"(\d+)([wdhm])")
_MINUTES = {"w": 7 * 24 * 60, "d": 24 * 60, "h": 60, "m": 1}

LEAVE_WORDS = ("quit", "exit")
HELP = """\
Console controls (everything else you type goes to the bot; type "help" for what it can do):
  /as HANDLE        become someone else, e.g. /as ben
  /clock +7d        move the clock on (+90m, +36h, +7d, +2w, or combined like +1d12h);
                    scheduled pulses, check-ins and reminders due meanwhile are sent
  /now              show the time
  /reply KEY TEXT   reply in a question's thread, e.g. /reply question:12 Thanks!
  /others           the rest of the staff answer the pulses and check-ins waiting for them, with
                    made-up answers, so results have something to show (five must answer in a team)
  /cancel           close an open form without sending it
  /help             this list
  /quit             leave (so do quit and exit on their own, and Ctrl-D)
  A number on its own answers the last buttons you were shown, e.g. 4.
  While a form is open, each line fills the next field; type - to skip an optional one."""


@dataclass(frozen=True)
class Answered:
    """What ``/others`` did: who answered (handles), how many staff had something to answer, and how many
    answered each pulse or check-in (by name)."""

    handles: tuple[str, ...]
    asked: int
    surveys: tuple[tuple[str, int], ...]
    refused: str = ""  # why nobody was made to answer


class ConsoleHost(Protocol):
    """What the console needs from the running bot (the composition root provides it)."""

    async def handle(self, event: Event) -> Reply:
        """Pass one event to the core and return its reply."""
        ...

    async def advance(self, delta: timedelta) -> None:
        """Move the clock on by ``delta``, firing schedules and delivering messages due meanwhile."""
        ...

    async def settle(self) -> None:
        """Deliver every outbox message that is due now (they print through the sender)."""
        ...

    def now(self) -> datetime:
        """The bot's current time (timezone-aware)."""
        ...

    async def knows(self, handle: str) -> bool:
        """Whether someone in the directory has ``handle``."""
        ...

    async def others_answer(self, handle: str) -> Answered:
        """Have the staff other than ``handle`` answer what waits for them, with made-up answers."""
        ...

    async def mark(self) -> int:
        """Where the outbox stands now (see :meth:`news`)."""
        ...

    async def news(self, handle: str, *, after: int | None, until: int) -> list[Message]:
        """Messages without buttons earlier runs sent ``handle`` between two marks (after ``after``, from the
        start when None), oldest first."""
        ...

    async def still_to_pick(self, handle: str) -> list[tuple[str, Message]]:
        """Messages an earlier console run printed to ``handle`` that still have buttons, oldest first, as
        ``(ref, message)``."""
        ...


class ScriptError(ValueError):
    """A transcript line the console cannot read."""


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdecimal()


def console_identity(handle: str) -> Identity:
    """The identity of a console user: the handle is the platform user id."""
    return Identity(PLATFORM, TENANT, handle.lower())


def parse_duration(spec: str) -> timedelta:
    """Read ``+7d``, ``36h``, ``+90m``, ``+2w`` or ``+1d12h``; raise ValueError with a helpful message."""
    body = spec.strip().removeprefix("+")
    parts = _DURATION_PART.findall(body)
    if not body or "".join(n + u for n, u in parts) != body:
        raise ValueError(
            f'cannot read "{clean(spec)}": use +90m, +36h, +7d or +2w (m minutes, h hours, d days, w weeks)'
        )
    # Whole minutes first: a huge number would overflow timedelta before we could refuse it.
    minutes = sum(int(number) * _MINUTES[unit] for number, unit in parts)
    if minutes <= 0:
        raise ValueError("the clock only moves forward: give a positive amount, e.g. +1h")
    if minutes > MAX_ADVANCE / timedelta(minutes=1):
        raise ValueError(f"that is too far: the clock moves at most {MAX_ADVANCE.days // 7} weeks at a time")
    return timedelta(minutes=minutes)


@dataclass
class _OpenForm:
    """A form being filled in line by line."""

    form: Form
    todo: list[FormField]
    clicked: str | None  # ref of the message the form was opened from (for its in-place update)
    values: dict[str, str] = field(default_factory=dict)


class ConsoleSession:
    """Turns console input lines into core events and prints what comes back."""

    def __init__(
        self,
        host: ConsoleHost,
        sender: ConsoleSender,
        *,
        handle: str,
        write: Callable[[str], None],
        zone: tzinfo = UTC,
        seen: dict[str, int] | None = None,
    ) -> None:
        self.host = host
        self.sender = sender
        self.handle = handle.lower()
        # For each handle, the outbox mark up to which earlier runs showed their messages (None: earlier
        # runs' messages without buttons are not looked for, as in a transcript, which prints everything).
        self.seen = seen
        self._started: int | None = None  # the mark this run began at: later messages reach its sender
        self._visited: set[str] = set()
        self.finished = False  # set by /quit
        self._write = write
        self._zone = zone
        self._forms: dict[str, _OpenForm] = {}  # per handle: people keep their half-filled forms
        sender.watch(self.handle)

    def prompt(self) -> str:
        """The input prompt: who you are and the bot's time, e.g. ``[alice @ Mon 23 Nov 09:00] > ``."""
        return f"[{self.handle} @ {self._short_time(self.host.now())}] > "

    async def switch(self, handle: str) -> None:
        """Act as ``handle`` from now on, first showing what they were sent meanwhile (focus mode), and what
        an earlier console run sent them that still waits for a tap (so a pulse sent in one run is answered
        by number in the next)."""
        await self.leave()
        self.handle = handle.lower()
        self.sender.watch(self.handle)
        if self.seen is not None and self._started is not None and self.handle not in self._visited:
            news = await self.host.news(self.handle, after=self.seen.get(self.handle), until=self._started)
            if news:
                self._note(f"{_count(len(news), 'message')} came for {self.handle} in an earlier run:")
                for message in news:
                    self._write(render(self.handle, message))
        self._visited.add(self.handle)
        earlier = [
            (ref, m) for ref, m in await self.host.still_to_pick(self.handle) if not self.sender.knows(ref)
        ]
        if earlier:
            waits = "waits" if len(earlier) == 1 else "wait"
            self._note(f"{_count(len(earlier), 'message')} from before still {waits} for your answer:")
            for ref, message in earlier:
                self._write(self.sender.recall(ref, self.handle, message))
        waiting = self.sender.catch_up(self.handle)
        if waiting:
            self._note(f"{_count(len(waiting), 'message')} came for {self.handle} while you were away:")
            for text in waiting:
                self._write(text)

    async def begin(self) -> None:
        """Mark where the outbox stands as this run begins: what comes later reaches this run's sender."""
        if self.seen is not None:
            self._started = await self.host.mark()

    async def leave(self) -> None:
        """Note that the current person has seen everything sent them so far (on switching, and at the end of
        the run, when :attr:`seen` is saved for the next)."""
        if self.seen is not None and self._started is not None and self.handle in self._visited:
            self.seen[self.handle] = await self.host.mark()

    def echo(self, text: str) -> None:
        """Print an input line the way transcripts show it: ``<- handle: text``."""
        self._write(f"<- {self.handle}: {clean(text)}")

    async def feed(self, line: str) -> None:
        """Handle one line of input from the current person."""
        text = line.strip()
        if not text:
            return
        if text.startswith("/") and await self._control(text):
            return
        form = self._forms.get(self.handle)
        if form is not None:
            await self._fill(form, text)
            return
        if text.lower() in LEAVE_WORDS:  # the bot has no such command; someone typing it wants out
            await self._control("/quit")
            return
        shown = self.sender.last_choices(self.handle)
        if shown is not None and _is_number(text):
            await self._pick(shown, text)
            return
        await self._send(Said(who=self._who(), text=text), clicked=None)

    # -- console controls ------------------------------------------------------------------

    async def _control(self, text: str) -> bool:
        """Run a console control; False when ``text`` is a slash command (``/idea ...`` goes to the bot)."""
        word, _, rest = text.partition(" ")
        rest = rest.strip()
        match word.lower():
            case "/as":
                if not _HANDLE.fullmatch(rest):
                    self._error("say who to become, e.g. /as ben")
                    return True
                if not await self.host.knows(rest):
                    # Becoming them would add a new person to the directory for good: a typo, most likely.
                    self._error(f"nobody here has the handle {rest.lower()}; people come from the directory")
                    return True
                self._note(f"you are now {rest.lower()}")
                await self.switch(rest)
                form = self._forms.get(self.handle)
                if form is not None:
                    self._ask(form)
            case "/clock":
                try:
                    delta = parse_duration(rest)
                except ValueError as exc:
                    self._error(str(exc))
                    return True
                self._note(f"moving the clock on {rest} to {self._long_time(self.host.now() + delta)}")
                await self.host.advance(delta)
                self._report_held()
            case "/others":
                await self._others()
            case "/now":
                self._note(f"it is {self._long_time(self.host.now())}")
            case "/help":
                self._write(HELP)
            case "/quit" | "/exit":
                self.finished = True
                self._note("bye")
            case "/cancel":
                if self._forms.pop(self.handle, None) is None:
                    self._error("there is no open form to cancel")
                else:
                    self._note("form closed without sending")
            case "/reply":
                thread, _, reply = rest.partition(" ")
                if not thread or not reply.strip():
                    self._error("say which thread and what to reply, e.g. /reply question:12 Thanks!")
                    return True
                event = ThreadReply(who=self._who(), thread=thread, text=reply.strip())
                await self._send(event, clicked=None)
            case _ if lookup(word) is not None:
                return False  # a slash command, as in Slack: /idea ... goes to the bot
            case _:
                # Sent on, a typo such as /hepl would become the answer to whatever the bot last asked.
                self._error(f"{clean(word)} is not a console control or a command; /help lists them")
        return True

    async def _others(self) -> None:
        answered = await self.host.others_answer(self.handle)
        if answered.refused:
            self._error(answered.refused)
            return
        if not answered.asked:
            self._note(
                "nobody else on the staff has pulse or check-in questions waiting: move the clock on until "
                "one is sent (/clock +1h)"
            )
            return
        for handle in answered.handles:  # what they were sent and answered is theirs, and made up
            self.sender.catch_up(handle)
        self.sender.take_held()
        left = answered.asked - len(answered.handles)
        if not answered.handles:
            who = "the one person" if left == 1 else f"all {left} people"
            self._note(f"{who} with questions waiting left them unanswered, as some always do")
            return
        each = " and ".join(f"{count} to “{name}”" for name, count in answered.surveys)
        rest = f"; {left} answered nothing, as some never do" if left else ""
        self._note(
            f"{len(answered.handles)} of the {answered.asked} staff with questions waiting gave made-up "
            f"answers: {each}{rest}"
        )

    # -- choices and forms -----------------------------------------------------------------

    async def _pick(self, shown: Shown, key: str) -> None:
        available = picks(shown.message)
        chosen = next((p for p in available if p.key == str(int(key))), None)
        if chosen is None:
            keys = ", ".join(p.key for p in available)
            self._error(f"{key} is not one of the choices shown ({keys})")
            return
        newest = self.sender.newest_choices(self.handle)
        if newest is not None and newest.ref != shown.ref:
            # Not the last buttons printed: say which message the number answers.
            first = shown.message.fallback().splitlines()[0]
            self._note(f"answering the earlier message “{clean(first)[:60]}”")
        self.sender.picked(self.handle, shown.ref)
        if isinstance(chosen, OptionPick):
            event = Chose(
                who=self._who(),
                action=chosen.choices.action,
                ref=chosen.choices.ref,
                value=chosen.option.value,
            )
            await self._send(event, clicked=shown.ref)
        else:
            self._open(chosen.form, clicked=shown.ref)

    def _open(self, form: Form, *, clicked: str | None) -> None:
        self._write(block(self.handle, render_form(form)))
        if not form.fields:
            self._forms.pop(self.handle, None)
            return
        open_form = _OpenForm(form=form, todo=list(form.fields), clicked=clicked)
        self._forms[self.handle] = open_form
        self._note("answer one field per line (/cancel to stop)")
        self._ask(open_form)

    def _ask(self, form: _OpenForm) -> None:
        current = form.todo[0]
        number = form.form.fields.index(current) + 1
        hint = "  (type - to skip)" if not current.required else ""
        self._note(f"{clean(form.form.title)}: {render_field(number, current)}{hint}")

    async def _fill(self, form: _OpenForm, text: str) -> None:
        current = form.todo[0]
        if text == "-":
            if current.required:
                self._error(f"{clean(current.label)} is required")
                return
            value = ""
        elif current.kind is FieldKind.SELECT and current.options:
            index = int(text) - 1 if _is_number(text) else -1
            if not 0 <= index < len(current.options):
                self._error(f"answer with a number from 1 to {len(current.options)}")
                return
            value = current.options[index].value
        else:
            value = text
        form.values[current.name] = value
        form.todo.pop(0)
        if form.todo:
            self._ask(form)
            return
        del self._forms[self.handle]
        event = Submitted(who=self._who(), form=form.form.form, ref=form.form.ref, values=dict(form.values))
        reply = await self.host.handle(event)
        await self._show(reply, clicked=form.clicked)
        if reply.form_errors:
            self._reopen(form, reply.form_errors)
        await self.host.settle()
        self._report_held()

    def _reopen(self, form: _OpenForm, errors: dict[str, str]) -> None:
        for name, problem in errors.items():
            label = next((f.label for f in form.form.fields if f.name == name), name)
            self._error(f"{clean(label)}: {clean(problem)}")
        bad = [f for f in form.form.fields if f.name in errors] or list(form.form.fields)
        form.todo = bad
        self._forms[self.handle] = form
        self._ask(form)

    # -- talking to the core ---------------------------------------------------------------

    async def _send(self, event: Event, *, clicked: str | None) -> None:
        reply = await self.host.handle(event)
        await self._show(reply, clicked=clicked)
        await self.host.settle()
        self._report_held()

    async def _show(self, reply: Reply, *, clicked: str | None) -> None:
        # The in-place update comes first: it happened to the message clicked, before any answer.
        if reply.replace is not None:
            if clicked is not None:
                await self.sender.update(ref=clicked, message=reply.replace)
            else:
                self.sender.show(self.handle, reply.replace, updated=True)
        for message in reply.messages:
            self.sender.show(self.handle, message)
        if reply.form is not None and not reply.form_errors:
            self._open(reply.form, clicked=clicked)

    # -- output helpers --------------------------------------------------------------------

    def _report_held(self) -> None:
        messages, people, anonymous = self.sender.take_held()
        # An anonymous author is not named here, where the screen may be shown to a room.
        author = f" and {_count(anonymous, 'message')} to an anonymous author" if anonymous else ""
        named = _count(messages - anonymous, "message")
        if len(people) > 3:
            self._note(f"{named} went to {len(people)} other people{author}; /as HANDLE shows theirs")
        elif people:
            self._note(f"{named} went to {', '.join(people)}{author}; /as {people[0]} shows theirs")
        elif anonymous:
            self._note(f"{_count(anonymous, 'message')} went to an anonymous author, not named here")

    def _who(self) -> Identity:
        return console_identity(self.handle)

    def _note(self, text: str) -> None:
        self._write(f"-- {text}")

    def _error(self, text: str) -> None:
        self._write(f"!! {text}")

    def _short_time(self, when: datetime) -> str:
        local = when.astimezone(self._zone)
        return f"{local:%a} {local.day} {local:%b %H:%M}"

    def _long_time(self, when: datetime) -> str:
        local = when.astimezone(self._zone)
        return f"{local:%a} {local.day} {local:%b %Y %H:%M} ({self._zone})"


# -- transcripts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ScriptLine:
    """One step of a transcript: ``handle`` is None for a console control line."""

    number: int
    handle: str | None
    text: str


_SCRIPT_LINE = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*):\s*(.*)")


def parse_script(lines: Iterable[str]) -> list[ScriptLine]:
    """Read a transcript of ``handle: text`` and ``/control`` lines (blanks and ``#`` comments skipped)."""
    steps: list[ScriptLine] = []
    for number, raw in enumerate(lines, start=1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        if text.startswith("/"):
            steps.append(ScriptLine(number, None, text))
            continue
        match = _SCRIPT_LINE.fullmatch(text)
        if match is None or not match.group(2):
            raise ScriptError(f'line {number}: expected "handle: text" or a /control, got "{clean(text)}"')
        steps.append(ScriptLine(number, match.group(1).lower(), match.group(2)))
    return steps


def script_handles(steps: Iterable[ScriptLine]) -> list[str]:
    """Every handle a transcript speaks as or switches to, in order of first use."""
    found: dict[str, None] = {}
    for step in steps:
        if step.handle is not None:
            found[step.handle] = None
        elif step.text.lower().startswith("/as "):
            found[step.text[4:].strip().lower()] = None
    return list(found)


async def play_script(lines: Iterable[str], session: ConsoleSession) -> None:
    """Play a transcript, echoing each input as ``<- handle: text`` before the bot's ``->`` output."""
    for step in parse_script(lines):
        if step.handle is not None:
            await session.switch(step.handle)
        session.echo(step.text)
        await session.feed(step.text)
        if session.finished:
            return


# -- interactive use -----------------------------------------------------------------------


async def read_line(prompt: str) -> str:
    """Read a line from stdin without blocking the event loop; raises EOFError at end of input.

    ``input`` runs in a daemon thread rather than the default executor, because a thread
    of that executor still blocked in ``input`` would hold up the exit after Ctrl-C.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[str] = loop.create_future()

    def deliver(result: str | None, error: BaseException | None) -> None:
        if future.done():  # cancelled meanwhile (Ctrl-C)
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result or "")

    def work() -> None:
        try:
            result, error = input(prompt), None
        except (EOFError, OSError, ValueError) as exc:  # end of input, or stdin closed
            result, error = None, exc
        with contextlib.suppress(RuntimeError):  # the loop is already closed: nobody is waiting
            loop.call_soon_threadsafe(deliver, result, error)

    threading.Thread(target=work, name="console-input", daemon=True).start()
    return await future


async def run_interactive(
    session: ConsoleSession,
    *,
    read: Callable[[str], Awaitable[str]] = read_line,
    report: Callable[[str], None] | None = None,
) -> None:
    """Read lines until ``/quit`` or end of input (Ctrl-D), feeding each to the session.

    An error inside the bot is reported (to ``report``, when given) and the conversation
    goes on, so one failing command does not end a demo; without ``report`` it propagates.
    """
    with contextlib.suppress(ImportError):  # not available on Windows; input() still works
        import readline  # noqa: F401  (importing it is what gives input() line editing)
    restore_terminal = _terminal_saver()
    try:
        while not session.finished:
            try:
                line = await read(session.prompt())
            except EOFError:
                await session.feed("/quit")
                break
            try:
                await session.feed(line)
            except Exception as exc:
                if report is None:
                    raise
                report(f"!! the bot failed on that line: {type(exc).__name__}: {exc}")
    finally:
        # Ctrl-C ends the program while readline, in the reading thread, has the terminal in
        # raw mode; without this the shell would be left without echo.
        restore_terminal()


def _terminal_saver() -> Callable[[], None]:
    """A function that puts the terminal settings back as they are now (does nothing without a terminal)."""
    try:
        import termios
    except ImportError:  # Windows: its console needs no restoring
        return lambda: None
    try:
        fd = sys.stdin.fileno()
        saved = termios.tcgetattr(fd)
    except (termios.error, OSError, ValueError):  # stdin is a pipe or a file
        return lambda: None

    def restore() -> None:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)

    return restore
