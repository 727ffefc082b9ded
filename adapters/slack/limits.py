"""Block Kit's published limits, and a check of a rendered message or view against them.

Sources (checked against the docs corpus while writing this):

- blocks per surface: https://docs.slack.dev/reference/block-kit/blocks
- section, actions, context, input blocks: https://api.slack.com/reference/block-kit/blocks
- button: https://docs.slack.dev/reference/block-kit/block-elements/button-element
- static select, radio buttons, option object:
  https://docs.slack.dev/reference/block-kit/composition-objects/option-object
- plain-text input: https://docs.slack.dev/reference/block-kit/block-elements/plain-text-input-element
- modal views: https://docs.slack.dev/reference/views/modal-views
- message ``text``: https://api.slack.com/methods/chat.postMessage (4,000 advised, 40,000 kept)

Lengths are counted in UTF-16 code units (:func:`size`). Slack does not say how it counts;
UTF-16 units are never fewer than code points (which slack_sdk's own validation counts), so
a text within the limit by this measure is within it by either.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from typing import Any

from dialogue.limits import utf16_units

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100  # modals and the App Home tab
# The top-level ``text`` of a message: Slack truncates it at 40,000 characters but advises 4,000 at
# most; with blocks it is only the notification, so the renderer cuts it to the advice.
MESSAGE_TEXT = 4000
TEXT_OBJECT = 3000  # any text object, including section text and context elements
SECTION_FIELDS = 10
SECTION_FIELD_TEXT = 2000
HEADER_TEXT = 150
BLOCK_ID = 255
ACTION_ID = 255
ACTIONS_ELEMENTS = 25
CONTEXT_ELEMENTS = 10
BUTTON_TEXT = 75
ACCESSIBILITY_LABEL = 75  # a button's words for screen readers
BUTTON_VALUE = 2000
BUTTON_URL = 3000
SELECT_OPTIONS = 100
RADIO_OPTIONS = 10
OPTION_TEXT = 75
OPTION_VALUE = 150
PLACEHOLDER = 150
INPUT_LABEL = 2000
INPUT_HINT = 2000
INPUT_MAX_LENGTH = 3000
VIEW_TITLE = 24
VIEW_BUTTON = 24  # submit and close labels
CALLBACK_ID = 255
PRIVATE_METADATA = 3000
# Not published: Slack answers msg_blocks_too_long well below 50 x 3000 characters of block
# text (about 13,000 in https://github.com/slackapi/bolt-js/issues/2509), so the renderer keeps
# a message's block text under this and the check holds it to the same.
MESSAGE_BLOCK_TEXT = 12_000


size = utf16_units  # the platform counts lengths in UTF-16 code units (most emoji count two)


def check_limits(payload: Mapping[str, Any]) -> list[str]:
    """What in a message payload (``text`` + ``blocks``) or a view breaks Block Kit's limits.

    A view is recognised by its ``type`` (``modal`` or ``home``). Returns one line per
    problem, naming where it is (``blocks[2].elements[0].text``); empty when all is well.
    """
    checker = _Checker()
    checker.surface(payload)
    return checker.problems


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self.action_ids: Counter[str] = Counter()
        self.block_ids: Counter[str] = Counter()

    def over(self, where: str, text: object, limit: int) -> None:
        if isinstance(text, str) and size(text) > limit:
            self.problems.append(f"{where}: {size(text)} characters, the limit is {limit}")

    def text_object(self, where: str, obj: object, limit: int = TEXT_OBJECT) -> None:
        if not isinstance(obj, Mapping):
            self.problems.append(f"{where}: missing text")
            return
        text = obj.get("text")
        if not isinstance(text, str) or not text.strip():
            self.problems.append(f"{where}: text must not be empty")
        self.over(f"{where}.text", text, limit)

    def count(self, where: str, items: object, limit: int, *, least: int = 1) -> list[Any]:
        found = list(items) if isinstance(items, list) else []
        if len(found) > limit:
            self.problems.append(f"{where}: {len(found)} items, the limit is {limit}")
        if len(found) < least:
            self.problems.append(f"{where}: needs at least {least}")
        return found

    def surface(self, payload: Mapping[str, Any]) -> None:
        blocks = payload.get("blocks", [])
        if isinstance(blocks, str):  # the Web API also takes blocks as a JSON string
            blocks = json.loads(blocks)
        kind = payload.get("type")
        if kind in ("modal", "home"):
            self.count("blocks", blocks, VIEW_BLOCKS)
            self.over("callback_id", payload.get("callback_id"), CALLBACK_ID)
            self.over("private_metadata", payload.get("private_metadata"), PRIVATE_METADATA)
            if kind == "modal":
                self.text_object("title", payload.get("title"), VIEW_TITLE)
                for key in ("submit", "close"):
                    if key in payload:
                        self.text_object(key, payload[key], VIEW_BUTTON)
        else:
            self.count("blocks", blocks, MESSAGE_BLOCKS, least=0)
            self.over("text", payload.get("text"), MESSAGE_TEXT)
            self.over("block text", "".join(_texts(blocks)), MESSAGE_BLOCK_TEXT)
        for i, block in enumerate(blocks if isinstance(blocks, list) else []):
            self.block(f"blocks[{i}]", block)
        for name, ids in (("action_id", self.action_ids), ("block_id", self.block_ids)):
            self.problems.extend(f"{name} {key!r} is used {n} times" for key, n in ids.items() if n > 1)

    def block(self, where: str, block: Mapping[str, Any]) -> None:
        if "block_id" in block:
            self.block_ids[str(block["block_id"])] += 1
            self.over(f"{where}.block_id", block["block_id"], BLOCK_ID)
        kind = block.get("type")
        if kind == "section":
            if "text" in block or "fields" not in block:
                self.text_object(f"{where}.text", block.get("text"))
            for i, field in enumerate(
                self.count(f"{where}.fields", block.get("fields", []), SECTION_FIELDS, least=0)
            ):
                self.text_object(f"{where}.fields[{i}]", field, SECTION_FIELD_TEXT)
            if "accessory" in block:
                self.element(f"{where}.accessory", block["accessory"])
        elif kind == "header":
            self.text_object(f"{where}.text", block.get("text"), HEADER_TEXT)
        elif kind == "actions":
            for i, element in enumerate(
                self.count(f"{where}.elements", block.get("elements"), ACTIONS_ELEMENTS)
            ):
                self.element(f"{where}.elements[{i}]", element)
        elif kind == "context":
            for i, element in enumerate(
                self.count(f"{where}.elements", block.get("elements"), CONTEXT_ELEMENTS)
            ):
                if element.get("type") in ("mrkdwn", "plain_text"):
                    self.text_object(f"{where}.elements[{i}]", element)
        elif kind == "input":
            self.text_object(f"{where}.label", block.get("label"), INPUT_LABEL)
            if "hint" in block:
                self.text_object(f"{where}.hint", block["hint"], INPUT_HINT)
            self.element(f"{where}.element", block.get("element", {}))

    def element(self, where: str, element: Mapping[str, Any]) -> None:
        if "action_id" in element:
            self.action_ids[str(element["action_id"])] += 1
            self.over(f"{where}.action_id", element["action_id"], ACTION_ID)
        if "placeholder" in element:
            self.text_object(f"{where}.placeholder", element["placeholder"], PLACEHOLDER)
        kind = element.get("type")
        if kind == "button":
            self.text_object(f"{where}.text", element.get("text"), BUTTON_TEXT)
            self.over(f"{where}.value", element.get("value"), BUTTON_VALUE)
            self.over(f"{where}.url", element.get("url"), BUTTON_URL)
            self.over(f"{where}.accessibility_label", element.get("accessibility_label"), ACCESSIBILITY_LABEL)
        elif kind in ("static_select", "radio_buttons"):
            limit = SELECT_OPTIONS if kind == "static_select" else RADIO_OPTIONS
            for i, option in enumerate(self.count(f"{where}.options", element.get("options"), limit)):
                self.option(f"{where}.options[{i}]", option)
            if "initial_option" in element:
                self.option(f"{where}.initial_option", element["initial_option"])
        elif kind == "plain_text_input":
            length = element.get("max_length")
            if length is not None and not 1 <= int(length) <= INPUT_MAX_LENGTH:
                self.problems.append(f"{where}.max_length: {length}, must be 1 to {INPUT_MAX_LENGTH}")

    def option(self, where: str, option: Mapping[str, Any]) -> None:
        self.text_object(f"{where}.text", option.get("text"), OPTION_TEXT)
        self.over(f"{where}.value", option.get("value"), OPTION_VALUE)


def _texts(blocks: object) -> list[str]:
    """The text of every section and context element of a message, in order."""
    out: list[str] = []
    for block in blocks if isinstance(blocks, list) else []:
        parts = [block.get("text"), *block.get("fields", [])] if block.get("type") == "section" else []
        if block.get("type") == "context":
            parts = list(block.get("elements", []))
        out.extend(str(p.get("text", "")) for p in parts if isinstance(p, Mapping))
    return out
