"""botbuilder's models made from JSON without msrest's general deserialiser: every activity Teams posts
to us, and the conversation references we keep.

msrest's deserialiser runs its key extractors, type lookups and additional-property checks for every
field of every nested model. For an activity that was the largest single cost of a Teams request (py-spy
over ``benchmarks.ingest --platform teams``: 14% of the event loop's busy time), and for a kept reference
a fifth of a proactive send's CPU. The quick walk below makes the same models from the same JSON, keys it
does not know kept as additional properties as msrest keeps them; anything else it does not know (a value
of another type than the attribute map says, a flattened key, a model with constraints or subtypes) goes
msrest's way, so the result is always what msrest would make.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from botbuilder import schema
from botbuilder.schema import Activity, ConversationReference
from msrest.serialization import Deserializer, Model

from adapters.teams.connector import Unplain

M = TypeVar("M", bound=Model)


def activity_from(data: Mapping[str, Any]) -> Activity:
    """``Activity().deserialize(data)``, made quickly for the activities Teams posts."""
    try:
        return _model(Activity, data)
    except Unplain:
        return Activity().deserialize(data)


def reference_from(data: Mapping[str, Any]) -> ConversationReference:
    """``ConversationReference().deserialize(data)``, made quickly for the JSON we keep."""
    try:
        return _model(ConversationReference, data)
    except Unplain:
        return ConversationReference().deserialize(data)


def _model(cls: type[M], data: Any) -> M:
    if not isinstance(data, dict) or cls._validation or getattr(cls, "_subtype_map", None):
        raise Unplain(cls.__name__)
    known = _fields_of(cls)
    # msrest passes every attribute, None when absent, so a model's own defaults never show through.
    fields: dict[str, Any] = dict.fromkeys(cls._attribute_map)
    extra: dict[str, Any] = {}
    for key, value in data.items():
        found = known.get(key)
        if found is None:
            extra[key] = value  # as msrest keeps it: the raw value, not a copy
            continue
        name, kind = found
        fields[name] = _value(kind, value)
    made = cls(**fields)
    if extra:
        made.additional_properties = extra
    return made


def _fields_of(cls: type[Model]) -> dict[str, tuple[str, str]]:
    """The model's fields by JSON key: ``key -> (attribute, msrest type)``."""
    fields = _FIELDS.get(cls.__name__)
    if fields is None:
        fields = {}
        for name, spec in cls._attribute_map.items():
            key = spec["key"]
            if name == "additional_properties" or not key or "." in key or "\\" in key:
                raise Unplain(key)  # msrest unflattens or collects these; leave it to msrest
            fields[key] = (name, spec["type"])
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
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind == "object":
        return _copy(value)
    if kind == "iso-8601" and isinstance(value, str):
        try:
            # msrest's own parser, so the same datetime
            return Deserializer.deserialize_iso(value)  # type: ignore[no-untyped-call]
        except Exception as error:  # msrest wraps it in its own error; let msrest raise that
            raise Unplain(kind) from error
    if kind.startswith("[") and kind.endswith("]") and isinstance(value, list):
        return [_value(kind[1:-1], item) for item in value]
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
