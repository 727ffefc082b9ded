"""Pure functions that draw core messages as terminal text.

Every message is shown as a block: ``-> alice: first line`` (or ``-> #qa: ...`` for a
channel) with the following lines indented by four spaces, so nothing a person wrote
can start a line of its own and pass for bot output.

Choices are numbered; the number a person types back is the option's *key*. Keys run
1, 2, 3... across the message, except for a message with a single numeric scale
(eNPS 0-10), whose keys are the scale's own numbers so that typing ``0`` means 0.
A message that carries a form gets one more numbered entry that opens it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dialogue.messages import Choices, ChoiceStyle, FieldKind, Form, FormField, Message, Option
from dialogue.text import Text

INDENT = "    "

# ANSI/VT escape sequences: CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), and the
# two-character ESC sequences. Their 8-bit C1 forms are removed with the other controls.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?")
# C0 controls except tab and newline, DEL, C1 controls, and the Unicode bidi overrides
# that can make a line read differently from what it contains.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean(text: str) -> str:
    """Remove terminal escape sequences and control characters, keeping newlines and tabs."""
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


def render_text(text: Text) -> str:
    """The message text: bot-written spans as they are, person-written spans cleaned of escapes."""
    return "".join(span if isinstance(span, str) else clean(span.text) for span in text.spans)


@dataclass(frozen=True)
class OptionPick:
    """Typing ``key`` clicks ``option`` of ``choices``."""

    key: str
    choices: Choices
    option: Option


@dataclass(frozen=True)
class FormPick:
    """Typing ``key`` opens ``form`` in the console."""

    key: str
    form: Form


Pick = OptionPick | FormPick


def _numeric_labels(choices: Choices) -> bool:
    labels = [o.label.strip() for o in choices.options]
    return all(re.fullmatch(r"-?\d+", label) for label in labels) and len(set(labels)) == len(labels)


def picks(message: Message) -> tuple[Pick, ...]:
    """Everything a person can answer this message with, in display order, with its key."""
    out: list[Pick] = []
    if (
        len(message.choices) == 1
        and message.choices[0].style is ChoiceStyle.SCALE
        and _numeric_labels(message.choices[0])
    ):
        scale = message.choices[0]
        out.extend(OptionPick(o.label.strip(), scale, o) for o in scale.options)
        next_key = max(int(p.key) for p in out) + 1 if out else 1
    else:
        next_key = 1
        for choices in message.choices:
            for option in choices.options:
                out.append(OptionPick(str(next_key), choices, option))
                next_key += 1
    if message.form is not None:
        out.append(FormPick(str(next_key), message.form))
    return tuple(out)


def _option_text(pick: OptionPick) -> str:
    label = clean(pick.option.label)
    shown = f"[{pick.key}]" if label.strip() == pick.key else f"[{pick.key}] {label}"
    return f"{shown} (chosen)" if pick.choices.selected == pick.option.value else shown


def render_choices(choices: Choices, message_picks: tuple[Pick, ...]) -> str:
    """One line of numbered options; a scale adds what its two ends mean."""
    mine = [p for p in message_picks if isinstance(p, OptionPick) and p.choices is choices]
    line = "  ".join(_option_text(p) for p in mine)
    if choices.style is ChoiceStyle.SCALE and mine and (choices.low_label or choices.high_label):
        ends = [f"{mine[0].key} = {clean(choices.low_label)}" if choices.low_label else ""]
        ends.append(f"{mine[-1].key} = {clean(choices.high_label)}" if choices.high_label else "")
        line += "   (" + ", ".join(e for e in ends if e) + ")"
    return line


def render_field(number: int, field: FormField) -> str:
    """One numbered field of a form, with its options when it is a select."""
    line = f"{number}. {clean(field.label)}"
    if not field.required:
        line += " (optional)"
    if field.kind is FieldKind.SELECT and field.options:
        line += ": " + "  ".join(f"[{i}] {clean(o.label)}" for i, o in enumerate(field.options, start=1))
    return line


def render_form(form: Form) -> list[str]:
    """A form as its title followed by its numbered fields."""
    return [clean(form.title), *(f"  {render_field(i, f)}" for i, f in enumerate(form.fields, start=1))]


def message_lines(message: Message) -> list[str]:
    """The message body as lines: text, choices, a form entry, context, in that order."""
    lines = render_text(message.text).split("\n") if message.text else []
    if message.thread:
        prefix = f"(thread {clean(message.thread)})"
        lines = [f"{prefix} {lines[0]}", *lines[1:]] if lines else [prefix]
    message_picks = picks(message)
    lines.extend(render_choices(c, message_picks) for c in message.choices if c.options)
    for pick in message_picks:
        if isinstance(pick, FormPick):
            lines.append(f"[{pick.key}] Fill in: {clean(pick.form.title)}")
    if message.context:
        lines.extend(clean(message.context).split("\n"))
    return lines or [""]


def block(target: str, lines: list[str], *, updated: bool = False) -> str:
    """``-> target: first line`` with the other lines indented by four spaces."""
    head = f"-> {target}{' (updated)' if updated else ''}: {lines[0]}".rstrip()
    return "\n".join([head, *(f"{INDENT}{line}".rstrip() for line in lines[1:])])


def render(target: str, message: Message, *, updated: bool = False) -> str:
    """A message to ``target`` (a handle, or ``#channel``), ready to print."""
    return block(target, message_lines(message), updated=updated)
