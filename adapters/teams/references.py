"""Conversation references from the JSON we keep of them, made without msrest's general deserialiser.

Every Teams message to a person starts from the reference kept for them, and msrest's deserialiser (key
extractors, type lookups, additional-property checks for every field of three nested models) took a
fifth of a send's CPU. The quick walk below makes the same models from the same JSON; anything it does
not know (a key or type botbuilder's attribute maps do not name plainly) goes msrest's way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from botbuilder import schema
from botbuilder.schema import ConversationReference
from msrest.serialization import Model

from adapters.teams.connector import Unplain

M = TypeVar("M", bound=Model)


def reference_from(data: Mapping[str, Any]) -> ConversationReference:
    """``ConversationReference().deserialize(data)``, made quickly for the JSON we keep."""
    try:
        return _model(ConversationReference, data)
    except Unplain:
        return ConversationReference().deserialize(data)


def _model(cls: type[M], data: Any) -> M:
    if not isinstance(data, dict) or cls._validation or getattr(cls, "_subtype_map", None):
        raise Unplain(cls.__name__)
    fields: dict[str, Any] = {}
    for key, value in data.items():
        found = _fields_of(cls).get(key)
        if found is None:  # msrest would drop it, or keep it as an additional property
            raise Unplain(key)
        name, kind = found
        fields[name] = _value(kind, value)
    return cls(**fields)


def _fields_of(cls: type[Model]) -> dict[str, tuple[str, str]]:
    """The model's fields by JSON key: ``key -> (attribute, msrest type)``."""
    fields = _FIELDS.get(cls.__name__)
    if fields is None:
        fields = {spec["key"]: (name, spec["type"]) for name, spec in cls._attribute_map.items()}
        _FIELDS[cls.__name__] = fields
    return fields


_FIELDS: dict[str, dict[str, tuple[str, str]]] = {}


def _value(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "str" and isinstance(value, str):
        return value
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "object":
        return _copy(value)
    model = getattr(schema, kind, None)
    if isinstance(model, type) and issubclass(model, Model):
        return _model(model, value)
    raise Unplain(kind)


def _copy(value: Any) -> Any:
    """A JSON value copied as msrest copies an ``object`` field."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value
