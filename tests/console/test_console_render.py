"""The console renderer: numbered options, escapes stripped, thread and channel prefixes."""

from __future__ import annotations

from adapters.console.render import FormPick, OptionPick, clean, picks, render
from dialogue.messages import Choices, ChoiceStyle, FieldKind, Form, FormField, Message, Option
from dialogue.text import t, user

AGREE = ("Strongly disagree", "Disagree", "Neutral", "Agree", "Strongly agree")


def scale(*labels: str, selected: str | None = None, low: str = "", high: str = "") -> Choices:
    options = tuple(Option(label, str(i)) for i, label in enumerate(labels, start=1))
    return Choices("pulse.answer", "item:7", options, ChoiceStyle.SCALE, low, high, selected)


def test_person_message_has_handle_prefix_and_indented_lines() -> None:
    message = Message(text=t("Thanks for your idea.\nWe will tell you when it moves."))

    assert render("alice", message) == "-> alice: Thanks for your idea.\n    We will tell you when it moves."


def test_buttons_are_numbered_on_one_line() -> None:
    message = Message(text=t("I feel able to suggest improvements"), choices=(scale(*AGREE),))

    assert render("alice", message).splitlines()[1] == (
        "    [1] Strongly disagree  [2] Disagree  [3] Neutral  [4] Agree  [5] Strongly agree"
    )


def test_scale_shows_what_its_ends_mean_and_marks_the_chosen_value() -> None:
    choices = scale("1", "2", "3", "4", "5", selected="4", low="Strongly disagree", high="Strongly agree")
    message = Message(text=t("I feel able to suggest improvements"), choices=(choices,))

    assert render("alice", message).splitlines()[1] == (
        "    [1]  [2]  [3]  [4] (chosen)  [5]   (1 = Strongly disagree, 5 = Strongly agree)"
    )


def test_a_single_numeric_scale_is_answered_with_its_own_numbers() -> None:
    options = tuple(Option(str(i), str(i)) for i in range(11))
    enps = Choices("pulse.answer", "item:2", options, ChoiceStyle.SCALE)
    message = Message(text=t("Recommend?"), choices=(enps,))

    keys = [p.key for p in picks(message)]

    assert keys == [str(i) for i in range(11)]
    assert render("alice", message).splitlines()[1].startswith("    [0]  [1]  [2]")


def test_keys_run_on_across_several_sets_of_choices() -> None:
    first = Choices("vote", "idea:1", (Option("Vote", "up"),))
    second = Choices("status", "idea:1", (Option("Pilot", "piloting"), Option("Decline", "declined")))
    message = Message(text=t("Idea 1"), choices=(first, second))

    found = [(p.key, p.option.value) for p in picks(message) if isinstance(p, OptionPick)]

    assert found == [("1", "up"), ("2", "piloting"), ("3", "declined")]
    assert render("ben", message).splitlines()[1:] == ["    [1] Vote", "    [2] Pilot  [3] Decline"]


def test_escapes_and_control_characters_are_stripped_from_user_text() -> None:
    sneaky = "hi\x1b[2J\x1b]0;owned\x07 there\r\x07\u202e"
    message = Message(text=t("Idea: ", user(sneaky)))

    assert render("alice", message) == "-> alice: Idea: hi there"


def test_user_text_cannot_start_a_line_that_looks_like_bot_output() -> None:
    message = Message(text=t("Question: ", user("fine\n-> bob: you are fired")))

    assert render("#qa", message).splitlines() == ["-> #qa: Question: fine", "    -> bob: you are fired"]


def test_clean_keeps_newlines_and_tabs() -> None:
    assert clean("a\tb\nc\x00d\x9be") == "a\tb\ncde"


def test_thread_messages_are_prefixed_with_their_thread() -> None:
    message = Message(text=t("Answer from Jo: yes"), thread="question:12")

    assert render("#qa", message) == "-> #qa: (thread question:12) Answer from Jo: yes"


def test_context_goes_on_its_own_line() -> None:
    message = Message(text=t("Monday pulse"), context="closes Thu 09:00")

    assert render("alice", message) == "-> alice: Monday pulse\n    closes Thu 09:00"


def test_updated_messages_are_marked() -> None:
    assert render("alice", Message(text=t("Closed")), updated=True) == "-> alice (updated): Closed"


def test_a_message_with_a_form_offers_to_open_it_by_number() -> None:
    form = Form("idea.submit", "campaign:1", "Share an idea", (FormField("text", "Your idea"),))
    message = Message(text=t("Fewer missed visits: any ideas?"), choices=(scale("Yes", "No"),), form=form)

    found = picks(message)

    assert found[-1] == FormPick("3", form)
    assert render("alice", message).splitlines()[-1] == "    [3] Fill in: Share an idea"


def test_select_fields_list_their_options() -> None:
    from adapters.console.render import render_form

    form = Form(
        "idea.submit",
        "campaign:1",
        "Share an idea",
        (
            FormField("text", "Your idea", FieldKind.LONG_TEXT),
            FormField("team", "Team", FieldKind.SELECT, required=False, options=(Option("Housing", "2"),)),
        ),
    )

    assert render_form(form) == ["Share an idea", "  1. Your idea", "  2. Team (optional): [1] Housing"]
