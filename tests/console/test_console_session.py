"""ConsoleSession: console controls, numbers to Chose, forms to Submitted, transcripts.

The host is a recording fake of the ConsoleHost port the adapter defines.
"""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime, timedelta

import pytest

from adapters.console.sender import ConsoleSender
from adapters.console.session import (
    ConsoleSession,
    ScriptError,
    parse_duration,
    parse_script,
    play_script,
    run_interactive,
    script_handles,
)
from dialogue.events import Chose, Event, Identity, Said, Submitted, ThreadReply
from dialogue.messages import Choices, ChoiceStyle, FieldKind, Form, FormField, Message, Option, Reply
from dialogue.outbox import Address
from dialogue.text import t

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ALICE = Identity("console", "local", "alice")

SCALE = Choices(
    "pulse.answer",
    "item:7",
    tuple(Option(str(i), str(i)) for i in range(1, 6)),
    ChoiceStyle.SCALE,
    low_label="Strongly disagree",
    high_label="Strongly agree",
)
IDEA_FORM = Form(
    "idea.submit",
    "campaign:1",
    "Share an idea",
    (
        FormField("text", "Your idea", FieldKind.LONG_TEXT),
        FormField(
            "team",
            "Team",
            FieldKind.SELECT,
            required=False,
            options=(Option("Housing", "team:2"), Option("Repairs", "team:3")),
        ),
    ),
)


class FakeHost:
    """Records events and clock moves; replies from a queue; ``settle`` sends queued outbox messages."""

    def __init__(self, sender: ConsoleSender, *replies: Reply) -> None:
        self.sender = sender
        self.replies = deque(replies)
        self.events: list[Event] = []
        self.advanced: list[timedelta] = []
        self.outbox: list[tuple[Address, Message]] = []
        self.settled = 0
        self.clock = START

    async def handle(self, event: Event) -> Reply:
        self.events.append(event)
        return self.replies.popleft() if self.replies else Reply()

    async def knows(self, handle: str) -> bool:
        return handle.lower() != "nobody"

    async def still_to_pick(self, handle: str) -> list[tuple[str, Message]]:
        return []

    async def advance(self, delta: timedelta) -> None:
        self.clock += delta
        self.advanced.append(delta)
        await self.settle()

    async def settle(self) -> None:
        self.settled += 1
        while self.outbox:
            address, message = self.outbox.pop(0)
            await self.sender.send(to=address, message=message)

    def now(self) -> datetime:
        return self.clock


def make(*replies: Reply, focus: bool = False) -> tuple[ConsoleSession, FakeHost, list[str]]:
    out: list[str] = []
    sender = ConsoleSender(out.append, focus=focus)
    host = FakeHost(sender, *replies)
    return ConsoleSession(host, sender, handle="Alice", write=out.append), host, out


async def test_prompt_shows_the_person_and_the_clock() -> None:
    session, _, _ = make()

    assert session.prompt() == "[alice @ Mon 23 Nov 09:00] > "


async def test_as_switches_person() -> None:
    session, host, out = make()

    await session.feed("/as Ben")
    await session.feed("hello")

    assert session.handle == "ben"
    assert out == ["-- you are now ben"]
    assert host.events == [Said(who=Identity("console", "local", "ben"), text="hello")]


async def test_as_without_a_handle_is_an_error() -> None:
    session, _, out = make()

    await session.feed("/as")

    assert session.handle == "alice"
    assert out[0].startswith("!! ")


async def test_clock_moves_time_and_prints_the_new_time() -> None:
    session, host, out = make()

    await session.feed("/clock +7d")

    assert host.advanced == [timedelta(days=7)]
    assert out == ["-- moving the clock on +7d to Mon 30 Nov 2026 09:00 (UTC)"]


async def test_clock_with_bad_syntax_explains_and_does_not_move() -> None:
    session, host, out = make()

    await session.feed("/clock next week")

    assert host.advanced == []
    assert out == [
        '!! cannot read "next week": use +90m, +36h, +7d or +2w (m minutes, h hours, d days, w weeks)'
    ]


@pytest.mark.parametrize(
    ("spec", "delta"),
    [
        ("+7d", timedelta(days=7)),
        ("36h", timedelta(hours=36)),
        ("+90m", timedelta(minutes=90)),
        ("+2w", timedelta(weeks=2)),
        ("+1d12h", timedelta(days=1, hours=12)),
    ],
)
def test_durations(spec: str, delta: timedelta) -> None:
    assert parse_duration(spec) == delta


@pytest.mark.parametrize("spec", ["", "+", "7", "+7x", "-1d", "+0h", "+1d 2h", "+53w", "+99999999999999w"])
def test_bad_durations(spec: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_duration(spec)


async def test_now_prints_the_time() -> None:
    session, _, out = make()

    await session.feed("/now")

    assert out == ["-- it is Mon 23 Nov 2026 09:00 (UTC)"]


async def test_other_slash_words_go_to_the_bot_as_in_chat() -> None:
    session, host, _ = make()

    await session.feed("/idea faster visits")

    assert host.events == [Said(who=ALICE, text="/idea faster visits")]


async def test_a_slash_word_that_is_neither_control_nor_command_is_an_error_not_sent() -> None:
    session, host, out = make()

    await session.feed("/hepl me")

    assert host.events == []
    assert out == ["!! /hepl is not a console control or a command; /help lists them"]


async def test_help_and_quit() -> None:
    session, _, out = make()

    await session.feed("/help")
    await session.feed("/quit")

    assert "/clock +7d" in out[0]
    assert session.finished


@pytest.mark.parametrize("word", ["quit", "Exit"])
async def test_quit_or_exit_on_its_own_leaves_and_is_not_said_to_the_bot(word: str) -> None:
    session, host, out = make()

    await session.feed("quit smoking support for staff")  # a longer line is for the bot
    await session.feed(word)

    assert host.events == [Said(who=ALICE, text="quit smoking support for staff")]
    assert session.finished
    assert out[-1] == "-- bye"


async def test_text_is_said_to_the_bot_and_the_reply_printed() -> None:
    session, host, out = make(Reply(messages=(Message(text=t("Thanks for your idea (#4).")),)))

    await session.feed("idea Text families when we run late")

    assert host.events == [Said(who=ALICE, text="idea Text families when we run late")]
    assert out == ["-> alice: Thanks for your idea (#4)."]
    assert host.settled == 1


async def test_messages_to_other_people_appear_after_the_reply() -> None:
    session, host, out = make(Reply(messages=(Message(text=t("Your question is #12.")),)))
    host.outbox.append((Address(channel="qa"), Message(text=t("Question 12: why?"), anchor="question:12")))
    jo = Address(identity=Identity("console", "local", "jo"))
    host.outbox.append((jo, Message(text=t("New question"))))

    await session.feed("ask why?")

    assert out == ["-> alice: Your question is #12.", "-> #qa: Question 12: why?", "-> jo: New question"]


async def test_in_focus_mode_other_peoples_messages_wait_until_you_become_them() -> None:
    session, host, out = make(Reply(messages=(Message(text=t("Your question is #12.")),)), focus=True)
    jo, ben = (Address(identity=Identity("console", "local", h)) for h in ("jo", "ben"))
    host.outbox += [(jo, Message(text=t("New question"))), (ben, Message(text=t("FYI")))]
    host.outbox.append((jo, Message(text=t("2"))))

    await session.feed("ask why?")
    await session.feed("/as jo")

    assert out == [
        "-> alice: Your question is #12.",
        "-- 3 messages went to ben, jo; /as ben shows theirs",
        "-- you are now jo",
        "-- 2 messages came for jo while you were away:",
        "-> jo: New question",
        "-> jo: 2",
    ]


async def test_in_focus_mode_a_message_to_an_anonymous_author_names_nobody() -> None:
    # The demo on a screen before colleagues: "went to amira" after a move of an anonymous idea named her.
    session, host, out = make(Reply(messages=(Message(text=t("#1 is now under review.")),)), focus=True)
    ben = Address(identity=Identity("console", "local", "ben"))
    author = Address(identity=Identity("console", "local", "amira"), anonymous=True)
    host.outbox += [(ben, Message(text=t("Moved"))), (author, Message(text=t("Your idea #1 moved")))]

    await session.feed("status 1 review Looks good")

    assert out[-1] == "-- 1 message went to ben and 1 message to an anonymous author; /as ben shows theirs"
    assert "amira" not in "\n".join(out)


async def test_a_number_answers_the_last_choices_shown() -> None:
    pulse = Message(text=t("I feel able to suggest improvements"), choices=(SCALE,))
    answered = Message(text=t("I feel able to suggest improvements"), choices=(SCALE,))
    session, host, out = make(Reply(messages=(pulse,)), Reply(replace=answered))

    await session.feed("pulse")
    await session.feed("4")

    assert host.events[1] == Chose(who=ALICE, action="pulse.answer", ref="item:7", value="4")
    assert out[-1].startswith("-> alice (updated): I feel able")


async def test_a_number_answers_choices_that_arrived_through_the_outbox() -> None:
    session, host, _ = make()
    yes_no = Choices("pulse.answer", "item:9", (Option("Yes", "yes"), Option("No", "no")))
    await host.sender.send(to=Address(identity=ALICE), message=Message(text=t("Support?"), choices=(yes_no,)))

    await session.feed("2")

    assert host.events == [Chose(who=ALICE, action="pulse.answer", ref="item:9", value="no")]


async def test_a_number_that_is_not_a_choice_is_refused() -> None:
    session, host, out = make(Reply(messages=(Message(text=t("Q"), choices=(SCALE,)),)))
    await session.feed("pulse")

    await session.feed("9")

    assert len(host.events) == 1
    assert out[-1] == "!! 9 is not one of the choices shown (1, 2, 3, 4, 5)"


async def test_a_number_with_no_choices_shown_is_just_text() -> None:
    session, host, _ = make()

    await session.feed("3")

    assert host.events == [Said(who=ALICE, text="3")]


async def test_a_form_is_filled_field_by_field_then_submitted() -> None:
    session, host, out = make(Reply(form=IDEA_FORM), Reply(messages=(Message(text=t("Thanks!")),)))

    await session.feed("idea")
    await session.feed("Text families when we run late")
    await session.feed("2")

    values = {"text": "Text families when we run late", "team": "team:3"}
    assert host.events[1] == Submitted(who=ALICE, form="idea.submit", ref="campaign:1", values=values)
    assert out[:4] == [
        "-> alice: Share an idea\n      1. Your idea\n      2. Team (optional): [1] Housing  [2] Repairs",
        "-- answer one field per line (/cancel to stop)",
        "-- Share an idea: 1. Your idea",
        "-- Share an idea: 2. Team (optional): [1] Housing  [2] Repairs  (type - to skip)",
    ]
    assert out[-1] == "-> alice: Thanks!"


async def test_optional_fields_can_be_skipped_but_required_ones_cannot() -> None:
    session, host, out = make(Reply(form=IDEA_FORM))
    await session.feed("idea")

    await session.feed("-")
    assert out[-1] == "!! Your idea is required"
    await session.feed("Rotas a month ahead")
    await session.feed("7")
    assert out[-1] == "!! answer with a number from 1 to 2"
    await session.feed("-")

    assert host.events[-1] == Submitted(
        who=ALICE, form="idea.submit", ref="campaign:1", values={"text": "Rotas a month ahead", "team": ""}
    )


async def test_form_errors_are_shown_and_only_the_bad_fields_asked_again() -> None:
    refused = Reply(form_errors={"text": "Please write at least a few words."})
    session, host, out = make(Reply(form=IDEA_FORM), refused, Reply())
    await session.feed("idea")
    await session.feed("ok")
    await session.feed("1")

    assert out[-2:] == ["!! Your idea: Please write at least a few words.", "-- Share an idea: 1. Your idea"]
    await session.feed("Rotas published a month ahead")

    values = {"text": "Rotas published a month ahead", "team": "team:2"}
    assert host.events[-1] == Submitted(who=ALICE, form="idea.submit", ref="campaign:1", values=values)


async def test_a_form_on_a_message_opens_by_number_and_cancel_closes_it() -> None:
    session, host, out = make()
    message = Message(text=t("Fewer missed visits: ideas?"), form=IDEA_FORM)
    await host.sender.send(to=Address(identity=ALICE), message=message)

    await session.feed("1")
    assert out[-1] == "-- Share an idea: 1. Your idea"
    await session.feed("/cancel")
    await session.feed("hello")

    assert host.events == [Said(who=ALICE, text="hello")]


async def test_each_person_keeps_their_own_open_form() -> None:
    session, host, out = make(Reply(form=IDEA_FORM))
    await session.feed("idea")

    await session.feed("/as ben")
    await session.feed("hello")
    await session.feed("/as alice")

    assert host.events[-1] == Said(who=Identity("console", "local", "ben"), text="hello")
    assert out[-1] == "-- Share an idea: 1. Your idea"


async def test_reply_posts_in_a_thread() -> None:
    session, host, _ = make()

    await session.feed("/reply question:12 What about weekends?")

    assert host.events == [ThreadReply(who=ALICE, thread="question:12", text="What about weekends?")]


def test_script_lines_are_parsed_and_checked() -> None:
    steps = parse_script(["# a comment", "", "Alice: idea hi: there", "/as ben", "/clock +1d"])

    assert [(s.number, s.handle, s.text) for s in steps] == [
        (3, "alice", "idea hi: there"),
        (4, None, "/as ben"),
        (5, None, "/clock +1d"),
    ]
    assert script_handles(steps) == ["alice", "ben"]
    with pytest.raises(ScriptError, match="line 2"):
        parse_script(["alice: hi", "just text"])


async def test_play_script_echoes_input_and_switches_person() -> None:
    session, host, out = make(Reply(messages=(Message(text=t("Hi Ben")),)))

    await play_script(["ben: hello", "/now", "/quit", "alice: never sent"], session)

    assert out == [
        "<- ben: hello",
        "-> ben: Hi Ben",
        "<- ben: /now",
        "-- it is Mon 23 Nov 2026 09:00 (UTC)",
        "<- ben: /quit",
        "-- bye",
    ]
    assert len(host.events) == 1


async def test_interactive_mode_stops_at_end_of_input_and_reports_failures() -> None:
    session, host, out = make()
    lines = deque(["hello", "boom"])
    prompts: list[str] = []

    async def read(prompt: str) -> str:
        prompts.append(prompt)
        if not lines:
            raise EOFError
        return lines.popleft()

    async def handle(event: Event) -> Reply:
        if isinstance(event, Said) and event.text == "boom":
            raise RuntimeError("database is down")
        return Reply()

    host.handle = handle  # type: ignore[method-assign]
    await run_interactive(session, read=read, report=out.append)

    assert prompts == ["[alice @ Mon 23 Nov 09:00] > "] * 3
    assert out == ["!! the bot failed on that line: RuntimeError: database is down", "-- bye"]
