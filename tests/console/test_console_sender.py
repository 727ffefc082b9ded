"""ConsoleSender prints messages and remembers, per person, what can be answered by number."""

from __future__ import annotations

import pytest

from adapters.console.sender import ConsoleSender
from dialogue.events import Identity
from dialogue.messages import Choices, Message, Option
from dialogue.outbox import Address, Undeliverable
from dialogue.text import t

YES_NO = Choices("pulse.answer", "item:3", (Option("Yes", "yes"), Option("No", "no")))


def to(handle: str) -> Address:
    return Address(identity=Identity("console", "local", handle))


def last_ref(sender: ConsoleSender, handle: str) -> str | None:
    shown = sender.last_choices(handle)
    return None if shown is None else shown.ref


async def test_send_prints_to_the_person_and_returns_a_console_ref() -> None:
    out: list[str] = []
    sender = ConsoleSender(out.append)

    ref = await sender.send(to=to("alice"), message=Message(text=t("Hello")))

    assert sender.platform == "console"
    assert ref == "console:1"
    assert out == ["-> alice: Hello"]


async def test_send_to_a_channel_prints_the_channel_name() -> None:
    out: list[str] = []
    sender = ConsoleSender(out.append)

    message = Message(text=t("Q"), thread="question:1")
    await sender.send(to=Address(channel="qa", thread_ref="console:1"), message=message)

    assert out == ["-> #qa: (thread question:1) Q"]


async def test_an_address_with_nobody_is_undeliverable() -> None:
    with pytest.raises(Undeliverable):
        await ConsoleSender([].append).send(to=Address(), message=Message(text=t("?")))


async def test_remembers_the_last_choices_per_person() -> None:
    sender = ConsoleSender([].append)
    ref = await sender.send(to=to("alice"), message=Message(text=t("Support?"), choices=(YES_NO,)))
    await sender.send(to=to("alice"), message=Message(text=t("Thanks")))
    await sender.send(to=to("ben"), message=Message(text=t("Other"), choices=(YES_NO,)))

    shown = sender.last_choices("alice")

    assert shown is not None
    assert (shown.ref, shown.target) == (ref, "alice")
    assert sender.last_choices("carol") is None


async def test_channel_choices_count_for_everyone_until_something_newer_arrives() -> None:
    sender = ConsoleSender([].append)
    await sender.send(to=to("alice"), message=Message(text=t("Support?"), choices=(YES_NO,)))
    upvote = Choices("question.upvote", "question:4", (Option("Upvote", "up"),))
    question = Message(text=t("Q4"), choices=(upvote,))
    channel_ref = await sender.send(to=Address(channel="qa"), message=question)

    assert [last_ref(sender, h) for h in ("alice", "ben")] == [channel_ref, channel_ref]

    newer = await sender.send(to=to("alice"), message=Message(text=t("Next?"), choices=(YES_NO,)))

    assert last_ref(sender, "alice") == newer


async def test_update_prints_the_new_version_and_forgets_choices_that_are_gone() -> None:
    out: list[str] = []
    sender = ConsoleSender(out.append)
    ref = await sender.send(to=to("alice"), message=Message(text=t("Support?"), choices=(YES_NO,)))

    await sender.update(ref=ref, message=Message(text=t("This pulse has closed")))

    assert out[-1] == "-> alice (updated): This pulse has closed"
    assert sender.last_choices("alice") is None


async def test_update_of_a_message_from_an_earlier_run_still_prints() -> None:
    out: list[str] = []
    sender = ConsoleSender(out.append, session="b")

    await sender.update(ref="console:a.3", message=Message(text=t("Closed")))

    assert out == ["-> earlier message (updated): Closed"]
    assert await sender.send(to=to("alice"), message=Message(text=t("Hi"))) == "console:b.1"


async def test_focus_holds_messages_to_other_people_until_they_are_watched() -> None:
    out: list[str] = []
    sender = ConsoleSender(out.append, focus=True)
    sender.watch("alice")

    await sender.send(to=to("alice"), message=Message(text=t("For Alice")))
    await sender.send(to=to("ben"), message=Message(text=t("For Ben"), choices=(YES_NO,)))
    await sender.send(to=to("carol"), message=Message(text=t("For Carol")))
    await sender.send(to=Address(channel="qa"), message=Message(text=t("For all")))
    # To the anonymous author of an idea: counted, never named on a screen that may be shown to a room.
    author = Address(identity=Identity("console", "local", "dana"), anonymous=True)
    await sender.send(to=author, message=Message(text=t("Your idea #1 moved")))

    assert out == ["-> alice: For Alice", "-> #qa: For all"]
    assert sender.take_held() == (3, ["ben", "carol"], 1)
    assert sender.take_held() == (0, [], 0)
    assert sender.catch_up("ben") == ["-> ben: For Ben\n    [1] Yes  [2] No"]
    assert sender.catch_up("ben") == []
    assert last_ref(sender, "ben") is not None  # held messages can still be answered by number


async def test_focus_skips_updates_of_messages_from_an_earlier_run() -> None:
    out: list[str] = []
    sender = ConsoleSender(out.append, focus=True)

    await sender.update(ref="console:a.3", message=Message(text=t("Closed")))

    assert out == []
    assert sender.take_held() == (0, [], 0)
