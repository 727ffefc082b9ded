"""Limits on the Adaptive Cards the bot sends to Teams, and a check of a rendered card against them.

Sources (checked against the docs corpus while writing this):

- message size: https://learn.microsoft.com/microsoftteams/platform/bots/how-to/format-your-bot-messages
  counts the whole activity encoded as UTF-16; the page has said 40 KB and now says 100 KB (80 KB
  recommended), and Teams' own connector documents about 28 KB for a message with a card
  (https://learn.microsoft.com/connectors/teams/). We hold every message to the smallest, 28 KB.
- actions per action set: Teams' host config sets ``actions.maxActions`` to 6
  (microsoft/AdaptiveCards, source/nodejs/adaptivecards-designer/src/containers/teams-container.ts);
  a client shows the rest in an overflow menu or not at all.
- version: Teams renders Adaptive Cards up to 1.5.

The other numbers are our own, to keep a card readable on a phone; :func:`check_card` holds a
card to all of them. Text lengths are in UTF-16 code units (:func:`size`), as Teams counts.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from typing import Any

from dialogue.limits import utf16_units

VERSION = "1.5"
MESSAGE_BYTES = 28 * 1024
# What the activity around the card takes: ids, the conversation reference, service URL, the
# summary. The card gets the rest.
ENVELOPE_BYTES = 4 * 1024
CARD_BYTES = MESSAGE_BYTES - ENVELOPE_BYTES
MAX_ACTIONS = 6
# Our own limits.
FALLBACK_TEXT = 2000  # shown only by clients that cannot draw the card
SUMMARY = 200  # the activity's one-line summary
CONTEXT_TEXT = 1000
BUTTON_TITLE = 80
CHOICE_TITLE = 300
LABEL = 300
PLACEHOLDER = 150
ERROR_TEXT = 500


size = utf16_units  # the platform counts lengths in UTF-16 code units (most emoji count two)


def card_bytes(card: Mapping[str, Any]) -> int:
    """The card's size as Teams counts it: its compact JSON encoded as UTF-16, in bytes."""
    return 2 * size(json.dumps(card, ensure_ascii=False, separators=(",", ":")))


def check_card(card: Mapping[str, Any]) -> list[str]:
    """What in an Adaptive Card breaks Teams' limits or ours.

    Returns one line per problem, naming where it is (``body[2].actions[0].title``); empty
    when all is well. Schema validity is a separate matter (the tests validate every card
    against the Adaptive Cards 1.5 JSON schema).
    """
    checker = _Checker()
    checker.card(card)
    return checker.problems


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self.input_ids: Counter[str] = Counter()

    def over(self, where: str, text: object, limit: int) -> None:
        if isinstance(text, str) and size(text) > limit:
            self.problems.append(f"{where}: {size(text)} characters, the limit is {limit}")

    def blank(self, where: str, text: object) -> None:
        if not isinstance(text, str) or not text.strip():
            self.problems.append(f"{where}: must not be empty")

    def card(self, card: Mapping[str, Any]) -> None:
        if card.get("type") != "AdaptiveCard":
            self.problems.append(f"type: {card.get('type')!r}, must be 'AdaptiveCard'")
        if card.get("version") != VERSION:
            self.problems.append(f"version: {card.get('version')!r}, Teams draws up to {VERSION}")
        used = card_bytes(card)
        if used > CARD_BYTES:
            self.problems.append(
                f"card: {used} bytes as UTF-16, the limit is {CARD_BYTES} "
                f"({MESSAGE_BYTES} for the message less {ENVELOPE_BYTES} for the activity)"
            )
        self.over("fallbackText", card.get("fallbackText"), FALLBACK_TEXT)
        self.actions("actions", card.get("actions", []))
        self.elements("body", card.get("body", []))
        self.problems.extend(
            f"input id {key!r} is used {n} times" for key, n in self.input_ids.items() if n > 1
        )

    def elements(self, where: str, elements: object) -> None:
        for i, element in enumerate(elements if isinstance(elements, list) else []):
            if isinstance(element, Mapping):
                self.element(f"{where}[{i}]", element)

    def element(self, where: str, element: Mapping[str, Any]) -> None:
        kind = element.get("type")
        if kind == "TextBlock":
            self.blank(f"{where}.text", element.get("text"))
        elif kind == "RichTextBlock":
            inlines = element.get("inlines")
            if not isinstance(inlines, list) or not inlines:
                self.problems.append(f"{where}.inlines: needs at least 1")
            for i, inline in enumerate(inlines if isinstance(inlines, list) else []):
                text = inline.get("text") if isinstance(inline, Mapping) else inline
                if not isinstance(text, str) or not text:
                    self.problems.append(f"{where}.inlines[{i}]: empty text")
        elif kind == "ActionSet":
            self.actions(f"{where}.actions", element.get("actions"), least=1)
        elif isinstance(kind, str) and kind.startswith("Input."):
            self.input(where, element)
        self.elements(f"{where}.items", element.get("items"))  # a Container's elements

    def actions(self, where: str, actions: object, *, least: int = 0) -> None:
        found = actions if isinstance(actions, list) else []
        if len(found) > MAX_ACTIONS:
            self.problems.append(f"{where}: {len(found)} actions, Teams shows {MAX_ACTIONS}")
        if len(found) < least:
            self.problems.append(f"{where}: needs at least {least}")
        for i, action in enumerate(found):
            self.blank(f"{where}[{i}].title", action.get("title"))
            self.over(f"{where}[{i}].title", action.get("title"), BUTTON_TITLE)
            if action.get("type") == "Action.Execute":
                self.blank(f"{where}[{i}].verb", action.get("verb"))
                if not isinstance(action.get("data"), Mapping):
                    self.problems.append(f"{where}[{i}].data: must be an object")

    def input(self, where: str, element: Mapping[str, Any]) -> None:
        input_id = element.get("id")
        self.blank(f"{where}.id", input_id)
        self.input_ids[str(input_id)] += 1
        self.over(f"{where}.label", element.get("label"), LABEL)
        self.over(f"{where}.placeholder", element.get("placeholder"), PLACEHOLDER)
        self.over(f"{where}.errorMessage", element.get("errorMessage"), ERROR_TEXT)
        if element.get("type") == "Input.Text":
            length = element.get("maxLength")
            if length is not None and length < 1:
                self.problems.append(f"{where}.maxLength: {length}, must be at least 1")
        elif element.get("type") == "Input.ChoiceSet":
            choices = element.get("choices")
            if not isinstance(choices, list) or not choices:
                self.problems.append(f"{where}.choices: needs at least 1")
                return
            values = Counter(str(c.get("value")) for c in choices)
            self.problems.extend(
                f"{where}.choices: value {v!r} is used {n} times" for v, n in values.items() if n > 1
            )
            for i, choice in enumerate(choices):
                self.blank(f"{where}.choices[{i}].title", choice.get("title"))
                self.over(f"{where}.choices[{i}].title", choice.get("title"), CHOICE_TITLE)
            if "value" in element and element["value"] not in values:
                self.problems.append(f"{where}.value: {element['value']!r} is not one of the choices")
