"""The JSON Schema of a playbook, generated from its types and the registries."""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final, Literal, Union, get_args, get_origin

import attrs

from crmcore.business_time import WorkingWindow
from crmcore.calendar import PeriodUnit
from crmcore.conditions import Duration
from crmcore.ownership import Asset
from crmcore.playbook.value import PLAYBOOK_VERSION, Playbook
from crmcore.registry import Registry, registries

__all__ = ["SCHEMA_ID", "playbook_schema"]

SCHEMA_ID: Final = (
    f"https://crmcore.readthedocs.io/schema/playbook-{PLAYBOOK_VERSION}.json"
)
"""The ``$id`` of the published schema of this playbook version."""

_CALENDAR_UNITS: Final = ("y", "mo", "w", "d", "h", "m", "s")
_NUMBER: Final = {
    "anyOf": [
        {"type": "string", "pattern": r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"},
        {"type": "number"},
    ],
    "description": 'An exact number: a numeric string such as "0.25" or a JSON number.',
}
_TEXT_FORMS: Final[dict[Any, dict[str, Any]]] = {
    Asset: {
        "type": "string",
        "pattern": r"^[a-z_]+:.+$",
        "description": 'A part of the configuration, kind:key, e.g. "stage:proposal".',
    },
    WorkingWindow: {
        "type": "string",
        "pattern": r"^\d\d:\d\d-\d\d:\d\d$",
        "description": 'Working hours, e.g. "09:00-17:00".',
    },
    Duration: {
        "type": "string",
        "minLength": 2,
        "pattern": "^ *"
        + "".join(f"(\\d+ *{unit} *)?" for unit in _CALENDAR_UNITS)
        + "$",
        "description": 'A calendar duration, e.g. "90d" or "1y6mo".',
    },
    timedelta: {
        "type": "string",
        "minLength": 2,
        "pattern": r"^ *-?(\d{1,9}h)?(\d{1,9}m)?(\d{1,9}(\.\d{1,6})?s)? *$",
        "description": 'Elapsed or business time, e.g. "4h" or "1h30m".',
    },
    datetime: {
        "type": "string",
        "format": "date-time",
        "description": "An ISO 8601 instant with its UTC offset.",
    },
    date: {"type": "string", "format": "date"},
    PeriodUnit: {
        "anyOf": [
            {"type": "string"},
            {
                "type": "object",
                "properties": {
                    "kind": {"type": "string"},
                    "fiscal_start_month": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": 12,
                    },
                },
                "required": ["kind"],
                "additionalProperties": False,
            },
        ]
    },
    str: {"type": "string"},
    bool: {"type": "boolean"},
    int: {"type": "integer"},
    Decimal: _NUMBER,
    object: {},
    Any: {},
}


class _Builder:
    def __init__(self) -> None:
        self.defs: dict[str, Any] = {}

    def ref(self, cls: type[Any]) -> dict[str, Any]:
        name = cls.__name__
        if name not in self.defs:
            self.defs[name] = {}  # a placeholder: classes may refer to themselves
            self.defs[name] = self.attrs_class(cls)
        return {"$ref": f"#/$defs/{name}"}

    def attrs_class(self, cls: type[Any], *, kind: str | None = None) -> dict[str, Any]:
        attrs.resolve_types(cls)
        properties: dict[str, Any] = {}
        required: list[str] = []
        if kind is not None:
            properties["kind"] = {"const": kind}
            required.append("kind")
        for attribute in attrs.fields(cls):
            if not attribute.init:
                continue
            name = attribute.alias
            encoded = attribute.metadata.get("crmcore_encode") is not None
            properties[name] = {} if encoded else self.type(attribute.type)
            if attribute.default is attrs.NOTHING:
                required.append(name)
        schema: dict[str, Any] = {
            "type": "object",
            "properties": properties,
            "additionalProperties": False,
        }
        if required:
            schema["required"] = required
        doc = (cls.__doc__ or "").strip().splitlines()
        if doc:
            schema["description"] = doc[0]
        return schema

    def family(self, registry: Registry) -> dict[str, Any]:
        name = registry.what.title().replace(" ", "")
        if name not in self.defs:
            self.defs[name] = {}
            options = []
            for kind, cls in sorted(registry.kinds().items()):
                key = f"{name}_{kind}"
                self.defs[key] = self.attrs_class(cls, kind=kind)
                options.append({"$ref": f"#/$defs/{key}"})
            self.defs[name] = {
                "description": f"A {registry.what}: an object whose 'kind' names it.",
                "oneOf": options,
            }
        return {"$ref": f"#/$defs/{name}"}

    def type(self, hint: Any) -> dict[str, Any]:
        if hint in _TEXT_FORMS:
            return dict(_TEXT_FORMS[hint])
        for registry in registries():
            if registry.protocol is hint:
                return self.family(registry)
        origin = get_origin(hint)
        args = get_args(hint)
        if origin is Literal:
            return {"enum": list(args)}
        if origin in (Union, types.UnionType):
            options = [self.type(arg) for arg in args if arg is not type(None)]
            if type(None) in args:
                options.append({"type": "null"})
            return options[0] if len(options) == 1 else {"anyOf": options}
        if origin in (tuple, list, frozenset, set) or hint in (tuple, list):
            item = args[0] if args else Any
            return {"type": "array", "items": self.type(item)}
        if origin in (dict, Mapping) or origin is typing.Mapping:
            value = args[1] if len(args) == 2 else Any
            return {"type": "object", "additionalProperties": self.type(value)}
        if isinstance(hint, type) and attrs.has(hint):
            return self.ref(hint)
        raise TypeError(f"no JSON Schema for {hint!r}")  # pragma: no cover - a new type


def playbook_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a playbook file of this version.

    Generated from the playbook's types and the registered kinds (a
    vendor's condition, criterion, rule or check kinds appear in it once
    registered), so it never drifts from what
    [`load_playbook`][crmcore.playbook.load_playbook] reads. Loading still
    checks more than a schema can say (unique keys, cross-field rules).

    Examples:
        >>> schema = playbook_schema()
        >>> schema["$schema"]
        'https://json-schema.org/draft/2020-12/schema'
        >>> schema["required"]
        ['version', 'name']
        >>> "Segment" in schema["$defs"]
        True
    """
    builder = _Builder()
    root = builder.attrs_class(Playbook)
    root["properties"]["version"] = {"const": PLAYBOOK_VERSION}
    root["required"] = ["version", *root["required"]]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "crmcore playbook",
        **root,
        "$defs": dict(sorted(builder.defs.items())),
    }
