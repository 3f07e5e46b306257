"""Validators and converters shared by crmcore's definition types (private).

Every one raises a crmcore error naming the field, the value and what was
expected, so a definition built from bad data says exactly what to fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from crmcore.errors import DataTypeError


def name(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Attrs validator: a non-empty, non-blank string."""
    if not isinstance(value, str) or not value.strip():
        raise DataTypeError(attribute.name, value, "a non-empty name")


def text(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Attrs validator: any string (empty allowed)."""
    if not isinstance(value, str):
        raise DataTypeError(attribute.name, value, "a string")


def tuple_of(
    values: object, cls: type[Any], label: str, *, item: str | None = None
) -> tuple[Any, ...]:
    """Convert a list of ``cls`` instances to a tuple, checking every item.

    Args:
        values: The list (any iterable but a string or mapping).
        cls: The type every item must have.
        label: The field name used in errors (``label[3]`` for an item).
        item: How to call one item in errors; the class name by default.
    """
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
        raise DataTypeError(label, values, f"a list of {cls.__name__}")
    items = tuple(values)
    for index, entry in enumerate(items):
        if not isinstance(entry, cls):
            raise DataTypeError(f"{label}[{index}]", entry, item or cls.__name__)
    return items


def names(values: object, label: str, *, plural: str, item: str) -> tuple[str, ...]:
    """Convert a list of non-empty strings (keys, roles) to a tuple.

    Args:
        values: The list (any iterable but a string or mapping).
        label: The field name used in errors (``label[3]`` for an item).
        plural: What the whole list is, e.g. ``"a list of stage keys"``.
        item: What one item is, e.g. ``"a stage key"``.
    """
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
        raise DataTypeError(label, values, plural)
    items = tuple(values)
    for index, entry in enumerate(items):
        if not isinstance(entry, str) or not entry.strip():
            raise DataTypeError(f"{label}[{index}]", entry, item)
    return items
