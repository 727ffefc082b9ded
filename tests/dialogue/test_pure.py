"""Pure pieces of the core: pseudonymous keys, message data, argument parsing, help by role."""

from __future__ import annotations

import pytest

from dialogue.anonymity import Pseudonymiser
from dialogue.args import Args
from dialogue.commands import COMMANDS, help_reply, unmistakable
from dialogue.directory import Person, Role, parse_roles
from dialogue.errors import Refusal
from dialogue.formatting import percents
from dialogue.ideas import TRANSITIONS, IdeaStatus, parse_status
from dialogue.messages import (
    Choices,
    ChoiceStyle,
    FieldKind,
    Form,
    FormField,
    Message,
    Option,
    message_from_data,
    message_to_data,
)
from dialogue.text import t, user


def person(pid: int, *roles: Role) -> Person:
    return Person(pid, f"p{pid}", f"Person {pid}", "Europe/London", frozenset({Role.STAFF, *roles}))


def test_routes_lead_only_to_their_person_and_differ_by_scope() -> None:
    anon = Pseudonymiser(b"k" * 32)
    people = [person(i) for i in range(1, 50)]
    route = anon.route("idea:7", 23)
    assert "23" not in route.split("#")[1]
    assert anon.resolve(route, people) == people[22]
    assert anon.route("idea:8", 23) != route  # unlinkable across items
    assert Pseudonymiser(b"x" * 32).resolve(route, people) is None  # useless without the secret
    assert anon.respondent(1, 23) != anon.respondent(2, 23)


def test_short_secret_refused() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        Pseudonymiser(b"short")


def test_message_data_round_trip_keeps_user_text_marked() -> None:
    message = Message(
        t("Idea from ", user("<@channel> & co"), "!"),
        choices=(
            Choices(
                "pulse.answer", "1:2", (Option("1", "1"), Option("2", "2")), ChoiceStyle.SCALE, "lo", "hi"
            ),
        ),
        form=Form(
            "idea.submit", "none", "Share", (FormField("idea", "Idea", FieldKind.LONG_TEXT, max_length=9),)
        ),
        thread="question:4",
        context="closes soon",
    )
    assert message_from_data(message_to_data(message)) == message
    assert "<@channel> & co" in message.fallback()
    # Screen readers read the fallback, not the buttons: the ends of a scale say what they mean.
    assert "Choices: 1 to 2, where 1 is lo and 2 is hi." in message.fallback()


def test_buttons_say_to_screen_readers_what_their_label_alone_does_not() -> None:
    points = tuple(Option(str(v), str(v)) for v in range(1, 6))
    scale = Choices(
        "pulse.answer", "1:1", points, ChoiceStyle.SCALE, "Strongly disagree", "Strongly agree", "3"
    )
    assert [scale.spoken(o) for o in points] == [
        "1 out of 5, Strongly disagree",
        "2 out of 5",
        "3 out of 5, your answer",
        "4 out of 5",
        "5 out of 5, Strongly agree",
    ]
    yes, no = Option("Yes", "yes"), Option("No", "no")
    assert [Choices("pulse.answer", "1:2", (yes, no), selected="no").spoken(o) for o in (yes, no)] == [
        None,
        "No, your answer",
    ]


def test_the_fallback_names_the_chosen_option_by_its_label() -> None:
    options = (Option("Staffing", "0"), Option("IT and systems", "1"), Option("Travel", "2"))
    message = Message(
        t("Q4/5: What got in the way?"), choices=(Choices("pulse.answer", "1:4", options, selected="1"),)
    )
    assert message.fallback() == (
        "Q4/5: What got in the way?\nChoices: Staffing, IT and systems, Travel. Your answer: IT and systems."
    )


def test_args_refuse_non_numbers_with_usage() -> None:
    args = Args("twelve rest", usage="vote <idea number>")
    with pytest.raises(Refusal, match="'twelve' is not a number"):
        args.number("the idea number")
    assert Args("#12 more words").number("x") == 12
    with pytest.raises(Refusal, match="Usage: `vote <idea number>`"):
        Args("", usage="vote <idea number>").number("the idea number")


def test_pipeline_transitions() -> None:
    assert parse_status("under-review") is IdeaStatus.UNDER_REVIEW
    assert parse_status("nonsense") is None
    assert IdeaStatus.DECLINED in TRANSITIONS[IdeaStatus.PILOTING]
    assert IdeaStatus.IMPLEMENTED not in TRANSITIONS[IdeaStatus.NEW]  # no skipping steps
    assert TRANSITIONS[IdeaStatus.DECLINED] == {IdeaStatus.UNDER_REVIEW}  # "we will revisit in April"
    assert not TRANSITIONS[IdeaStatus.SPREAD]


def test_help_lists_only_what_the_caller_may_do() -> None:
    staff = help_reply(person(1)).messages[0].text.plain()
    manager = help_reply(person(2, Role.MANAGER)).messages[0].text.plain()
    admin = help_reply(person(3, Role.ADMIN)).messages[0].text.plain()
    assert "`idea" in staff and "`status" not in staff and "`moderate" not in staff
    assert "`status" in manager and "`answer" in manager and "`moderate" not in manager
    assert "`moderate" in admin
    assert len(COMMANDS) >= 15


def test_roles_parse() -> None:
    assert parse_roles("manager; admin") == {Role.STAFF, Role.MANAGER, Role.ADMIN}
    with pytest.raises(ValueError, match="unknown role"):
        parse_roles("boss")


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("help", True),
        ("vote 12", True),
        ("vote #12", True),
        ("pulse list", True),
        ("checkin reply 4 Thanks all", True),
        ("ask anon Why are rotas late?", True),
        ("ask to @helen Why are rotas late?", True),
        ("ideas mine", True),
        ("Ask the rota team first", False),
        ("Ask to be moved to days", False),
        ("Help with paperwork", False),
        ("Status boards in the office", False),
        ("idea share spare PPE", False),
        ("Thanks all", False),
    ],
)
def test_only_unmistakable_commands_are_taken_for_commands_while_written_words_are_awaited(
    text: str, command: bool
) -> None:
    assert unmistakable(text.split()) is command


def test_a_receipt_is_keyed_by_the_secret_and_says_nothing_of_what_it_records() -> None:
    one, other = Pseudonymiser(b"secret-one-0123456789"), Pseudonymiser(b"secret-two-0123456789")
    sent = '["a:1chat", "1795", "amira", "form:idea.submit", "campaign:3", "Text people when late"]'

    assert one.receipt(sent) == one.receipt(sent) != other.receipt(sent)
    assert one.receipt(sent) != one.receipt(sent + " ")
    assert "amira" not in one.receipt(sent) and len(one.receipt(sent)) == 40


def test_shares_add_up_to_a_hundred_percent() -> None:
    # Rounded alone, three equal thirds read "33%, 33%, 33%" and five of eight "63%, 38%" (101%); of equal
    # remainders, the first listed is rounded up.
    assert percents([1, 1, 1]) == ["34%", "33%", "33%"]
    assert percents([5, 3]) == ["63%", "37%"]
    assert percents([7, 0, 0]) == ["100%", "0%", "0%"]
    assert percents([0, 0]) == ["0%", "0%"]
