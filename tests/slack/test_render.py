"""Block Kit rendering: golden payloads, clicks and submissions read back, and Block Kit's limits.

The golden files under ``golden/`` were written once from the renderer's output and checked
by eye; a test never rewrites them. After a deliberate change of look, regenerate with
``python -m tests.slack.test_render`` and review the diff.
"""

from __future__ import annotations

import copy
import json
import random
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.models.blocks import SectionBlock

from adapters.slack.limits import check_limits
from adapters.slack.render import (
    ELLIPSIS,
    as_typed,
    decode_action,
    decode_view,
    encode_action,
    escape,
    form_errors,
    form_values,
    form_view,
    message_blocks,
    message_payload,
    plain_text,
    split_text,
)
from dialogue.directory import Audience, Person, Role
from dialogue.flows import campaigns, ideas, questions, surveys
from dialogue.ideas import Campaign
from dialogue.messages import Choices, ChoiceStyle, FieldKind, Form, FormField, Message, Option
from dialogue.pages import pages
from dialogue.qa import Question, QuestionStatus
from dialogue.surveys import ItemKind, Occurrence, OccurrenceKind, Survey, SurveyItem, SurveyKind
from dialogue.text import Text, lines, t, user
from tests.reference import SLACK_PAYLOADS

GOLDEN = Path(__file__).parent / "golden"
PAYLOADS = SLACK_PAYLOADS
INJECTION = "<!channel> & <@U123>"

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
)
SURVEY = Survey(1, "Monday <pulse>", SurveyKind.PULSE, ITEMS, Audience())


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


def long_text() -> Message:
    paragraph = "Visits ran late because the rota changed & nobody told the family. " * 20
    body = [t(f"Idea #{n}: ", user(paragraph.strip())) for n in range(1, 6)]
    return Message(lines("Ideas under review:", *body), context="`ideas <number>` shows one in full.")


MESSAGES: dict[str, Callable[[], Message]] = {
    "plain_user_text": lambda: Message(
        t("Comment on your idea #4 from Ben: ", user(INJECTION + " *bold* `code` https://example.org")),
        context="`ideas 4` shows the whole thread.",
    ),
    "scale_selected": lambda: pulse_item(1, selected="4", intro=True),
    "enps": lambda: pulse_item(2),
    "yes_no": lambda: pulse_item(3, selected="no"),
    "choice_six": lambda: pulse_item(4),
    "question_post": question_post,
    "campaign_prompt": lambda: campaigns.prompt_message(
        Campaign(3, "Fewer late visits", "Reablement first", "How could visits run on time?", Audience()),
        Occurrence(9, "campaign:3:1", OccurrenceKind.CAMPAIGN, 3, OPENS, RUN.closes_at),
        PERSON,
    ),
    "long_text": long_text,
}


def idea_form() -> Form:
    return ideas.idea_form("campaign:9", "How could visits run on time?")


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
    "answer_form": answer_form,
    "select_form": many_options_form,
}


def golden(name: str) -> Any:
    return json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))


def rendered() -> dict[str, Any]:
    """Everything the golden files hold, freshly rendered."""
    out: dict[str, Any] = {name: message_payload(make()) for name, make in MESSAGES.items()}
    out.update({name: form_view(make(), private_metadata="m").to_dict() for name, make in FORMS.items()})
    return out


# --- golden ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [*MESSAGES, *FORMS])
def test_rendering_matches_its_golden_file(name: str) -> None:
    assert rendered()[name] == golden(name)


@pytest.mark.parametrize("name", [*MESSAGES, *FORMS])
def test_every_golden_payload_is_within_block_kit_limits(name: str) -> None:
    assert check_limits(golden(name)) == []


# --- escaping -------------------------------------------------------------------------------


def test_user_text_cannot_ping_mention_or_link() -> None:
    payload = message_payload(MESSAGES["plain_user_text"]())
    dumped = json.dumps(payload)

    for control in ("<!channel>", "<@U123>", "<http", "<!here>"):
        assert control not in dumped
    assert "&lt;!channel&gt; &amp; &lt;@U123&gt;" in payload["blocks"][0]["text"]["text"]
    assert "&lt;!channel&gt;" in payload["text"]  # the notification text is parsed as mrkdwn too


def test_bot_text_keeps_its_mrkdwn_and_literal_angle_brackets() -> None:
    blocks = message_payload(Message(t("*Sent.* Type `vote <number>` & wait")))["blocks"]

    assert blocks[0]["text"]["text"] == "*Sent.* Type `vote &lt;number&gt;` &amp; wait"


def test_escape_and_plain_text() -> None:
    assert escape("a & b < c > d") == "a &amp; b &lt; c &gt; d"
    assert escape("&amp;") == "&amp;amp;"  # a person who types an entity sees it as typed
    assert plain_text("<!here> hi") == "&lt;!here&gt; hi"
    assert len(plain_text("x" * 50_000)) == 4000  # Slack advises 4,000 for a notification


def test_no_text_keeps_a_bidi_override_not_even_a_name_in_the_bots_words() -> None:
    # A display name comes from Slack's profile or the directory file: the bot's words carry it.
    message = Message(t("Idea from Ben \u202eeviL: ", user("\u202eevil\u2066"), " (#3)"))
    payload = message_payload(message)

    assert payload["blocks"][0]["text"]["text"] == "Idea from Ben eviL: evil (#3)"
    assert payload["text"] == "Idea from Ben eviL: evil (#3)"  # what a notification shows


def test_limits_count_utf16_units_and_cuts_stay_fast() -> None:
    cut = plain_text("😀" * 50_000)

    assert len(cut) == 1999 + 1  # 1,999 emoji of two units each, then "…"
    assert cut.endswith("…")


def test_every_mrkdwn_text_is_verbatim() -> None:
    for name in MESSAGES:
        for block in golden(name)["blocks"]:
            for obj in [block.get("text"), *block.get("elements", [])]:
                if isinstance(obj, dict) and obj.get("type") == "mrkdwn":
                    assert obj["verbatim"] is True


# --- choices --------------------------------------------------------------------------------


def buttons(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in payload["blocks"] if b["type"] == "actions" for e in b["elements"]]


def test_a_scale_shows_the_chosen_option_and_what_its_ends_mean() -> None:
    payload = message_payload(pulse_item(1, selected="4"))
    chosen = [b for b in buttons(payload) if b.get("style") == "primary"]

    assert [b["text"]["text"] for b in chosen] == ["✓ 4"]
    assert [b["value"] for b in buttons(payload)] == ["1", "2", "3", "4", "5"]
    context = [b for b in payload["blocks"] if b["type"] == "context"]
    assert context[0]["elements"][0]["text"] == "1 = Strongly disagree · 5 = Strongly agree"


def test_enps_is_eleven_buttons_in_one_row() -> None:
    actions = [b for b in message_payload(pulse_item(2))["blocks"] if b["type"] == "actions"]

    assert [len(a["elements"]) for a in actions] == [11]


def test_six_long_options_become_a_menu_with_the_choice_preselected() -> None:
    payload = message_payload(pulse_item(4, selected="2"))
    (select,) = buttons(payload)

    assert select["type"] == "static_select"
    assert len(select["options"]) == 6
    assert select["initial_option"]["value"] == "2"
    assert decode_action(select["action_id"], "2") == (surveys.ANSWER_ACTION, "7:14", "2")


def test_question_buttons_share_one_row() -> None:
    actions = [b for b in message_payload(question_post())["blocks"] if b["type"] == "actions"]

    assert [[e["text"]["text"] for e in a["elements"]] for a in actions] == [["▲ Upvote (3)", "Answer"]]


def test_every_click_decodes_to_the_choice_the_core_made() -> None:
    for make in MESSAGES.values():
        message = make()
        elements = buttons(message_payload(message))
        made = {(c.action, c.ref, o.value) for c in message.choices for o in c.options}
        clicked = {decode_action(e["action_id"], e["value"]) for e in elements if e["type"] == "button"} | {
            decode_action(e["action_id"], o["value"])
            for e in elements
            if e["type"] == "static_select"
            for o in e["options"]
        }
        assert clicked == made


@pytest.mark.parametrize(
    ("action", "ref", "value"),
    [
        ("pulse.answer", "7:11", "4"),
        ("idea.act", "1", "vote"),
        ("a|b", '"quoted" [ref]', "ünïcödé ✓"),
        ("pulse.answer", "7:11", ""),
        ("pulse.answer", "7:11", "v" * 2000),  # too long for an action id: a digest stands in
    ],
)
def test_encode_decode_round_trip(action: str, ref: str, value: str) -> None:
    action_id, sent = encode_action(action, ref, value)

    assert len(action_id) <= 255
    assert len(sent) <= 2000
    assert decode_action(action_id, sent) == (action, ref, value)


def test_action_ids_are_unique_within_a_message() -> None:
    ids = [encode_action("pulse.answer", "7:11", v)[0] for v in ("1", "2", "x" * 600, "y" * 600)]

    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("action_id", ["a", "", "[]", '["a", "b"]', '{"a": 1}', '["a", 1, "c"]'])
def test_foreign_action_ids_are_refused(action_id: str) -> None:
    with pytest.raises(ValueError, match="action ids"):
        decode_action(action_id, "v")


def test_what_cannot_be_encoded_is_refused() -> None:
    with pytest.raises(ValueError, match="button"):
        encode_action("a", "r", "v" * 2001)
    with pytest.raises(ValueError, match="action_id"):
        encode_action("a" * 200, "r" * 100, "v")


# --- long text ------------------------------------------------------------------------------


def test_long_text_is_split_across_sections_at_line_ends() -> None:
    message = long_text()
    sections = [b["text"]["text"] for b in message_payload(message)["blocks"] if b["type"] == "section"]

    assert len(sections) > 1
    assert all(len(s) <= 3000 for s in sections)
    assert "\n".join(sections) == escape(message.text.plain())  # nothing lost, nothing cut


def test_text_beyond_the_message_budget_is_cut_with_an_ellipsis() -> None:
    message = Message(t(user("word " * 10_000)))
    sections = [b for b in message_blocks(message) if isinstance(b, SectionBlock)]

    assert "".join(str(getattr(s.text, "text", "")) for s in sections).endswith("…")
    assert check_limits(message_payload(message)) == []


def test_split_never_breaks_an_entity_or_leaves_blank_pieces() -> None:
    pieces = split_text("&amp;" * 700, 3000)

    assert all(p.startswith("&amp;") and p.endswith("&amp;") for p in pieces)
    assert split_text("\n\n  \n", 3000) == []
    assert split_text("aaa bbb ccc ddd", 8) == ["aaa bbb", "ccc ddd"]  # the space goes with the break


# --- forms ----------------------------------------------------------------------------------


def test_form_view_round_trips_its_callback_id() -> None:
    view = form_view(idea_form()).to_dict()

    assert decode_view(view["callback_id"]) == (ideas.IDEA_FORM, "campaign:9")
    assert "private_metadata" not in view


def test_form_title_is_cut_to_24_characters() -> None:
    assert golden("select_form")["title"]["text"] == "Which teams do you work…"


@pytest.mark.parametrize("callback_id", ["view-id", "[]", '["a"]', '["a", 2]'])
def test_foreign_views_are_refused(callback_id: str) -> None:
    with pytest.raises(ValueError, match="views"):
        decode_view(callback_id)


def state_of(view: dict[str, Any], answers: dict[str, str]) -> dict[str, Any]:
    """``view.state.values`` as Slack sends it for ``answers`` in our view, on the real payload's shape."""
    body = json.loads((PAYLOADS / "view_submission__body.json").read_text())
    values: dict[str, Any] = {}
    for block in view["blocks"]:
        element = block["element"]
        answer = answers.get(block["block_id"])
        state: dict[str, Any] = {"type": element["type"]}
        if element["type"] == "plain_text_input":
            state["value"] = answer
        else:
            match = [o for o in element["options"] if o["value"] == answer]
            state["selected_option"] = match[0] if match else None
        values[block["block_id"]] = {element["action_id"]: state}
    body["view"].update(blocks=view["blocks"], callback_id=view["callback_id"], state={"values": values})
    return dict(body["view"]["state"]["values"])


def test_form_values_reads_the_real_view_submission_payload() -> None:
    body = json.loads((PAYLOADS / "view_submission__body.json").read_text())

    assert form_values(body["view"]["state"]["values"]) == {"hspI": "test"}


def test_form_values_gives_the_core_its_field_names() -> None:
    view = form_view(idea_form()).to_dict()
    values = state_of(view, {"idea": "Text families when a visit is late", "anonymous": "yes"})

    assert form_values(values) == {"idea": "Text families when a visit is late", "anonymous": "yes"}


def test_empty_optional_fields_come_back_empty() -> None:
    view = form_view(many_options_form()).to_dict()

    assert form_values(state_of(view, {"team": "team-3"})) == {"team": "team-3", "note": ""}


def test_form_errors_are_keyed_by_the_input_block_ids() -> None:
    view = form_view(idea_form()).to_dict()
    errors = form_errors({"idea": "Your idea is too short. Please say a little more."})

    assert set(errors) <= {b["block_id"] for b in view["blocks"]}
    assert errors == {"idea": "Your idea is too short. Please say a little more."}


def test_choice_fields_are_radio_buttons_up_to_ten_options_then_a_menu() -> None:
    assert golden("idea_form")["blocks"][1]["element"]["type"] == "radio_buttons"
    assert golden("select_form")["blocks"][0]["element"]["type"] == "static_select"
    assert golden("select_form")["blocks"][1]["element"]["max_length"] == 3000


# --- limits ---------------------------------------------------------------------------------


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(payload: dict[str, Any]) -> None:
        target = payload
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def _button(n: int, text: str = "b", value: str = "v") -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": f"a{n}",
        "text": {"type": "plain_text", "text": text},
        "value": value,
    }


def _option(n: int, text: str = "o", value: str = "") -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text}, "value": value or f"v{n}"}


def _md(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


SECTION = {"type": "section", "text": _md("hi")}
MESSAGE_VIOLATIONS: dict[str, Callable[[dict[str, Any]], None]] = {
    "blocks": _set(["blocks"], [SECTION] * 51),
    "text": _set(["text"], "x" * 40_001),
    "section text": _set(["blocks", 0], {"type": "section", "text": _md("x" * 3001)}),
    "empty section text": _set(["blocks", 0], {"type": "section", "text": _md(" ")}),
    "emoji counted twice": _set(["blocks", 0], {"type": "section", "text": _md("😀" * 1501)}),
    "section fields": _set(["blocks", 0], {"type": "section", "fields": [_md("f")] * 11}),
    "block text": _set(["blocks"], [{"type": "section", "text": _md("x" * 3000)}] * 5),
    "block_id": _set(["blocks", 0, "block_id"], "b" * 256),
    "duplicate block_id": _set(
        ["blocks"], [{**SECTION, "block_id": "same"}, {**SECTION, "block_id": "same"}]
    ),
    "actions elements": _set(["blocks", 1, "elements"], [_button(n) for n in range(26)]),
    "no actions elements": _set(["blocks", 1, "elements"], []),
    "button text": _set(["blocks", 1, "elements"], [_button(1, text="x" * 76)]),
    "button value": _set(["blocks", 1, "elements"], [_button(1, value="x" * 2001)]),
    "button accessibility_label": _set(["blocks", 1, "elements", 0, "accessibility_label"], "x" * 76),
    "action_id": _set(["blocks", 1, "elements", 0, "action_id"], "a" * 256),
    "duplicate action_id": _set(["blocks", 1, "elements"], [_button(1), _button(1)]),
    "select options": _set(
        ["blocks", 1, "elements"],
        [{"type": "static_select", "action_id": "s", "options": [_option(n) for n in range(101)]}],
    ),
    "option text": _set(
        ["blocks", 1, "elements"],
        [{"type": "static_select", "action_id": "s", "options": [_option(1, text="x" * 76)]}],
    ),
    "option value": _set(
        ["blocks", 1, "elements"],
        [{"type": "static_select", "action_id": "s", "options": [_option(1, value="x" * 151)]}],
    ),
    "placeholder": _set(
        ["blocks", 1, "elements"],
        [
            {
                "type": "static_select",
                "action_id": "s",
                "placeholder": {"type": "plain_text", "text": "x" * 151},
                "options": [_option(1)],
            }
        ],
    ),
    "context elements": _set(["blocks", 2, "elements"], [_md("c")] * 11),
    "context text": _set(["blocks", 2, "elements"], [_md("c" * 3001)]),
}


def _view() -> dict[str, Any]:
    return form_view(idea_form()).to_dict()


VIEW_VIOLATIONS: dict[str, Callable[[dict[str, Any]], None]] = {
    "view blocks": lambda v: v.update(blocks=v["blocks"][:1] * 101),
    "title": _set(["title", "text"], "x" * 25),
    "submit": _set(["submit", "text"], "x" * 25),
    "close": _set(["close", "text"], "x" * 25),
    "callback_id": _set(["callback_id"], "c" * 256),
    "private_metadata": _set(["private_metadata"], "p" * 3001),
    "input label": _set(["blocks", 0, "label", "text"], "l" * 2001),
    "input hint": _set(["blocks", 0, "hint"], {"type": "plain_text", "text": "h" * 2001}),
    "input max_length": _set(["blocks", 0, "element", "max_length"], 3001),
    "radio options": _set(["blocks", 1, "element", "options"], [_option(n) for n in range(11)]),
}


@pytest.mark.parametrize("name", [*MESSAGE_VIOLATIONS, *VIEW_VIOLATIONS])
def test_check_limits_catches_each_violation(name: str) -> None:
    if name in MESSAGE_VIOLATIONS:
        payload = {
            "text": "t",
            "blocks": [
                SECTION,
                {"type": "actions", "elements": [_button(0)]},
                {"type": "context", "elements": [_md("c")]},
            ],
        }
        assert check_limits(payload) == []
        change = MESSAGE_VIOLATIONS[name]
    else:
        payload = _view()
        assert check_limits(payload) == []
        change = VIEW_VIOLATIONS[name]
    broken = copy.deepcopy(payload)
    change(broken)

    assert check_limits(broken), name


def test_check_limits_reads_blocks_given_as_a_json_string() -> None:
    assert check_limits({"text": "t", "blocks": json.dumps([SECTION] * 51)}) == [
        "blocks: 51 items, the limit is 50"
    ]


# --- property -------------------------------------------------------------------------------

ALPHABET = "abc xyz <>&*_`~\n\t!@#:é漢😀👩‍👩‍👧ـ\u202e"


def _words(rng: random.Random, most: int) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, most)))


def _random_message(rng: random.Random) -> Message:
    spans: list[str | Text] = []
    for _ in range(rng.randint(0, 6)):
        spans.append(
            t(user(_words(rng, rng.choice([10, 500, 4000])))) if rng.random() < 0.5 else _words(rng, 300)
        )
    choices = []
    for n in range(rng.randint(0, 3)):
        options = tuple(
            Option(_words(rng, rng.choice([3, 30, 120])), _words(rng, rng.choice([2, 40, 300])) + str(i))
            for i in range(rng.randint(1, 11))
        )
        choices.append(
            Choices(
                _words(rng, 20) + str(n),
                _words(rng, 40),
                options,
                rng.choice(list(ChoiceStyle)),
                _words(rng, 40),
                _words(rng, 40),
                rng.choice([None, options[0].value, options[-1].value]),
            )
        )
    return Message(t(*spans), choices=tuple(choices), context=_words(rng, rng.choice([0, 50, 5000])))


@pytest.mark.parametrize("seed", range(300))
def test_every_rendered_message_is_within_block_kit_limits(seed: int) -> None:
    message = _random_message(random.Random(seed))
    payload = message_payload(message)

    assert check_limits(payload) == []
    for element in buttons(payload):
        if element["type"] == "button":
            action, ref, value = decode_action(element["action_id"], element["value"])
            assert any(
                (c.action, c.ref) == (action, ref) and value in {o.value for o in c.options}
                for c in message.choices
            )


def _random_form(rng: random.Random) -> Form:
    fields = tuple(
        FormField(
            f"field{n}",
            _words(rng, rng.choice([10, 3000])),
            rng.choice(list(FieldKind)),
            rng.random() < 0.5,
            rng.randint(1, 6000),
            tuple(Option(_words(rng, 100), f"v{i}") for i in range(rng.randint(1, 30))),
            _words(rng, rng.choice([0, 300])),
        )
        for n in range(rng.randint(1, 8))
    )
    return Form(_words(rng, 30), _words(rng, 30), _words(rng, 60) or "x", fields, _words(rng, 40))


@pytest.mark.parametrize("seed", range(100))
def test_every_rendered_form_is_within_block_kit_limits(seed: int) -> None:
    form = _random_form(random.Random(seed))
    view = form_view(form, private_metadata="m" * 3000).to_dict()

    assert check_limits(view) == []
    assert decode_view(view["callback_id"]) == (form.form, form.ref)


def _write_golden() -> None:
    """Rewrite the golden files from the renderer (by hand only; review the diff)."""
    GOLDEN.mkdir(exist_ok=True)
    for name, data in rendered().items():
        text = json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
        (GOLDEN / f"{name}.json").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    _write_golden()
    sys.exit(0)


@pytest.mark.parametrize(
    ("sent", "typed"),
    [
        ("A&amp;E &lt;3 &gt; 2", "A&E <3 > 2"),
        ("cc <@W200> and <@W300|dev>", "cc @Ben Carter and @dev"),
        ("see <#C123|rota> <!here> <!subteam^S1|@nurses>", "see #rota @here @nurses"),
        (
            "<https://x.example/a?b=1&amp;c=2|the page> <https://y.example>",
            "the page (https://x.example/a?b=1&c=2) https://y.example",
        ),
        ("write to <mailto:hr@x.example|hr@x.example>", "write to hr@x.example"),
        ("&amp;lt;not markup&amp;gt;", "&lt;not markup&gt;"),
    ],
)
def test_text_from_slack_is_read_back_as_typed(sent: str, typed: str) -> None:
    assert as_typed(sent, {"W200": "Ben Carter"}) == typed


def sections(payload: dict[str, Any]) -> list[str]:
    return [block["text"]["text"] for block in payload["blocks"] if block["type"] == "section"]


def test_a_long_message_of_ampersands_reaches_slack_whole_in_parts() -> None:
    # Thirty comments of "&" and "<>" (500 characters each): 15,000 characters, five times as many escaped.
    comments = [t(f"{n}. ", user(("&" if n % 2 else "<>") * 250)) for n in range(30)]
    message = Message(lines(t("Comments on idea #2"), *comments))

    parts = pages(message)
    shown = [message_payload(part) for part in parts]

    assert len(parts) > 2
    for payload in shown:
        assert check_limits(payload) == []
        assert not any(ELLIPSIS in section for section in sections(payload))  # nothing cut
    every = "\n".join(as_typed("\n".join(sections(payload))) for payload in shown)
    assert all(("&" if n % 2 else "<>") * 250 in every for n in range(30))
