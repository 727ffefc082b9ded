"""Pure functions that draw the core's messages and forms as Adaptive Cards 1.5, and read taps back.

Outbound, :func:`card` turns a :class:`~dialogue.messages.Message` into an Adaptive Card (a plain
dict; the sender wraps it with botbuilder's ``CardFactory.adaptive_card``), :func:`form_card` does
the same for a :class:`~dialogue.messages.Form`, :func:`card_with_errors` redraws a refused
submission with the person's values and the core's complaints, and :func:`summary` gives the
activity's one-line summary. Inbound, the ``value.action.data`` of an ``adaptiveCard/action``
invoke goes to :func:`decode_action`, and for a form submission to :func:`form_values` as well.

Every button is an ``Action.Execute`` whose ``data`` carries everything needed to decode it, and
whose ``verb`` (what Teams logs and routes on) repeats its action:

- a button: verb ``action``, data ``{"a": action, "r": ref, "v": value}``;
- a menu's send button: verb ``action``, data ``{"a": action, "r": ref, "i": "choice:<n>"}``, the
  value being that input's;
- a form's submit button: verb ``form:<form>``, data ``{"a": "form:<form>", "r": ref, "n": [field
  names]}``, the values being those of the inputs ``field:<name>``.

Teams merges the card's input values into ``data`` under the inputs' ids; ids with a colon never
meet our one-letter keys.

Text is drawn in ``RichTextBlock``/``TextRun``, which Adaptive Cards never parse as Markdown. A
``TextBlock`` is parsed, and Teams' desktop and mobile clients disagree on backslash escapes
(microsoft/AdaptiveCards#5590, #5758) and drop single newlines. So nothing a person wrote can become
emphasis, a list, a link or a mention, no escaping is needed or shown, and newlines stay. The bot's
own spans keep one piece of markup, ``code`` in backticks, drawn monospace. Teams' date functions
(``{{DATE(...)}}``), which text runs do expand, are defused with an invisible word joiner. Only
``fallbackText``, which clients may read as Markdown, is escaped (:func:`escape_markdown`).

Every card fits :data:`adapters.teams.limits.CARD_BYTES`. When it would not, every text is cut to
one common length with "…", so the longest (the message, usually) goes first, until it does;
buttons whose data alone would not fit become menus.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import adapters.teams.limits as limits
from dialogue.messages import Choices, ChoiceStyle, FieldKind, Form, FormField, Message, Option
from dialogue.text import Text, UserText

SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
ELLIPSIS = "…"
CHOSEN = "✓ "  # marks the chosen button's title, with style "positive"
SEND_LABEL = "Send my choice"  # the button under a menu
MENU_LABEL = "Your choice"  # a screen reader says "edit field" for a choice set without a label
FILL_IN = "Please fill this in."
CHOOSE_ONE = "Please choose one."
SELECT_PLACEHOLDER = "Choose…"
FORM_PREFIX = "form:"  # the action of a form's submit button: "form:<form name>"
FIELD_PREFIX = "field:"
MENU_PREFIX = "choice:"
# A button set reads better as a menu (a list of radio buttons whose labels wrap) when it has
# more options than one row shows, or when more than two labels will not fit across a phone.
ROW_CHARACTERS = 48
# Choice fields with at most this many options are radio buttons (all visible), longer ones a drop-down.
EXPANDED_CHOICES = 6

# The Unicode bidi embeddings, overrides and isolates; C0 and C1 controls but tab and newline;
# lone surrogates (which no client can draw). Taken out of what people write.
_UNSAFE = re.compile("[\u202a-\u202e\u2066-\u2069\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
# Teams replaces {{DATE(...)}} and {{TIME(...)}} in card text with a formatted date.
_DATE_FUNCTION = re.compile(r"\{\{(?=(?:DATE|TIME)\()")
_CODE = re.compile(r"`([^`\n]+)`")
_MD_ANYWHERE = re.compile(r"[\\`*_\[\]()<>&~]")
_MD_LINE_START = re.compile(r"^([ \t]*)([-+=#]|[0-9]+(?=\.))", re.MULTILINE)


# --- text -----------------------------------------------------------------------------------


def _clean(text: str) -> str:
    """Text without bidi overrides, control characters or lone surrogates: taken out of everything shown,
    as names and programme texts inside the bot's own words come from people too."""
    return _UNSAFE.sub("", text)


def _no_functions(text: str) -> str:
    # A word joiner between the braces: it reads the same but is no longer a date function.
    return _DATE_FUNCTION.sub("{\u2060{", text)


def escape_markdown(text: str) -> str:
    """``text`` with everything Adaptive Card Markdown could read as markup escaped by backslashes.

    Emphasis, code, links, images and HTML (``<at>`` mentions included) are escaped anywhere;
    headings, quotes and list markers (``-``, ``+``, ``1.``) at a line's start. Date functions
    are defused as everywhere else.
    """
    escaped = _MD_ANYWHERE.sub(r"\\\g<0>", _no_functions(text))
    return _MD_LINE_START.sub(
        lambda m: f"{m[1]}{m[2]}\\" if m[2][0].isdigit() else f"{m[1]}\\{m[2]}", escaped
    )


def _prefix(text: str, units: int) -> int:
    """The length of the longest prefix of ``text`` within ``units`` UTF-16 code units."""
    used = 0
    for i, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > units:
            return i
    return len(text)


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` UTF-16 units with a trailing "…" (never less than the "…")."""
    if limits.size(text) <= limit:
        return text
    return text[: _prefix(text, limit - 1)].rstrip() + ELLIPSIS


def _truncate_escaped(text: str, limit: int) -> str:
    """Like :func:`truncate`, but never leaving half an escape before the "…"."""
    cut = truncate(text, limit)
    if cut == text:
        return text
    kept = cut[: -len(ELLIPSIS)]
    if (len(kept) - len(kept.rstrip("\\"))) % 2:
        kept = kept[:-1]
    return kept + ELLIPSIS


def _cut_text(text: Text, limit: int) -> Text:
    """``text`` cut to ``limit`` UTF-16 units with a trailing "…", its spans still marked."""
    if limits.size(text.plain()) <= limit:
        return text
    room = limit - 1
    spans: list[str | UserText] = []
    for span in text.spans:
        words = span if isinstance(span, str) else span.text
        if limits.size(words) > room:
            kept = words[: _prefix(words, room)].rstrip()
            spans.append(kept if isinstance(span, str) else UserText(kept))
            break
        spans.append(span)
        room -= limits.size(words)
    return Text((*spans, ELLIPSIS))


def _runs(text: Text, **style: Any) -> list[dict[str, Any]]:
    """The text as ``TextRun`` inlines: the bot's backticked code monospace, the rest plain.

    Person-written spans are cleaned (:func:`_clean`) and never parsed for code; neighbouring runs of
    the same look are merged. ``style`` goes on every run (``isSubtle``, ``weight``, ...).
    """
    pieces: list[tuple[str, bool]] = []
    for span in text.spans:
        if isinstance(span, UserText):
            pieces.append((_clean(span.text), False))
            continue
        for i, part in enumerate(_CODE.split(_clean(span))):
            pieces.append((part, i % 2 == 1))  # split() puts the captured code at odd places
    merged: list[tuple[str, bool]] = []
    for words, code in pieces:
        if merged and merged[-1][1] == code:
            merged[-1] = (merged[-1][0] + words, code)
        elif words:
            merged.append((words, code))
    return [
        {
            "type": "TextRun",
            "text": _no_functions(words),
            **style,
            **({"fontType": "Monospace"} if code else {}),
        }
        for words, code in merged
    ]


def _rich(text: Text, **style: Any) -> list[dict[str, Any]]:
    """A ``RichTextBlock`` of the text, or nothing when it is blank."""
    inlines = _runs(text, **style)
    if not any(run["text"].strip() for run in inlines):
        return []
    return [{"type": "RichTextBlock", "inlines": inlines}]


# --- actions --------------------------------------------------------------------------------


def encode_action(action: str, ref: str, value: str) -> tuple[str, dict[str, str]]:
    """The ``(verb, data)`` of a button that sends the core ``Chose(action, ref, value)``."""
    if action.startswith(FORM_PREFIX):
        raise ValueError(f"action {action!r} would read as a form submission")
    return action, {"a": action, "r": ref, "v": value}


def _submit_action(form: Form) -> tuple[str, dict[str, Any]]:
    """The ``(verb, data)`` of a form's submit button: ``form:<name>``, the ref and the field names."""
    verb = FORM_PREFIX + form.form
    return verb, {"a": verb, "r": form.ref, "n": [f.name for f in form.fields]}


def decode_action(data: Mapping[str, Any]) -> tuple[str, str, str]:
    """``(action, ref, value)`` from the ``data`` of a tapped ``Action.Execute`` (``value.action.data``).

    For a button or a menu that is the core's ``Chose``. For a form's submit button the action is
    ``form:<form name>`` (:data:`FORM_PREFIX`) and the value "": the submission's fields are in
    :func:`form_values`. Raises ``ValueError`` for data this module did not make.
    """
    action, ref = data.get("a"), data.get("r")
    if isinstance(action, str) and isinstance(ref, str):
        value, menu = data.get("v"), data.get("i")
        if action.startswith(FORM_PREFIX) and isinstance(data.get("n"), list):
            return action, ref, ""
        if isinstance(value, str):
            return action, ref, value
        if isinstance(menu, str) and menu.startswith(MENU_PREFIX):
            return action, ref, _value(data.get(menu))
    raise ValueError(f"not one of our actions: {dict(data)!r}")


def _value(value: object) -> str:
    """An input's submitted value as text; "" when it was left empty (Teams then leaves it out)."""
    return "" if value is None else str(value)


def form_values(data: Mapping[str, Any]) -> dict[str, str]:
    """The field-name → value dict of :class:`dialogue.events.Submitted`, from a submission's ``data``.

    Every field of the form is there; one left empty comes back as "". Raises ``ValueError``
    when ``data`` is not a form submission of ours.
    """
    names = data.get("n")
    if not (isinstance(names, list) and str(data.get("a", "")).startswith(FORM_PREFIX)):
        raise ValueError(f"not one of our form submissions: {dict(data)!r}")
    return {str(name): _value(data.get(FIELD_PREFIX + str(name))) for name in names}


# --- choices --------------------------------------------------------------------------------

Cut = Callable[[str, int], str]


def _as_menu(choices: Choices) -> bool:
    if choices.style is ChoiceStyle.SCALE:
        return False  # one tap per answer, however many points
    labels = sum(limits.size(o.label.strip()) for o in choices.options)
    many = len(choices.options) > limits.MAX_ACTIONS
    return many or (len(choices.options) > 2 and labels > ROW_CHARACTERS)


def _title(option: Option, cut: Cut, limit: int, chosen: bool = False) -> str:
    label = _plain(option.label) or _plain(option.value) or ELLIPSIS
    return cut(CHOSEN + label if chosen else label, limit)


def _plain(text: str) -> str:
    """Text for a field Teams shows as it is (a title, label or placeholder), cleaned like the rest."""
    return _no_functions(_clean(text)).strip()


def _button(choices: Choices, option: Option, cut: Cut) -> dict[str, Any]:
    verb, data = encode_action(choices.action, choices.ref, option.value)
    chosen = option.value == choices.selected
    button: dict[str, Any] = {
        "type": "Action.Execute",
        "title": _title(option, cut, limits.BUTTON_TITLE, chosen),
        "verb": verb,
        "data": data,
        # A click sends the choice alone: it must not wait for, or carry, a form's inputs.
        "associatedInputs": "None",
    }
    if chosen:
        button["style"] = "positive"
    spoken = choices.spoken(option)
    if spoken is not None:  # read by screen readers, where "1" alone says nothing
        button["tooltip"] = cut(spoken, limits.BUTTON_TITLE)
    return button


def _rows(buttons: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Buttons in as few rows as Teams shows, of even length (eNPS: 0-5 over 6-10)."""
    count = -(-len(buttons) // limits.MAX_ACTIONS)
    width = -(-len(buttons) // count)
    return [buttons[start : start + width] for start in range(0, len(buttons), width)]


def _ends(choices: Choices, cut: Cut) -> list[dict[str, Any]]:
    """What a scale's ends mean, e.g. ``1 = Strongly disagree · 5 = Strongly agree``: in plain print, not
    the small faint print of a note, as it is needed to answer and is the first thing lost at 200% zoom."""
    first, last = choices.options[0].label.strip(), choices.options[-1].label.strip()
    ends = [f"{first} = {choices.low_label}" if choices.low_label else ""]
    ends.append(f"{last} = {choices.high_label}" if choices.high_label else "")
    line = " · ".join(end for end in ends if end)
    return _rich(Text((cut(line, limits.CONTEXT_TEXT),)))


def _choice_set(input_id: str, options: tuple[Option, ...], cut: Cut) -> dict[str, Any]:
    """Radio buttons for a few options, a drop-down for more; labels wrap rather than being clipped."""
    element: dict[str, Any] = {
        "type": "Input.ChoiceSet",
        "id": input_id,
        "choices": [{"title": _title(o, cut, limits.CHOICE_TITLE), "value": o.value} for o in options],
        "style": "expanded" if len(options) <= EXPANDED_CHOICES else "compact",
        "wrap": True,
    }
    if len(options) > EXPANDED_CHOICES:
        element["placeholder"] = SELECT_PLACEHOLDER
    return element


def _menu(n: int, choices: Choices, cut: Cut) -> list[dict[str, Any]]:
    """The options as a choice set, and a button that sends the one chosen."""
    menu = _choice_set(f"{MENU_PREFIX}{n}", choices.options, cut)
    menu.update(label=MENU_LABEL, isRequired=True, errorMessage=CHOOSE_ONE)
    if choices.selected in {o.value for o in choices.options}:
        menu["value"] = choices.selected
    send = {
        "type": "Action.Execute",
        "title": SEND_LABEL,
        "verb": choices.action,
        "data": {"a": choices.action, "r": choices.ref, "i": menu["id"]},
    }
    return [menu, {"type": "ActionSet", "actions": [send]}]


def _choice_elements(message: Message, cut: Cut, *, menus: bool) -> list[dict[str, Any]]:
    """Action sets for the choices; consecutive small button sets share a row while it has room."""
    body: list[dict[str, Any]] = []
    row: list[dict[str, Any]] = []

    def close_row() -> None:
        if row:
            body.append({"type": "ActionSet", "actions": list(row)})
            row.clear()

    for n, choices in enumerate(message.choices):
        if not choices.options:
            continue
        ends = _ends(choices, cut)
        if menus or _as_menu(choices):
            close_row()
            body.extend(_menu(n, choices, cut))
            body.extend(ends)
            continue
        buttons = [_button(choices, option, cut) for option in choices.options]
        if row and (len(row) + len(buttons) > limits.MAX_ACTIONS or ends):
            close_row()
        *full, last = _rows(buttons)
        body.extend({"type": "ActionSet", "actions": r} for r in full)
        row.extend(last)
        if ends:
            # The ends' meaning goes right under their own scale, so the row closes here.
            close_row()
            body.extend(ends)
    close_row()
    return body


# --- forms ----------------------------------------------------------------------------------


def _error(problem: str, cut: Cut) -> list[dict[str, Any]]:
    return _rich(Text((cut(problem, limits.ERROR_TEXT),)), color="Attention", size="Small")


def _input(field: FormField, value: str | None, cut: Cut) -> dict[str, Any]:
    """One field as an input whose id is ``field:<name>``, refilled with ``value``."""
    element: dict[str, Any]
    if field.kind is FieldKind.SELECT:
        if not field.options:
            raise ValueError(f"select field {field.name!r} has no options")
        element = _choice_set(FIELD_PREFIX + field.name, field.options, cut)
        if value in {o.value for o in field.options}:
            element["value"] = value
    else:
        length = max(field.max_length, 1)
        element = {
            "type": "Input.Text",
            "id": FIELD_PREFIX + field.name,
            "isMultiline": field.kind is FieldKind.LONG_TEXT,
            "maxLength": length,
        }
        if _plain(field.placeholder):
            element["placeholder"] = cut(_plain(field.placeholder), limits.PLACEHOLDER)
        if value:
            # What the person typed, even beyond maxLength (they may want to shorten it), and
            # never parsed as markup; only a card too big for Teams cuts it.
            element["value"] = cut(_clean(value), limits.CARD_BYTES // 2)
    element["label"] = cut(_plain(field.label) or field.name, limits.LABEL)
    element["isRequired"] = field.required
    if field.required:
        element["errorMessage"] = CHOOSE_ONE if field.kind is FieldKind.SELECT else FILL_IN
    return element


def _form_elements(
    form: Form, values: Mapping[str, str], errors: Mapping[str, str], cut: Cut
) -> list[dict[str, Any]]:
    """The form's title, its inputs each followed by its problem, and its submit button."""
    body = _rich(Text((cut(form.title.strip(), limits.LABEL),)), weight="Bolder", size="Medium")
    names = {f.name for f in form.fields}
    for name, problem in errors.items():
        if name not in names:  # a problem with the whole submission goes on top
            body.extend(_error(problem, cut))
    for field in form.fields:
        body.append(_input(field, values.get(field.name), cut))
        if field.name in errors:
            body.extend(_error(errors[field.name], cut))
    verb, data = _submit_action(form)
    submit = {
        "type": "Action.Execute",
        "title": cut(form.submit_label.strip() or "Submit", limits.BUTTON_TITLE),
        "verb": verb,
        "data": data,
        "style": "positive",
    }
    body.append({"type": "ActionSet", "actions": [submit]})
    return body


# --- cards ----------------------------------------------------------------------------------


def _build(
    message: Message,
    values: Mapping[str, str],
    errors: Mapping[str, str],
    *,
    cap: int | None,
    menus: bool,
) -> dict[str, Any]:
    """The card with every text cut to ``cap`` UTF-16 units at most (``None``: only to its own limit)."""

    def cut(text: str, limit: int) -> str:
        return truncate(text, limit if cap is None else min(limit, cap))

    text = message.text if cap is None else _cut_text(message.text, cap)
    body = _rich(text)
    body.extend(_choice_elements(message, cut, menus=menus))
    if message.form is not None:
        body.extend(_form_elements(message.form, values, errors, cut))
    body.extend(
        _rich(Text((cut(message.context.strip(), limits.CONTEXT_TEXT),)), isSubtle=True, size="Small")
    )
    fallback = escape_markdown(_clean(message.fallback()))
    return {
        "$schema": SCHEMA,
        "type": "AdaptiveCard",
        "version": limits.VERSION,
        "fallbackText": _truncate_escaped(
            fallback, limits.FALLBACK_TEXT if cap is None else min(cap, limits.FALLBACK_TEXT)
        ),
        "body": body,
    }


def _fits(card: Mapping[str, Any]) -> bool:
    return limits.card_bytes(card) <= limits.CARD_BYTES


def card(
    message: Message,
    *,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The message as an Adaptive Card 1.5: its text, its choices, its form, then its context line.

    A chosen option (``Choices.selected``) shows as "✓ label" in the positive style, with every
    button still there, so a card updated in place shows the answer and lets it be changed.
    ``values`` and ``errors`` (field name → text) refill the message's form and show the core's
    complaint under each field. ``thread`` and ``anchor`` say where the message goes, not what it
    looks like; the sender deals with them.

    Raises ``ValueError`` when even with every text cut short the card is over Teams' size (which
    only choice values and field names in the tens of kilobytes could do).
    """
    if not values and not errors:
        return dict(json.loads(_card_json(message)))  # each call gets its own copy, free to change
    return _card(message, values or {}, errors or {})


@functools.lru_cache(maxsize=256)
def _card_json(message: Message) -> str:
    # A fan-out sends one message to thousands: build each distinct card once (a tenth of a send's CPU).
    return json.dumps(_card(message, {}, {}), ensure_ascii=False)


def _card(message: Message, values: Mapping[str, str], errors: Mapping[str, str]) -> dict[str, Any]:
    for menus in (False, True):  # menus carry each value once rather than a button's data each
        whole = _build(message, values, errors, cap=None, menus=menus)
        if _fits(whole):
            return whole
        if not _fits(_build(message, values, errors, cap=0, menus=menus)):
            continue
        # The largest cap that fits, by bisection; a cap no longer than the card's JSON changes nothing.
        low, high = 0, limits.card_bytes(whole)
        while low < high:
            mid = (low + high + 1) // 2
            if _fits(_build(message, values, errors, cap=mid, menus=menus)):
                low = mid
            else:
                high = mid - 1
        return _build(message, values, errors, cap=low, menus=menus)
    raise ValueError("the message's choices and fields alone are too big for a Teams card")


def form_card(
    form: Form, *, values: Mapping[str, str] | None = None, errors: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The form as a card of its own: title, inputs, submit button.

    With ``values`` (field name → what the person sent) and ``errors`` (field name → the core's
    problem, as in :attr:`dialogue.messages.Reply.form_errors`) it is the card that replaces a
    refused submission: the person's answers kept, each problem under its field.
    """
    return card(Message(Text(), form=form), values=values, errors=errors)


def card_with_errors(
    source: Message | Form, errors: Mapping[str, str], values: Mapping[str, str]
) -> dict[str, Any]:
    """The card that answers a refused submission of ``source``'s form.

    That is the form (or the message carrying it) again, with the person's ``values`` kept and
    each of the core's ``errors`` (field name → problem) under its field.
    """
    if isinstance(source, Form):
        return form_card(source, values=values, errors=errors)
    return card(source, values=values, errors=errors)


def summary(message: Message) -> str:
    """A one-line plain-text summary of the message, for the activity's ``summary``."""
    first = next((line.strip() for line in message.fallback().splitlines() if line.strip()), "")
    return truncate(_clean(first), limits.SUMMARY)


__all__ = [
    "card",
    "card_with_errors",
    "decode_action",
    "encode_action",
    "escape_markdown",
    "form_card",
    "form_values",
    "summary",
    "truncate",
]
