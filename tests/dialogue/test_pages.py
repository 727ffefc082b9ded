"""Long messages in parts: split between lines, every word kept, the buttons on the last part."""

from __future__ import annotations

from dialogue.messages import Choices, Message, Option
from dialogue.pages import PAGE, pages
from dialogue.text import Text, UserText, lines, t, user


def test_a_message_that_fits_is_left_as_it_is() -> None:
    message = Message(t("Short."), choices=(Choices("a", "1", (Option("Yes", "y"),)),), context="c")

    assert pages(message) == (message,)


def test_a_long_message_is_split_between_lines_with_every_word_and_its_marking_kept() -> None:
    answers = [f"Answer {n}: " + "rota changes at short notice " * 33 for n in range(16)]  # ~950 each
    body = lines(t("Your check-in digest is ready."), *(t("• ", user(a)) for a in answers), t("Reply here."))
    message = Message(body, choices=(Choices("a", "1", (Option("Send", "s"),)),), context="k", anchor="x")

    parts = pages(message)

    assert len(parts) == 3
    assert all(len(p.text.plain()) <= PAGE for p in parts)
    assert parts[0].anchor == "x" and all(p.anchor is None for p in parts[1:])
    assert [bool(p.choices) for p in parts] == [False, False, True] and parts[-1].context == "k"
    assert parts[1].text.plain().startswith("(part 2 of 3)\n") and parts[2].text.plain().startswith(
        "(part 3 of 3)"
    )
    rejoined = "\n".join(
        p.text.plain().split("\n", 1)[1] if n else p.text.plain() for n, p in enumerate(parts)
    )
    assert rejoined == body.plain()  # nothing lost, nothing cut inside a line
    written = [s.text for p in parts for s in p.text.spans if isinstance(s, UserText)]
    assert written == answers  # people's words still marked as theirs


def test_a_single_line_longer_than_a_page_is_cut_into_pieces() -> None:
    long_line = Text((UserText("é" * 15000),))

    parts = pages(Message(long_line))

    assert len(parts) == 3 and all(len(p.text.plain()) <= PAGE for p in parts)
    assert "".join(s.text for p in parts for s in p.text.spans if isinstance(s, UserText)) == "é" * 15000
