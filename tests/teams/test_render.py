"""Adaptive Card rendering: golden cards, the 1.5 schema, clicks and submissions read back, escaping, size.

Every card a test renders goes through :func:`rendered` or :func:`rendered_form`, which validate it
against the Adaptive Cards 1.5 JSON schema (vendored under tests/reference) and against
:func:`adapters.teams.limits.check_card`.

The golden files under ``golden/`` were written once from the renderer's output and checked by
eye; a test never rewrites them. After a deliberate change of look, regenerate with
``python -m tests.teams.test_render`` and review the diff.
"""

from __future__ import annotations

import copy
import json
import random
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botbuilder.core import CardFactory
from botbuilder.schema import Activity, AdaptiveCardInvokeValue
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for

from adapters.teams.limits import CARD_BYTES, MAX_ACTIONS, card_bytes, check_card, size
from adapters.teams.render import (
    card,
    card_with_errors,
    decode_action,
    encode_action,
    escape_markdown,
    form_card,
    form_values,
    summary,
    truncate,
)
from dialogue.directory import Audience, Person, Role
from dialogue.flows import campaigns, ideas, questions, surveys
from dialogue.ideas import Campaign, Idea, IdeaStatus
from dialogue.messages import Choices, ChoiceStyle, FieldKind, Form, FormField, Message, Option
from dialogue.qa import Question, QuestionStatus
from dialogue.surveys import ItemKind, Occurrence, OccurrenceKind, Survey, SurveyItem, SurveyKind
from dialogue.text import Text, lines, t, user
from tests.reference import TEAMS

GOLDEN = Path(__file__).parent / "golden"
SCHEMA = json.loads((TEAMS / "schema" / "adaptive-card.v1.5.json").read_text(encoding="utf-8"))
# Markdown, HTML, a Teams mention, an entity and a date function, as a person might type them.
INJECTION = (
    "<at>Everyone</at> **bold** _it_ [link](https://evil.example) `code` &amp; "
    "{{DATE(2017-02-14T06:08:00Z, SHORT)}}\n# Heading\n- item\n+ item\n1. one\n> quote"
)


def schema_validator() -> Validator:
    """A validator for the Adaptive Cards 1.5 schema, of the draft the schema declares (draft-06).

    Its ``$ref`` s are all ``#/definitions/...`` within the one document, resolved against it; the
    draft-04 style ``id`` it carries is not an identifier in draft-06, so no registry is needed.
    """
    cls = validator_for(SCHEMA)
    cls.check_schema(SCHEMA)
    return cls(SCHEMA, format_checker=cls.FORMAT_CHECKER)


VALIDATOR = schema_validator()


def assert_valid(body: Mapping[str, Any]) -> None:
    error = best_match(VALIDATOR.iter_errors(body))
    assert error is None, f"{error.message} at {list(error.absolute_path)}" if error else ""
    assert check_card(body) == []


def rendered(message: Message, **kwargs: Any) -> dict[str, Any]:
    """:func:`card`, validated."""
    body = card(message, **kwargs)
    assert_valid(body)
    return body


def rendered_form(form: Form, **kwargs: Any) -> dict[str, Any]:
    """:func:`form_card`, validated."""
    body = form_card(form, **kwargs)
    assert_valid(body)
    return body


def walk(node: object) -> Iterator[dict[str, Any]]:
    """Every object in the card, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def of_type(body: Mapping[str, Any], kind: str) -> list[dict[str, Any]]:
    return [node for node in walk(body["body"]) if node.get("type") == kind]


def text_runs(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    return of_type(body, "TextRun")


# --- messages the core makes ----------------------------------------------------------------

PERSON = Person(1, "amira", "Amira Hassan", "Europe/London", frozenset({Role.STAFF}))
OPENS = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
RUN = Occurrence(
    7, "pulse:1:2026-11-23", OccurrenceKind.PULSE, 1, OPENS, datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
)
ITEMS = (
    SurveyItem(11, 1, ItemKind.SCALE, "I can suggest changes to how we work."),
    SurveyItem(12, 2, ItemKind.ENPS, "How likely are you to recommend this team as a place to work?"),
    SurveyItem(13, 3, ItemKind.YES_NO, "Did you hear back about your last idea?"),
    SurveyItem(
        14,
        4,
        ItemKind.CHOICE,
        "Which would help you most to try a new idea?",
        (
            "Protected time in the rota",
            "A small budget",
            "A manager who says yes",
            "Someone to try it with",
            "Knowing what others already tried",
            "Nothing; I just do it",
        ),
    ),
    SurveyItem(15, 5, ItemKind.TEXT, "What one thing would you change?"),
)
SURVEY = Survey(1, "Monday *pulse*", SurveyKind.PULSE, ITEMS, Audience())


def pulse_item(position: int, *, selected: str | None = None, intro: bool = False) -> Message:
    return surveys.item_message(SURVEY, RUN, ITEMS[position - 1], PERSON, intro=intro, selected=selected)


def question_post() -> Message:
    """As :func:`dialogue.flows.questions._post_message` draws question 12 from a named asker."""
    return Message(
        lines(
            t("Question #12 from Amira Hassan:"),
            t(user("Why do rotas change at a day's notice? " + INJECTION)),
        ),
        choices=(
            Choices(questions.UPVOTE_ACTION, "12", (Option("▲ Upvote (3)", "up"),)),
            Choices(questions.ANSWER_ACTION, "12", (Option("Answer", "answer"),)),
        ),
        anchor=questions.thread_key(12),
        context="Reply in the thread to follow up. Senior managers answer here, in the open.",
    )


def answer_in_thread() -> Message:
    return Message(
        t("Answer from Ben Ode: ", user("We will publish rotas 4 weeks ahead.")), thread="question:12"
    )


def idea_detail() -> Message:
    """An idea shown to a manager: vote or move it on."""
    return Message(
        lines(t("#4 ", user("Text families when a visit runs late")), "Status: under review · 3 votes"),
        choices=(Choices("idea.act", "4", (Option("Vote", "vote"), Option("Change status", "status"))),),
    )


def long_text() -> Message:
    paragraph = "Visits ran late because the rota changed & nobody told the family. " * 20
    body = [t(f"Idea #{n}: ", user(paragraph.strip())) for n in range(1, 6)]
    return Message(lines("Ideas under review:", *body), context="`ideas <number>` shows one in full.")


def message_with_form() -> Message:
    return Message(t("Tell us more about ", user("idea #4"), "."), form=ideas.idea_form("idea:4"))


MESSAGES: dict[str, Callable[[], Message]] = {
    "plain_user_text": lambda: Message(
        t("Comment on your idea #4 from Ben: ", user(INJECTION)),
        context="`ideas 4` shows the whole thread.",
    ),
    "scale_selected": lambda: pulse_item(1, selected="4", intro=True),
    "enps": lambda: pulse_item(2),
    "enps_selected": lambda: pulse_item(2, selected="10"),
    "yes_no": lambda: pulse_item(3, selected="no"),
    "choice_six": lambda: pulse_item(4, selected="2"),
    "free_text_item": lambda: pulse_item(5),
    "question_post": question_post,
    "thread_answer": answer_in_thread,
    "idea_detail": idea_detail,
    "campaign_prompt": lambda: campaigns.prompt_message(
        Campaign(3, "Fewer late visits", "Reablement first", "How could visits run on time?", Audience()),
        Occurrence(9, "campaign:3:1", OccurrenceKind.CAMPAIGN, 3, OPENS, RUN.closes_at),
        PERSON,
    ),
    "long_text": long_text,
    "message_with_form": message_with_form,
}


def idea_form() -> Form:
    return ideas.idea_form("campaign:9", "How could visits run on time?")


def status_form() -> Form:
    return ideas.status_form(Idea(4, "Text families", IdeaStatus.UNDER_REVIEW, OPENS, 1, None, None))


def answer_form() -> Form:
    asked = Question(12, "Why do rotas change?", QuestionStatus.OPEN, OPENS, asker_id=1, route=None)
    return questions.answer_form(asked)


def many_options_form() -> Form:
    teams = tuple(Option(f"Team {n}", f"team-{n}") for n in range(1, 15))
    return Form(
        "team.pick",
        "person:1",
        "Which teams do you work with most often?",
        (
            FormField("team", "Team", FieldKind.SELECT, options=teams),
            FormField("note", "Anything else?", FieldKind.TEXT, required=False, max_length=5000),
        ),
    )


FORMS: dict[str, Callable[[], Form]] = {
    "idea_form": idea_form,
    "status_form": status_form,
    "answer_form": answer_form,
    "select_form": many_options_form,
}
STATUS_ERRORS = {"reason": "Please give a reason (the submitter sees it).", "": "Idea #4 has moved on since."}
STATUS_VALUES = {"status": "piloting", "reason": "ok " + INJECTION}


def golden(name: str) -> Any:
    return json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))


def all_rendered() -> dict[str, Any]:
    """Everything the golden files hold, freshly rendered and validated."""
    out: dict[str, Any] = {name: rendered(make()) for name, make in MESSAGES.items()}
    out.update({name: rendered_form(make()) for name, make in FORMS.items()})
    out["status_form_errors"] = card_with_errors(status_form(), STATUS_ERRORS, STATUS_VALUES)
    assert_valid(out["status_form_errors"])
    return out


GOLDEN_NAMES = [*MESSAGES, *FORMS, "status_form_errors"]


# --- golden and schema ----------------------------------------------------------------------


@pytest.mark.parametrize("name", GOLDEN_NAMES)
def test_rendering_matches_its_golden_file(name: str) -> None:
    assert all_rendered()[name] == golden(name)


@pytest.mark.parametrize("name", GOLDEN_NAMES)
def test_every_golden_card_is_valid_adaptive_card_1_5_within_limits(name: str) -> None:
    body = golden(name)

    assert_valid(body)
    assert body["version"] == "1.5"
    assert body["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert card_bytes(body) <= CARD_BYTES


def test_a_card_handed_out_and_changed_does_not_change_the_next_one() -> None:
    """Cards of one message are built once (a fan-out sends it to thousands); each caller gets its own."""
    message = pulse_item(1)
    first = card(message)
    as_built = copy.deepcopy(first)
    first["body"][0]["inlines"][0]["text"] = "changed"
    first["body"].clear()

    assert card(message) == as_built


def test_the_schema_check_is_real() -> None:
    """The validator follows the schema's references down to nested elements, so it can fail."""
    body = rendered(pulse_item(1))
    broken: list[Callable[[dict[str, Any]], None]] = [
        lambda c: c["body"][0]["inlines"][0].update(bogus=True),  # unknown property deep down
        lambda c: of_type(c, "Action.Execute")[0].update(verb=5),
        lambda c: of_type(c, "Action.Execute")[0].update(style="loud"),
        lambda c: c["body"].append({"type": "Input.Text"}),  # an input needs an id
        lambda c: c["body"].append({"type": "TextBlock"}),
        lambda c: c.update(msteams={"entities": []}),  # not in the 1.5 schema: we never send mentions
        lambda c: c["body"].append({"type": "Frame", "text": "x"}),
    ]
    for change in broken:
        copied = copy.deepcopy(body)
        change(copied)
        assert best_match(VALIDATOR.iter_errors(copied)) is not None


def test_cards_are_attachments_botbuilder_accepts() -> None:
    attachment = CardFactory.adaptive_card(rendered(question_post()))

    assert attachment.content_type == "application/vnd.microsoft.card.adaptive"
    assert attachment.content["type"] == "AdaptiveCard"


# --- escaping -------------------------------------------------------------------------------


def test_user_text_is_never_markdown() -> None:
    """Every text is a TextRun, which no client parses as Markdown; there is no TextBlock at all."""
    body = rendered(MESSAGES["plain_user_text"]())
    (user_run,) = [r for r in text_runs(body) if "Everyone" in r["text"]]

    assert of_type(body, "TextBlock") == []
    assert user_run["text"].startswith("Comment on your idea #4 from Ben: <at>Everyone</at> **bold** _it_")
    assert "[link](https://evil.example) `code` &amp;" in user_run["text"]  # shown exactly as typed
    assert "fontType" not in user_run  # a person's backticks are not code
    assert not any("msteams" in node or "entities" in node for node in walk(body))


def test_user_text_cannot_call_a_date_function() -> None:
    body = rendered(MESSAGES["plain_user_text"]())
    texts = "".join(r["text"] for r in text_runs(body))

    assert "{{DATE(" not in texts
    assert "{\u2060{DATE(2017-02-14T06:08:00Z, SHORT)}}" in texts  # reads the same


def test_bot_text_keeps_its_code_spans() -> None:
    body = rendered(Message(t("Type `vote <number>` & *wait* for `", user("`x`"), "`")))
    runs = [(r["text"], r.get("fontType")) for r in text_runs(body)]

    assert runs == [("Type ", None), ("vote <number>", "Monospace"), (" & *wait* for ``x``", None)]


def test_no_text_keeps_bidi_overrides_or_controls_not_even_a_name_in_the_bots_words() -> None:
    body = rendered(
        Message(t("Idea from Ben \u202eeviL:\u00a0", user("\u202eevil\u2066\x07\ud800"), " (#3)\n"))
    )

    assert [r["text"] for r in text_runs(body)] == ["Idea from Ben eviL:\u00a0evil (#3)\n"]


def test_option_titles_lose_bidi_overrides_and_date_functions_too() -> None:
    options = (Option("\u202eYes {{DATE(2026-01-01T00:00:00Z)}}", "yes"), Option("No", "no"))
    body = rendered(Message(t("Agree?"), choices=(Choices("pulse.answer", "1:2", options),)))

    titles = [action["title"] for action in of_type(body, "Action.Execute")]
    assert titles[0] == "Yes {\u2060{DATE(2026-01-01T00:00:00Z)}}" and titles[1] == "No"


def test_fallback_text_is_escaped_markdown() -> None:
    body = rendered(MESSAGES["plain_user_text"]())
    fallback = body["fallbackText"]

    # Every Markdown character is escaped, and no line starts a heading, list or quote.
    assert re.search(r"(?<!\\)[*_\[\]()<>&`]", fallback) is None
    assert re.search(r"^\s*(#|-|\+|>|\d+\.)", fallback, re.MULTILINE) is None
    assert "\\<at\\>Everyone\\</at\\>" in fallback


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("*bold* _it_ `code`", "\\*bold\\* \\_it\\_ \\`code\\`"),
        ("[a](http://x) ![i](y)", "\\[a\\]\\(http://x\\) !\\[i\\]\\(y\\)"),
        ("<at>Ben</at> & <b>", "\\<at\\>Ben\\</at\\> \\& \\<b\\>"),
        ("# h\n- a\n+ b\n  12. c\n> q\n=== ", "\\# h\n\\- a\n\\+ b\n  12\\. c\n\\> q\n\\=== "),
        ("a - b + c 1. d #e", "a - b + c 1. d #e"),  # harmless mid-line
        ("back\\slash ~strike~", "back\\\\slash \\~strike\\~"),
        ("{{TIME(2017-02-14T06:08:00Z)}}", "{\u2060{TIME\\(2017-02-14T06:08:00Z\\)}}"),
    ],
)
def test_escape_markdown(text: str, escaped: str) -> None:
    assert escape_markdown(text) == escaped


def test_a_cut_fallback_never_ends_in_half_an_escape() -> None:
    body = rendered(Message(t(user("*" * 5000))))

    assert body["fallbackText"].endswith("\\*…")
    assert size(body["fallbackText"]) <= 2000


def test_summary_is_one_plain_line() -> None:
    assert summary(MESSAGES["plain_user_text"]()) == (
        "Comment on your idea #4 from Ben: <at>Everyone</at> **bold** _it_ [link](https://evil.example) "
        "`code` &amp; {{DATE(2017-02-14T06:08:00Z, SHORT)}}"
    )
    assert summary(Message(t(user("\u202e" + "x" * 500)))) == "x" * 199 + "…"
    assert (
        summary(Message(Text(), form=idea_form()))
        == "[Share an idea: How could visits run on time?, Share anonymously?]"
    )


# --- choices --------------------------------------------------------------------------------


def buttons(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    return of_type(body, "Action.Execute")


def rows(body: Mapping[str, Any]) -> list[list[str]]:
    return [[a["title"] for a in s["actions"]] for s in of_type(body, "ActionSet")]


def test_a_scale_shows_the_chosen_option_and_what_its_ends_mean() -> None:
    body = rendered(pulse_item(1, selected="4"))
    chosen = [b for b in buttons(body) if b.get("style") == "positive"]

    assert [b["title"] for b in chosen] == ["✓ 4"]
    assert rows(body) == [["1", "2", "3", "✓ 4", "5"]]
    assert [b["data"]["v"] for b in buttons(body)] == ["1", "2", "3", "4", "5"]
    ends = body["body"][-2]["inlines"][0]
    # In plain print: it is needed to answer, and small faint print is the first lost at 200% zoom.
    assert ends == {"type": "TextRun", "text": "1 = Strongly disagree · 5 = Strongly agree"}


def test_enps_is_two_rows_that_fit_a_phone() -> None:
    assert rows(rendered(pulse_item(2))) == [["0", "1", "2", "3", "4", "5"], ["6", "7", "8", "9", "10"]]
    assert rows(rendered(pulse_item(2, selected="10")))[1][-1] == "✓ 10"


def test_an_answered_card_keeps_every_button_to_change_the_answer() -> None:
    before, after = rendered(pulse_item(3)), rendered(pulse_item(3, selected="no"))

    assert [b["data"] for b in buttons(before)] == [b["data"] for b in buttons(after)]
    assert rows(after) == [["Yes", "✓ No"]]


def test_buttons_send_the_choice_alone() -> None:
    """A tap on a choice must neither wait for nor carry a form's inputs on the same card."""
    body = rendered(Message(t("x"), choices=pulse_item(3).choices, form=idea_form()))
    choice_buttons = [b for b in buttons(body) if "v" in b["data"]]

    assert choice_buttons and all(b["associatedInputs"] == "None" for b in choice_buttons)


def test_six_long_options_become_radio_buttons_with_the_choice_kept() -> None:
    body = rendered(pulse_item(4, selected="2"))
    (menu,) = of_type(body, "Input.ChoiceSet")
    (send,) = buttons(body)

    assert menu["style"] == "expanded" and menu["wrap"] is True and menu["isRequired"] is True
    assert [c["value"] for c in menu["choices"]] == ["0", "1", "2", "3", "4", "5"]
    assert menu["value"] == "2"
    assert "associatedInputs" not in send  # the send button carries the menu's value
    assert decode_action({**send["data"], menu["id"]: "5"}) == (surveys.ANSWER_ACTION, "7:14", "5")


def test_more_options_than_a_row_shows_become_a_drop_down() -> None:
    options = tuple(Option(f"Team {n}", str(n)) for n in range(9))
    body = rendered(Message(t("Which team?"), choices=(Choices("team.pick", "1", options),)))
    (menu,) = of_type(body, "Input.ChoiceSet")

    assert menu["style"] == "compact"
    assert menu["placeholder"] == "Choose…"


def test_small_button_sets_share_a_row() -> None:
    assert rows(rendered(question_post())) == [["▲ Upvote (3)", "Answer"]]
    assert rows(rendered(idea_detail())) == [["Vote", "Change status"]]


def test_rows_never_hold_more_than_teams_shows() -> None:
    choices = tuple(Choices(f"a{n}", "r", (Option("x", "1"), Option("y", "2"))) for n in range(5))
    assert [len(r) for r in rows(rendered(Message(t("x"), choices=choices)))] == [6, 4]
    scale = Choices("a", "r", tuple(Option(str(n), str(n)) for n in range(1, 8)), ChoiceStyle.SCALE)
    assert [len(r) for r in rows(rendered(Message(t("x"), choices=(scale,))))] == [4, 3]


def clicks(body: Mapping[str, Any]) -> set[tuple[str, str, str]]:
    """Every ``(action, ref, value)`` a person can send from the card, as Teams would send it."""
    menus = {m["id"]: m for m in of_type(body, "Input.ChoiceSet")}
    out: set[tuple[str, str, str]] = set()
    for button in buttons(body):
        data = button["data"]
        if "i" in data:
            out |= {decode_action({**data, data["i"]: c["value"]}) for c in menus[data["i"]]["choices"]}
        elif "v" in data:
            out.add(decode_action(data))
    return out


def test_every_click_decodes_to_the_choice_the_core_made() -> None:
    for make in MESSAGES.values():
        message = make()
        made = {(c.action, c.ref, o.value) for c in message.choices for o in c.options}

        assert clicks(rendered(message)) == made


@pytest.mark.parametrize(
    ("action", "ref", "value"),
    [
        ("pulse.answer", "7:11", "4"),
        ("idea.act", "1", "vote"),
        ("a|b", '"quoted" [ref]', "ünïcödé ✓"),
        ("pulse.answer", "7:11", ""),
        ("pulse.answer", "7:11", "v" * 5000),
    ],
)
def test_encode_decode_round_trip(action: str, ref: str, value: str) -> None:
    verb, data = encode_action(action, ref, value)

    assert verb == action
    assert decode_action(json.loads(json.dumps(data))) == (action, ref, value)


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"a": "x"},
        {"a": "x", "r": 1, "v": "y"},
        {"a": "x", "r": "y"},
        {"a": "x", "r": "y", "i": "field:z"},
    ],
)
def test_foreign_data_is_refused(data: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="not one of our actions"):
        decode_action(data)


def test_an_action_cannot_pass_for_a_form() -> None:
    with pytest.raises(ValueError, match="form submission"):
        encode_action("form:idea.submit", "r", "v")


def invoke(data: dict[str, Any], verb: str) -> dict[str, Any]:
    """What botbuilder gives the bot for a tap: ``value.action.data`` of an ``adaptiveCard/action`` invoke.

    The activity is built as Teams sends it (Universal Actions), and read the way
    ``ActivityHandler._get_adaptive_card_invoke_value`` reads it.
    """
    activity = Activity().deserialize(
        {
            "type": "invoke",
            "name": "adaptiveCard/action",
            "channelId": "msteams",
            "value": {"action": {"type": "Action.Execute", "verb": verb, "data": data}, "trigger": "manual"},
        }
    )
    value = AdaptiveCardInvokeValue(**activity.value)
    assert value.action["verb"] == verb
    return dict(value.action["data"])


def test_a_click_arrives_through_botbuilder_as_it_left() -> None:
    body = rendered(pulse_item(1, selected="4"))
    button = buttons(body)[2]

    assert decode_action(invoke(button["data"], button["verb"])) == (surveys.ANSWER_ACTION, "7:11", "3")


# --- forms ----------------------------------------------------------------------------------


def submission(body: Mapping[str, Any], answers: Mapping[str, str]) -> dict[str, Any]:
    """The data Teams sends when the form on ``body`` is submitted: the submit data, plus each
    input with a value under its id (inputs left empty are left out)."""
    (submit,) = [b for b in buttons(body) if "n" in b["data"]]
    data = dict(submit["data"])
    for element in walk(body["body"]):
        name = str(element.get("id", "")).removeprefix("field:")
        if element.get("type", "").startswith("Input.") and answers.get(name):
            data[element["id"]] = answers[name]
    return invoke(data, submit["verb"])


def test_a_form_submission_decodes_to_the_form_and_its_values() -> None:
    body = rendered_form(idea_form())
    data = submission(body, {"idea": "Text families when a visit is late", "anonymous": "yes"})

    assert decode_action(data) == ("form:" + ideas.IDEA_FORM, "campaign:9", "")
    assert form_values(data) == {"idea": "Text families when a visit is late", "anonymous": "yes"}


def test_empty_optional_fields_come_back_empty() -> None:
    data = submission(rendered_form(many_options_form()), {"team": "team-3"})

    assert form_values(data) == {"team": "team-3", "note": ""}


def test_form_values_refuses_a_click() -> None:
    with pytest.raises(ValueError, match="form submission"):
        form_values(encode_action("a", "r", "v")[1])


def test_form_inputs_say_what_is_required_and_how_long() -> None:
    idea, anonymous = [e for e in rendered_form(idea_form())["body"] if e["type"].startswith("Input.")]

    assert idea["id"] == "field:idea"
    assert (idea["isMultiline"], idea["maxLength"], idea["isRequired"]) == (True, 1000, True)
    assert idea["errorMessage"] == "Please fill this in."
    assert idea["label"] == "How could visits run on time?"
    assert (anonymous["style"], anonymous["isRequired"]) == ("expanded", True)
    note = of_type(rendered_form(many_options_form()), "Input.Text")[0]
    assert note["isRequired"] is False and "errorMessage" not in note


def test_a_refused_form_keeps_the_answers_and_shows_each_problem_under_its_field() -> None:
    body = card_with_errors(status_form(), STATUS_ERRORS, STATUS_VALUES)
    assert_valid(body)

    kinds = [e["type"] if e["type"] != "RichTextBlock" else e["inlines"][0]["text"] for e in body["body"]]

    assert kinds == [
        "Move idea #4",
        "Idea #4 has moved on since.",  # not about one field: on top
        "Input.ChoiceSet",
        "Input.Text",
        "Please give a reason (the submitter sees it).",
        "ActionSet",
    ]
    status, reason = body["body"][2], body["body"][3]
    assert status["value"] == "piloting"
    assert reason["value"] == STATUS_VALUES["reason"]  # an input's value is shown as typed, never parsed
    assert body["body"][4]["inlines"][0]["color"] == "Attention"


def test_a_refused_message_form_is_drawn_with_its_message() -> None:
    body = card_with_errors(message_with_form(), {"idea": "Too short."}, {"idea": "ok", "anonymous": "maybe"})
    assert_valid(body)
    (choice,) = of_type(body, "Input.ChoiceSet")

    assert "value" not in choice  # not one of the options
    assert [r["text"] for r in text_runs(body)][:2] == ["Tell us more about idea #4.", "Share an idea"]


def test_a_select_field_without_options_is_refused() -> None:
    form = Form("f", "r", "T", (FormField("x", "X", FieldKind.SELECT),))
    with pytest.raises(ValueError, match="no options"):
        form_card(form)


# --- size -----------------------------------------------------------------------------------


def test_size_counts_utf16_like_teams() -> None:
    assert size("a😀é") == 4
    assert card_bytes({"t": "😀"}) == 2 * len('{"t":"😀"}') + 2
    assert truncate("😀" * 10, 5) == "😀😀…"
    assert truncate("short", 5) == "short"


def test_long_text_is_kept_whole_when_it_fits() -> None:
    message = long_text()
    body = rendered(message)

    assert "".join(r["text"] for r in text_runs(body)).startswith(message.text.plain())


def test_text_beyond_the_card_budget_is_cut_with_an_ellipsis() -> None:
    message = Message(t("Intro: ", user("word " * 20_000)), choices=pulse_item(1).choices, context="ctx")
    body = rendered(message)
    texts = [r["text"] for r in text_runs(body)]

    assert texts[0].startswith("Intro: word word") and texts[0].endswith("…")
    assert texts[-1] == "ctx"  # the rest of the card is intact
    assert rows(body) == [["1", "2", "3", "4", "5"]]
    assert CARD_BYTES - 200 < card_bytes(body) <= CARD_BYTES  # cut no more than needed


def test_buttons_too_big_for_a_card_become_menus() -> None:
    ref = "r" * 1500  # a button repeats its action and ref; a menu's options do not
    choices = tuple(Choices(f"a{n}", ref, tuple(Option(str(v), str(v)) for v in range(6))) for n in range(3))
    body = rendered(Message(t("Pick"), choices=choices))

    assert len(of_type(body, "Input.ChoiceSet")) == 3
    assert clicks(body) == {(c.action, c.ref, o.value) for c in choices for o in c.options}


def test_what_cannot_fit_at_all_is_refused() -> None:
    with pytest.raises(ValueError, match="too big"):
        card(Message(t("x"), choices=(Choices("a", "r", (Option("x", "v" * 20_000),)),)))


# --- limits ---------------------------------------------------------------------------------


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        target = body
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def _button(title: str = "b") -> dict[str, Any]:
    return {"type": "Action.Execute", "title": title, "verb": "v", "data": {}}


def _text_input(input_id: str = "field:x", **more: Any) -> dict[str, Any]:
    return {"type": "Input.Text", "id": input_id, **more}


def _choice_set(choices: list[dict[str, str]], **more: Any) -> dict[str, Any]:
    return {"type": "Input.ChoiceSet", "id": "choice:0", "choices": choices, **more}


VIOLATIONS: dict[str, Callable[[dict[str, Any]], None]] = {
    "type": _set(["type"], "HeroCard"),
    "version": _set(["version"], "1.6"),
    "card size": _set(["body", 0, "inlines", 0, "text"], "x" * (CARD_BYTES // 2)),
    "emoji counted twice": _set(["body", 0, "inlines", 0, "text"], "😀" * (CARD_BYTES // 4)),
    "fallback text": _set(["fallbackText"], "f" * 2001),
    "empty text run": _set(["body", 0, "inlines", 0, "text"], ""),
    "no inlines": _set(["body", 0, "inlines"], []),
    "blank text block": _set(["body", 0], {"type": "TextBlock", "text": " "}),
    "actions in a set": _set(["body", 1, "actions"], [_button()] * (MAX_ACTIONS + 1)),
    "empty action set": _set(["body", 1, "actions"], []),
    "card actions": _set(["actions"], [_button()] * (MAX_ACTIONS + 1)),
    "button title": _set(["body", 1, "actions", 0, "title"], "t" * 81),
    "blank button title": _set(["body", 1, "actions", 0, "title"], ""),
    "no verb": _set(["body", 1, "actions", 0, "verb"], ""),
    "data not an object": _set(["body", 1, "actions", 0, "data"], "x"),
    "duplicate input id": _set(["body"], [_text_input(), {"type": "Container", "items": [_text_input()]}]),
    "blank input id": _set(["body"], [_text_input("")]),
    "label": _set(["body"], [_text_input(label="l" * 301)]),
    "placeholder": _set(["body"], [_text_input(placeholder="p" * 151)]),
    "error message": _set(["body"], [_text_input(errorMessage="e" * 501)]),
    "max length": _set(["body"], [_text_input(maxLength=0)]),
    "no choices": _set(["body"], [_choice_set([])]),
    "duplicate choice": _set(
        ["body"], [_choice_set([{"title": "a", "value": "1"}, {"title": "b", "value": "1"}])]
    ),
    "choice title": _set(["body"], [_choice_set([{"title": "c" * 301, "value": "1"}])]),
    "value not a choice": _set(["body"], [_choice_set([{"title": "a", "value": "1"}], value="2")]),
}


@pytest.mark.parametrize("name", VIOLATIONS)
def test_check_card_catches_each_violation(name: str) -> None:
    body = rendered(Message(t("hi"), choices=(Choices("a", "r", (Option("x", "1"),)),)))
    broken = copy.deepcopy(body)
    VIOLATIONS[name](broken)

    assert check_card(broken), name


# --- property -------------------------------------------------------------------------------

ALPHABET = "abc xyz <>&*_`~#-+1.[]()\\\n\t!@:{}é漢😀👩‍👩‍👧ـ\u202e\u2066\x00\ud83d"


def _words(rng: random.Random, most: int) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, most)))


def _random_message(rng: random.Random) -> Message:
    spans: list[str | Text] = []
    for _ in range(rng.randint(0, 6)):
        long = rng.choice([10, 500, 4000, 30_000])
        spans.append(t(user(_words(rng, long))) if rng.random() < 0.6 else _words(rng, 300))
    choices = []
    for n in range(rng.randint(0, 3)):
        options = tuple(
            Option(_words(rng, rng.choice([3, 30, 400])), _words(rng, rng.choice([2, 40])) + str(i))
            for i in range(rng.randint(1, 12))
        )
        choices.append(
            Choices(
                "act." + _words(rng, 20) + str(n),
                _words(rng, 40),
                options,
                rng.choice(list(ChoiceStyle)),
                _words(rng, 400),
                _words(rng, 40),
                rng.choice([None, options[0].value, options[-1].value]),
            )
        )
    form = _random_form(rng) if rng.random() < 0.2 else None
    return Message(
        t(*spans), choices=tuple(choices), form=form, context=_words(rng, rng.choice([0, 50, 5000]))
    )


def _random_form(rng: random.Random) -> Form:
    fields = tuple(
        FormField(
            f"field{n}",
            _words(rng, rng.choice([10, 3000])),
            rng.choice(list(FieldKind)),
            rng.random() < 0.5,
            rng.randint(0, 6000),
            tuple(Option(_words(rng, 400), f"v{i}") for i in range(rng.randint(1, 30))),
            _words(rng, rng.choice([0, 300])),
        )
        for n in range(rng.randint(1, 8))
    )
    return Form(_words(rng, 30), _words(rng, 30), _words(rng, 3000), fields, _words(rng, 400))


@pytest.mark.parametrize("seed", range(200))
def test_every_rendered_message_is_valid_and_fits(seed: int) -> None:
    rng = random.Random(seed)
    message = _random_message(rng)
    body = rendered(message)

    assert card_bytes(body) <= CARD_BYTES
    assert clicks(body) == {(c.action, c.ref, o.value) for c in message.choices for o in c.options}


@pytest.mark.parametrize("seed", range(100))
def test_every_refused_form_is_valid_and_fits(seed: int) -> None:
    rng = random.Random(seed)
    form = _random_form(rng)
    values = {f.name: _words(rng, rng.choice([5, 5000])) for f in form.fields}
    errors = {f.name: _words(rng, 900) for f in form.fields if rng.random() < 0.5} | {"": _words(rng, 50)}
    body = card_with_errors(form, errors, values)

    assert_valid(body)
    assert card_bytes(body) <= CARD_BYTES
    assert form_values(submission(body, values)).keys() == {f.name for f in form.fields}


def _write_golden() -> None:
    """Rewrite the golden files from the renderer (by hand only; review the diff)."""
    GOLDEN.mkdir(exist_ok=True)
    for name, data in all_rendered().items():
        text = json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
        (GOLDEN / f"{name}.json").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    _write_golden()
    sys.exit(0)
