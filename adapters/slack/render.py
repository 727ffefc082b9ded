"""Pure functions that draw the core's messages and forms as Block Kit, and read clicks back.

Outbound, :func:`message_payload` turns a :class:`~dialogue.messages.Message` into the
``text`` + ``blocks`` that ``chat.postMessage`` and ``chat.update`` take, and
:func:`form_view` turns a :class:`~dialogue.messages.Form` into a modal. Inbound,
:func:`decode_action`, :func:`decode_view` and :func:`form_values` give back exactly the
``(action, ref, value)``, ``(form, ref)`` and field values the core's events carry.

Every rendered message and view passes :func:`adapters.slack.limits.check_limits`: text too
long for one section is split across several, and cut short with "…" only when a message
would otherwise exceed its block or text budget.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    InputBlock,
    InteractiveElement,
    MarkdownTextObject,
    PlainTextInputElement,
    RadioButtonsElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.blocks import Option as SlackOption
from slack_sdk.models.views import View

import adapters.slack.limits as limits
from dialogue.messages import Choices, ChoiceStyle, FieldKind, Form, FormField, Message, Option
from dialogue.text import Text

ELLIPSIS = "…"
CHOSEN = "✓ "  # marks the chosen option's label, with style="primary"
CLOSE_LABEL = "Cancel"
SELECT_PLACEHOLDER = "Choose…"
# The Unicode bidi embeddings, overrides and isolates.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
# More options than this, with any label longer than LONG_LABEL, read better as a menu than
# as a wall of buttons; scales (1-5, eNPS 0-10) always stay buttons, one click each.
FEW_OPTIONS = 5
LONG_LABEL = 24


# --- text ---------------------------------------------------------------------------------


def escape(text: str) -> str:
    """Escape Slack's control characters ``&``, ``<`` and ``>`` as HTML entities.

    With these escaped, no text can form ``<!channel>``, ``<@U123>`` or ``<url|label>``;
    mrkdwn emphasis (``*bold*``, backticks) is left as it is.
    https://api.slack.com/reference/surfaces/formatting#escaping
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_MARKUP = re.compile(r"<([^<>\n]*)>")
_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^<>]*)?>")


def mentioned(text: str) -> set[str]:
    """The user ids ``<@U123>`` in a message's text, as Slack sends it."""
    return set(_MENTION.findall(text))


def as_typed(text: str, names: Mapping[str, str] | None = None) -> str:
    """What the person typed, from the text of a message or slash command as Slack sends it: its markup
    undone (``<@U123>`` becomes ``@`` and the name in ``names``, else the id; ``<#C1|rota>`` ``#rota``;
    ``<!channel>`` ``@channel``; ``<https://x|page>`` ``page (https://x)``) and ``&amp;``, ``&lt;``, ``&gt;``
    decoded. Stored like that, "A&E" reads as "A&E" wherever it is shown again (and is escaped there).
    https://api.slack.com/reference/surfaces/formatting#retrieving-messages
    """

    def undo(found: re.Match[str]) -> str:
        target, _, label = found.group(1).partition("|")
        if target.startswith("@"):
            return "@" + (label or (names or {}).get(target[1:]) or target[1:])
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):
            return label or "@" + target[1:].split("^")[0]
        if target.startswith("mailto:"):
            return label or target.removeprefix("mailto:")
        return f"{label} ({target})" if label and label != target else target

    return _MARKUP.sub(undo, text).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def mrkdwn(text: Text) -> str:
    """The core's text as Slack mrkdwn.

    Person-written spans are escaped so they can neither ping nor link. No span keeps a bidi override,
    which would make the words after it read differently (the bot's own spans carry names, which
    people write too). The bot's own spans keep their mrkdwn (``*bold*``, backticks) and are escaped
    too: the core writes ``<`` and ``>`` as literal characters (``vote <number>``), never as Slack
    control sequences.
    """
    return "".join(escape(_BIDI.sub("", span if isinstance(span, str) else span.text)) for span in text.spans)


def plain_text(text: str) -> str:
    """``text`` made safe as a message's top-level ``text`` (notifications and old clients).

    Slack parses that field as mrkdwn too, so it is escaped like everything else, and it
    is cut to the 4,000 characters Slack advises (the blocks carry the whole message).
    """
    return truncate(escape(_BIDI.sub("", text)), limits.MESSAGE_TEXT)


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` (UTF-16 units) with a trailing "…", never inside an entity."""
    if limits.size(text) <= limit:
        return text
    cut = _fit(text, limit - limits.size(ELLIPSIS))
    return text[:cut].rstrip() + ELLIPSIS


def _fit(text: str, limit: int) -> int:
    """The largest prefix length of ``text`` within ``limit`` UTF-16 units and outside an entity."""
    cut, units = len(text), 0
    for i, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            cut = i
            break
    amp = text.rfind("&", max(0, cut - 4), cut)  # "&amp;" is the longest entity escape() writes
    if amp != -1 and ";" not in text[amp:cut]:
        cut = amp
    return cut


def split_text(text: str, limit: int = limits.TEXT_OBJECT) -> list[str]:
    """``text`` in pieces of at most ``limit``, broken at a line end, else a space, else anywhere.

    Blank pieces are left out, since Slack refuses a section with empty text.
    """
    pieces: list[str] = []
    rest = text
    while limits.size(rest) > limit:
        cut, skip = _fit(rest, limit) or 1, 0  # 1: a limit shorter than an entity still moves on
        for separator in ("\n", " "):
            at = rest.rfind(separator, 0, cut + 1)
            if at > cut // 2:  # breaking earlier would waste too much of the section
                cut, skip = at, 1  # the separator itself goes with the break
                break
        pieces.append(rest[:cut])
        rest = rest[cut + skip :]
    pieces.append(rest)
    return [piece for piece in pieces if piece.strip()]


def _md(text: str) -> MarkdownTextObject:
    # verbatim: Slack would otherwise auto-link channel names and parse some mentions in text
    # we have already escaped.
    return MarkdownTextObject(text=text, verbatim=True)


# --- actions --------------------------------------------------------------------------------


def _action_id(action: str, ref: str, token: str) -> str:
    """``["action", "ref", "token"]`` as JSON; the token only makes the id unique in its message."""
    action_id = json.dumps([action, ref, token], ensure_ascii=False, separators=(",", ":"))
    if limits.size(action_id) > limits.ACTION_ID:
        digest = "#" + hashlib.sha256(token.encode()).hexdigest()[:16]
        action_id = json.dumps([action, ref, digest], ensure_ascii=False, separators=(",", ":"))
    if limits.size(action_id) > limits.ACTION_ID:
        raise ValueError(f"action {action!r} with ref {ref!r} does not fit in a Slack action_id")
    return action_id


def encode_action(action: str, ref: str, value: str) -> tuple[str, str]:
    """The ``(action_id, value)`` of a button that sends the core ``Chose(action, ref, value)``.

    The action id carries ``action`` and ``ref`` (and the value, or a digest of it when long,
    so that it is unique within the message); the button's value is the core's value.
    """
    if limits.size(value) > limits.BUTTON_VALUE:
        raise ValueError(f"a choice value longer than {limits.BUTTON_VALUE} characters cannot be a button")
    return _action_id(action, ref, value), value


def decode_action(action_id: str, value: str) -> tuple[str, str, str]:
    """The core's ``(action, ref, value)`` from a clicked button or a chosen select option.

    ``value`` is the button's value or the selected option's value. Raises ``ValueError``
    for an action id this module did not make.
    """
    try:
        parts = json.loads(action_id)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not one of our action ids: {action_id!r}") from exc
    if not (isinstance(parts, list) and len(parts) == 3 and all(isinstance(p, str) for p in parts)):
        raise ValueError(f"not one of our action ids: {action_id!r}")
    return parts[0], parts[1], value


# --- messages -------------------------------------------------------------------------------


def _label(option: Option, chosen: bool, limit: int) -> str:
    label = option.label.strip() or option.value or ELLIPSIS
    return truncate(CHOSEN + label if chosen else label, limit)


def _spoken(choices: Choices, option: Option) -> str | None:
    """What a screen reader says for the button, when its text alone does not tell (Block Kit's limit)."""
    spoken = choices.spoken(option)
    return None if spoken is None else truncate(spoken, limits.BUTTON_TEXT)


def _as_select(choices: Choices) -> bool:
    options = choices.options
    if any(limits.size(o.value) > limits.OPTION_VALUE for o in options):
        return False  # only a button's value can hold it
    many = len(options) > limits.ACTIONS_ELEMENTS
    long = len(options) > FEW_OPTIONS and any(limits.size(o.label) > LONG_LABEL for o in options)
    return choices.style is ChoiceStyle.BUTTONS and (many or long)


def _elements(choices: Choices) -> list[InteractiveElement]:
    """Buttons for each option, or static selects of up to 100 options each."""
    if not _as_select(choices):
        out: list[InteractiveElement] = []
        for option in choices.options:
            action_id, value = encode_action(choices.action, choices.ref, option.value)
            chosen = option.value == choices.selected
            out.append(
                ButtonElement(
                    text=_label(option, chosen, limits.BUTTON_TEXT),
                    action_id=action_id,
                    value=value,
                    style="primary" if chosen else None,
                    accessibility_label=_spoken(choices, option),
                )
            )
        return out
    selects: list[InteractiveElement] = []
    for n, start in enumerate(range(0, len(choices.options), limits.SELECT_OPTIONS)):
        chunk = choices.options[start : start + limits.SELECT_OPTIONS]
        options = [SlackOption(value=o.value, label=_label(o, False, limits.OPTION_TEXT)) for o in chunk]
        initial = next((s for s, o in zip(options, chunk, strict=True) if o.value == choices.selected), None)
        selects.append(
            StaticSelectElement(
                placeholder=SELECT_PLACEHOLDER,
                action_id=_action_id(choices.action, choices.ref, f"select:{n}"),
                options=options,
                initial_option=initial,
            )
        )
    return selects


def _ends(choices: Choices) -> str:
    """What the two ends of a scale mean, e.g. ``1 = Strongly disagree · 5 = Strongly agree``."""
    if not choices.options:
        return ""
    first, last = choices.options[0].label.strip(), choices.options[-1].label.strip()
    ends = [f"{first} = {choices.low_label}" if choices.low_label else ""]
    ends.append(f"{last} = {choices.high_label}" if choices.high_label else "")
    return " · ".join(end for end in ends if end)


def _choice_blocks(message: Message) -> list[Block]:
    """Actions blocks for the choices; consecutive plain button sets share one block while they fit."""
    blocks: list[Block] = []
    row: list[InteractiveElement] = []
    for choices in message.choices:
        elements = _elements(choices)
        ends = _ends(choices)
        if row and (len(row) + len(elements) > limits.ACTIONS_ELEMENTS or ends):
            blocks.append(ActionsBlock(elements=row))
            row = []
        for element in elements:
            if len(row) == limits.ACTIONS_ELEMENTS:
                blocks.append(ActionsBlock(elements=row))
                row = []
            row.append(element)
        if ends:
            # The labels go right under their own scale, so that row closes here.
            blocks.append(ActionsBlock(elements=row))
            blocks.append(ContextBlock(elements=[_md(truncate(escape(ends), limits.TEXT_OBJECT))]))
            row = []
    if row:
        blocks.append(ActionsBlock(elements=row))
    return blocks


def message_blocks(message: Message) -> list[Block]:
    """The message as Block Kit: text sections, its choices, then its context line.

    ``thread`` and ``anchor`` are where the message goes, not what it looks like; the sender
    deals with them. A form cannot be part of a Slack message (a modal opens only in answer
    to a click), so ``message.form`` is not drawn here; the fallback text names it.
    """
    tail = _choice_blocks(message)
    if message.context:
        tail.append(ContextBlock(elements=[_md(truncate(escape(message.context), limits.TEXT_OBJECT))]))
    sections = limits.MESSAGE_BLOCKS - len(tail)
    if sections < 1:
        raise ValueError(f"a message with {len(tail)} blocks of choices is too big for Slack")
    used = sum(limits.size(t) for b in tail if isinstance(b, ContextBlock) for t in _context_texts(b))
    pieces = split_text(truncate(mrkdwn(message.text), max(limits.MESSAGE_BLOCK_TEXT - used, 1)))
    if len(pieces) > sections:
        pieces = [*pieces[: sections - 1], truncate("\n".join(pieces[sections - 1 :]), limits.TEXT_OBJECT)]
    return [*(SectionBlock(text=_md(piece)) for piece in pieces), *tail]


def _context_texts(block: ContextBlock) -> list[str]:
    return [str(getattr(e, "text", "")) for e in block.elements]


def message_payload(message: Message) -> dict[str, Any]:
    """``{"text": ..., "blocks": [...]}`` for ``chat.postMessage``, ``chat.update`` or ``respond``.

    ``text`` is the plain fallback Slack shows in notifications and to clients without
    Block Kit. Each call returns its own copy, free to change.
    """
    return dict(json.loads(_payload_json(message)))


@functools.lru_cache(maxsize=256)
def _payload_json(message: Message) -> str:
    # A fan-out sends one message to thousands, and building and validating the Block Kit models is
    # most of a send's CPU: render each distinct message once, copy it by parsing its JSON.
    payload = {
        "text": plain_text(message.fallback()),
        "blocks": [block.to_dict() for block in message_blocks(message)],
    }
    return json.dumps(payload, ensure_ascii=False)


# --- forms ----------------------------------------------------------------------------------


def view_id(form: str, ref: str) -> str:
    """The modal's ``callback_id``: the form's name and ref as a JSON pair."""
    callback_id = json.dumps([form, ref], ensure_ascii=False, separators=(",", ":"))
    if limits.size(callback_id) > limits.CALLBACK_ID:
        raise ValueError(f"form {form!r} with ref {ref!r} does not fit in a Slack callback_id")
    return callback_id


def decode_view(callback_id: str) -> tuple[str, str]:
    """The core's ``(form, ref)`` from a submitted modal's ``callback_id``."""
    try:
        parts = json.loads(callback_id)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not one of our views: {callback_id!r}") from exc
    if not (isinstance(parts, list) and len(parts) == 2 and all(isinstance(p, str) for p in parts)):
        raise ValueError(f"not one of our views: {callback_id!r}")
    return parts[0], parts[1]


def _input(field: FormField) -> InputBlock:
    """One field as an input block whose block id and action id are the field's name."""
    if limits.size(field.name) > limits.BLOCK_ID:
        raise ValueError(f"field name {field.name!r} is too long for a Slack block_id")
    element: InteractiveElement
    if field.kind is FieldKind.SELECT:
        if not 1 <= len(field.options) <= limits.SELECT_OPTIONS:
            raise ValueError(f"select field {field.name!r} has {len(field.options)} options")
        if any(limits.size(o.value) > limits.OPTION_VALUE for o in field.options):
            raise ValueError(f"select field {field.name!r} has a value longer than {limits.OPTION_VALUE}")
        options = [
            SlackOption(value=o.value, label=_label(o, False, limits.OPTION_TEXT)) for o in field.options
        ]
        if len(options) <= limits.RADIO_OPTIONS:
            element = RadioButtonsElement(action_id=field.name, options=options)
        else:
            element = StaticSelectElement(
                action_id=field.name, placeholder=SELECT_PLACEHOLDER, options=options
            )
    else:
        element = PlainTextInputElement(
            action_id=field.name,
            multiline=field.kind is FieldKind.LONG_TEXT,
            max_length=min(max(field.max_length, 1), limits.INPUT_MAX_LENGTH),
            placeholder=truncate(field.placeholder, limits.PLACEHOLDER)
            if field.placeholder.strip()
            else None,
        )
    return InputBlock(
        block_id=field.name,
        label=truncate(field.label.strip() or field.name, limits.INPUT_LABEL),
        element=element,
        optional=not field.required,
    )


def form_view(form: Form, *, private_metadata: str = "") -> View:
    """The form as a modal for ``views.open``: one input block per field.

    Choice fields with up to 10 options are radio buttons (all visible, one click), longer
    ones a menu. ``private_metadata`` comes back with the submission (at most 3,000 chars).
    """
    if limits.size(private_metadata) > limits.PRIVATE_METADATA:
        raise ValueError(f"private_metadata is longer than {limits.PRIVATE_METADATA} characters")
    return View(
        type="modal",
        callback_id=view_id(form.form, form.ref),
        title=truncate(form.title.strip() or form.form, limits.VIEW_TITLE),
        submit=truncate(form.submit_label.strip() or "Submit", limits.VIEW_BUTTON),
        close=CLOSE_LABEL,
        blocks=[_input(field) for field in form.fields],
        private_metadata=private_metadata or None,
    )


def _state_value(state: Mapping[str, Any]) -> str:
    """The value of one input in ``view.state.values``, "" when left empty."""
    selected = state.get("selected_option")
    if isinstance(selected, Mapping):
        return str(selected.get("value") or "")
    return str(state.get("value") or "")


def form_values(values: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> dict[str, str]:
    """The field-name → value dict of :class:`dialogue.events.Submitted`, from ``view.state.values``.

    ``values`` maps block id → action id → input state; our block ids are the field names.
    An optional field left empty comes back as "".
    """
    return {block_id: _state_value(state) for block_id, inputs in values.items() for state in inputs.values()}


def form_errors(errors: Mapping[str, str]) -> dict[str, str]:
    """The ``errors`` of a ``response_action: errors`` answer: block id → message.

    Block ids are the field names, so the core's field → problem map carries over; a
    message is cut to fit a text object.
    """
    return {name: truncate(problem, limits.TEXT_OBJECT) for name, problem in errors.items()}


__all__ = [
    "decode_action",
    "decode_view",
    "encode_action",
    "escape",
    "form_errors",
    "form_values",
    "form_view",
    "message_blocks",
    "message_payload",
    "mrkdwn",
    "plain_text",
    "split_text",
    "truncate",
    "view_id",
]
