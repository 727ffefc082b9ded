"""Logging set-up: plain text for people, or one JSON object per line for log collectors.

``NEXTPRACTICE_LOG_FORMAT=json`` gives each record as ``{"time", "level", "logger",
"message", ...}`` plus whatever the code passed as ``extra``.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Attributes every LogRecord has; anything else on a record came from ``extra``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

# Libraries that at DEBUG log SQL parameters or request bodies, which name people (and so could tie
# an anonymous idea to its author): they stay at INFO whatever NEXTPRACTICE_LOG_LEVEL says.
CHATTY = ("aiosqlite", "asyncpg", "slack_sdk", "slack_bolt", "botbuilder", "botframework", "msrest", "msal")


# Lines that say nothing an operator can act on, by logger. Alembic announces its dialect and DDL mode on
# every start (only the lines that say a migration ran matter); Bolt warns on every start that the token in
# SLACK_BOT_TOKEN is unused because we give it a client, which carries that same token.
_NOISE = {
    "alembic.runtime.migration": ("Context impl ", "Will assume "),
    "slack_bolt.AsyncApp": ("As you gave `client` as well, `token` will be unused",),
}


# Lines that would carry what someone wrote, by logger: Bolt logs a request whose signature fails (a rotated
# signing secret, a replica with an old one) with its whole body, which holds the person's words, Slack id and
# name, anonymous or not. The line is kept, without them.
_REDACTED = {
    "slack_bolt.RequestVerification": (
        "Invalid request signature detected",
        "Invalid request signature detected: refused with 401 (the request's body is not logged)",
    ),
}


class _WithoutNoise(logging.Filter):
    def __init__(self, prefixes: tuple[str, ...]) -> None:
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.prefixes)


class _Redacted(logging.Filter):
    def __init__(self, prefix: str, replacement: str) -> None:
        super().__init__()
        self.prefix, self.replacement = prefix, replacement

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith(self.prefix):
            record.msg, record.args = self.replacement, ()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, extra fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure(level: str | int, log_format: str = "text") -> None:
    """Give the root logger one stderr handler in ``log_format`` ("text" or "json") at ``level``."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level, handlers=[handler])
    numeric = level if isinstance(level, int) else logging.getLevelNamesMapping()[level.upper()]
    for name in CHATTY:
        logging.getLogger(name).setLevel(max(numeric, logging.INFO))
    for name, prefixes in _NOISE.items():
        noisy = logging.getLogger(name)
        if not any(isinstance(f, _WithoutNoise) for f in noisy.filters):
            noisy.addFilter(_WithoutNoise(prefixes))
    for name, (prefix, replacement) in _REDACTED.items():
        telling = logging.getLogger(name)
        if not any(isinstance(f, _Redacted) for f in telling.filters):
            telling.addFilter(_Redacted(prefix, replacement))
