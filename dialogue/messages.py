"""Outbound messages as plain data; each adapter decides how to draw them.

A message is text plus, optionally, a set of choices (buttons or a rating scale), a
form, or a place in a question's thread. :meth:`Message.fallback` gives the plain-text
version every platform can show.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from dialogue.text import Text, UserText, same_words


class ChoiceStyle(StrEnum):
    """How a set of choices should look."""

    BUTTONS = "buttons"
    SCALE = "scale"  # an ordered rating (1-5, 0-10)


@dataclass(frozen=True)
class Option:
    """One choice a person can make."""

    label: str
    value: str


@dataclass(frozen=True)
class Choices:
    """Buttons that send ``(action, ref, value)`` back to the core when clicked."""

    action: str
    ref: str
    options: tuple[Option, ...]
    style: ChoiceStyle = ChoiceStyle.BUTTONS
    low_label: str = ""
    high_label: str = ""
    selected: str | None = None  # the value the person chose, shown as chosen

    def spoken(self, option: Option) -> str | None:
        """What a screen reader should say for ``option``'s button where its label alone does not tell:
        a scale's point with the meaning of its end ("1 out of 5, Strongly disagree"), and the chosen one
        ("Yes, your answer"); None where the label says it all."""
        label = option.label.strip()
        if self.style is ChoiceStyle.SCALE and self.options:
            end = (
                self.low_label
                if option is self.options[0]
                else self.high_label
                if option is self.options[-1]
                else ""
            )
            label = f"{label} out of {self.options[-1].label.strip()}" + (f", {end}" if end else "")
        elif option.value != self.selected:
            return None
        return label + (", your answer" if option.value == self.selected else "")


class FieldKind(StrEnum):
    """Input kinds a form field can have."""

    TEXT = "text"
    LONG_TEXT = "long_text"
    SELECT = "select"


@dataclass(frozen=True)
class FormField:
    """One input of a form."""

    name: str
    label: str
    kind: FieldKind = FieldKind.TEXT
    required: bool = True
    max_length: int = 1000
    options: tuple[Option, ...] = ()
    placeholder: str = ""


@dataclass(frozen=True)
class Form:
    """A form (Slack modal, Teams card inputs, console questions)."""

    form: str  # what the submission means, e.g. "idea.submit"
    ref: str  # what it is about, e.g. "campaign:3" or "idea:12"
    title: str
    fields: tuple[FormField, ...]
    submit_label: str = "Submit"


@dataclass(frozen=True)
class Message:
    """Something the bot says. ``thread`` places it in a question's thread."""

    text: Text
    choices: tuple[Choices, ...] = ()
    form: Form | None = None
    thread: str | None = None  # thread key, e.g. "question:12"; its root is the message with ``anchor`` = key
    anchor: str | None = None  # this message starts the thread with this key
    context: str = ""  # a short line under the message (e.g. "closes Fri 17:00"), plain text

    def fallback(self) -> str:
        """The whole message as plain text, for platforms or clients without rich rendering."""
        parts = [self.text.plain()]
        for choice in self.choices:
            # Screen readers read this text, not the buttons: say what the ends of a scale mean, and the
            # chosen answer by its label (a choice's value is its number from 0).
            labels = ", ".join(o.label for o in choice.options)
            if choice.low_label and choice.high_label and choice.options:
                first, last = choice.options[0].label, choice.options[-1].label
                meaning = f"{first} is {choice.low_label} and {last} is {choice.high_label}"
                labels = f"{first} to {last}, where {meaning}"
            chosen = next((o.label for o in choice.options if o.value == choice.selected), None)
            parts.append(f"Choices: {labels}." + (f" Your answer: {chosen}." if chosen is not None else ""))
        if self.form is not None:
            parts.append(f"[{self.form.title}: " + ", ".join(f.label for f in self.form.fields) + "]")
        if self.context:
            parts.append(self.context)
        return "\n".join(p for p in parts if p)


def typed_label(text: str, options: Iterable[Option]) -> Option | None:
    """The option whose button says what ``text`` says (case, spacing, quotes and end punctuation aside):
    people who type rather than tap, as many screen reader users do, type what the button says."""
    return next((o for o in options if same_words(o.label, text)), None)


@dataclass(frozen=True)
class Reply:
    """What the core answers to the person who spoke.

    ``messages`` go back to them at once; ``replace`` is a new version of the message
    they clicked (to show their choice in place); ``form_errors`` maps field names to
    problems when a form submission was refused.
    """

    messages: tuple[Message, ...] = ()
    replace: Message | None = None
    form_errors: dict[str, str] = field(default_factory=dict)
    form: Form | None = None  # a form to open (Slack modal, Teams task module, console prompts)
    seen_before: bool = False  # the event had arrived before (a platform's retry): nothing was done again


def text_to_data(text: Text) -> list[Any]:
    """Serialise text: literal spans as strings, user spans as ``{"user": ...}``."""
    return [s if isinstance(s, str) else {"user": s.text} for s in text.spans]


def text_from_data(data: list[Any]) -> Text:
    """Inverse of :func:`text_to_data`."""
    return Text(tuple(s if isinstance(s, str) else UserText(str(s["user"])) for s in data))


def _options_to_data(options: tuple[Option, ...]) -> list[dict[str, str]]:
    return [{"label": o.label, "value": o.value} for o in options]


def _options_from_data(data: list[dict[str, str]]) -> tuple[Option, ...]:
    return tuple(Option(label=o["label"], value=o["value"]) for o in data)


def message_to_data(message: Message) -> dict[str, Any]:
    """Serialise a message to JSON-compatible data (for the outbox)."""
    data: dict[str, Any] = {"text": text_to_data(message.text)}
    if message.choices:
        data["choices"] = [
            {
                "action": c.action,
                "ref": c.ref,
                "options": _options_to_data(c.options),
                "style": c.style.value,
                "low_label": c.low_label,
                "high_label": c.high_label,
                "selected": c.selected,
            }
            for c in message.choices
        ]
    if message.form is not None:
        data["form"] = form_to_data(message.form)
    for key in ("thread", "anchor"):
        value = getattr(message, key)
        if value is not None:
            data[key] = value
    if message.context:
        data["context"] = message.context
    return data


def message_from_data(data: dict[str, Any]) -> Message:
    """Inverse of :func:`message_to_data`."""
    return Message(
        text=text_from_data(data["text"]),
        choices=tuple(
            Choices(
                action=c["action"],
                ref=c["ref"],
                options=_options_from_data(c["options"]),
                style=ChoiceStyle(c.get("style", "buttons")),
                low_label=c.get("low_label", ""),
                high_label=c.get("high_label", ""),
                selected=c.get("selected"),
            )
            for c in data.get("choices", [])
        ),
        form=form_from_data(data["form"]) if "form" in data else None,
        thread=data.get("thread"),
        anchor=data.get("anchor"),
        context=data.get("context", ""),
    )


def form_to_data(form: Form) -> dict[str, Any]:
    """Serialise a form."""
    return {
        "form": form.form,
        "ref": form.ref,
        "title": form.title,
        "submit_label": form.submit_label,
        "fields": [
            {
                "name": f.name,
                "label": f.label,
                "kind": f.kind.value,
                "required": f.required,
                "max_length": f.max_length,
                "options": _options_to_data(f.options),
                "placeholder": f.placeholder,
            }
            for f in form.fields
        ],
    }


def form_from_data(data: dict[str, Any]) -> Form:
    """Inverse of :func:`form_to_data`."""
    return Form(
        form=data["form"],
        ref=data["ref"],
        title=data["title"],
        submit_label=data.get("submit_label", "Submit"),
        fields=tuple(
            FormField(
                name=f["name"],
                label=f["label"],
                kind=FieldKind(f["kind"]),
                required=f["required"],
                max_length=f["max_length"],
                options=_options_from_data(f["options"]),
                placeholder=f.get("placeholder", ""),
            )
            for f in data["fields"]
        ),
    )
