"""Slack adapter: Bolt listeners (``app``), the outbox sender (``sender``), and Block Kit rendering."""

from adapters.slack.limits import check_limits
from adapters.slack.render import (
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
)

__all__ = [
    "check_limits",
    "decode_action",
    "decode_view",
    "encode_action",
    "escape",
    "form_errors",
    "form_values",
    "form_view",
    "message_blocks",
    "message_payload",
    "plain_text",
]
