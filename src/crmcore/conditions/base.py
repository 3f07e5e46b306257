"""What every condition kind shares: the protocol, the registry, limits, reading.

Private to the rule language (``crmcore.conditions``): the modules of the
package build on it; users import from ``crmcore.conditions``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, ClassVar, Final, Protocol, TypeAlias

import attrs

from crmcore import validators as _v
from crmcore.errors import (
    CurrencyMismatchError,
    DataError,
    DataTypeError,
    DefinitionError,
    NaiveDatetimeError,
    Problem,
)
from crmcore.records import MISSING, field_getter, parse_path
from crmcore.registry import Registry

MAX_DEPTH: Final = 32
"""Deepest nesting of combinators a definition may have."""
MAX_NODES: Final = 10_000
"""Most conditions (leaves and combinators) one definition may hold."""

Predicate: TypeAlias = Callable[[Any], bool]
"""A compiled condition: one record in, a verdict out."""
Test: TypeAlias = Callable[[Any], bool]
"""A test on one field value (what a leaf does once the value is read)."""


_check_path = _v.field_path()


class Condition(Protocol):
    """The type of every condition, built-in and registered alike.

    A kind is a frozen attrs class with a ``kind`` name and either
    ``bind(as_of)`` returning the per-record predicate for one ``as_of``, or
    ``test(record, as_of) -> bool``; see
    [`register_condition`][crmcore.conditions.register_condition]. Only
    registered classes are accepted where a condition is expected.
    """

    kind: ClassVar[str]


def _limits(data: object) -> None:
    """Reject definitions that are too deep or too large before structuring them.

    Every object and list is visited once (so sub-conditions under any key of
    any kind count); the depth is that of the objects with a ``kind``.
    """
    stack: list[tuple[object, int]] = [(data, 0)]
    nodes = 0
    while stack:
        node, depth = stack.pop()
        if isinstance(node, Mapping):
            if "kind" in node:
                nodes += 1
                depth += 1
                if depth > MAX_DEPTH:
                    raise DefinitionError(
                        "Condition",
                        [Problem("$", f"nested deeper than {MAX_DEPTH} levels")],
                    )
                if nodes > MAX_NODES:
                    raise DefinitionError(
                        "Condition",
                        [Problem("$", f"more than {MAX_NODES} conditions")],
                    )
            stack.extend((child, depth) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth) for child in node)


def _operators() -> type:
    """The operators every condition kind gets (defined above this module)."""
    from crmcore.conditions.kinds import Combinable  # noqa: PLC0415 - cycle

    return Combinable


CONDITION_KINDS: Final = Registry(
    "condition kind",
    group="crmcore.conditions",
    protocol=Condition,
    methods=(("bind",), ("test",)),
    needs="a bind(as_of) or test(record, as_of) method",
    operators=_operators,
    limits=_limits,
)
"""The registry of condition kinds: the built-ins and every registered vendor kind."""


_check_condition = _v.kind_of(CONDITION_KINDS, "a condition")
_opt_condition = _v.optional(_check_condition)


def _is_condition(value: object) -> bool:
    return CONDITION_KINDS.holds(value)


# ---------------------------------------------------------------------------
# Children of combinators, found from the fields' roles
# ---------------------------------------------------------------------------
def _children(condition: Any) -> tuple[object, ...]:
    """The sub-conditions a condition holds (fields with a condition role)."""
    found: list[object] = []
    for attribute in attrs.fields(type(condition)):
        role = attribute.metadata.get("crmcore")
        if role == "condition":
            child = getattr(condition, attribute.name)
            if child is not None:
                found.append(child)
        elif role == "conditions":
            found.extend(getattr(condition, attribute.name))
    return tuple(found)


def condition_fields(condition: object) -> tuple[str, ...]:
    """Every field path a condition reads, in order of first mention.

    Found from the kinds' field roles, so vendor kinds are covered too. The
    fields of an item condition (inside ``count``) are listed under their
    collection: ``activities[].kind``.

    Raises:
        DataTypeError: When ``condition`` is not a condition.

    Examples:
        >>> from crmcore.conditions import field
        >>> condition_fields((field("employees") >= 50) & field("country").is_in({"DE"}))
        ('employees', 'country')
    """  # noqa: E501
    if not _is_condition(condition):
        raise DataTypeError("condition", condition, "a condition")
    found: dict[str, None] = {}
    stack: list[tuple[Any, str]] = [(condition, "")]
    while stack:
        node, prefix = stack.pop()
        paths = [
            getattr(node, attribute.name)
            for attribute in attrs.fields(type(node))
            if attribute.metadata.get("crmcore") == "path"
        ]
        for path in paths:
            found.setdefault(prefix + path, None)
        # An item condition reads the items of the kind's collection field.
        inner = f"{prefix}{paths[0]}[]." if paths else prefix
        children: list[tuple[Any, str]] = []
        for attribute in attrs.fields(type(node)):
            role = attribute.metadata.get("crmcore")
            at = inner if attribute.metadata.get("crmcore_items") else prefix
            value = getattr(node, attribute.name)
            if role == "condition" and value is not None:
                children.append((value, at))
            elif role == "conditions":
                children.extend((child, at) for child in value)
        stack.extend(reversed(children))
    return tuple(found)


def _to_conditions(values: object) -> tuple[Condition, ...]:
    if not isinstance(values, Iterable) or isinstance(values, (str, Mapping)):
        raise DataTypeError("conditions", values, "a list of conditions")
    items = tuple(values)
    for index, item in enumerate(items):
        if not _is_condition(item):
            raise DataTypeError(f"conditions[{index}]", item, "a condition")
    return items


def _uses_as_of(conditions: Iterable[object]) -> bool:
    return any(getattr(c, "uses_as_of", False) for c in conditions)


def _bind_child(condition: Any, as_of: datetime | None) -> Predicate:
    bind = getattr(condition, "bind", None)
    if bind is not None:
        return bind(as_of)  # type: ignore[no-any-return]
    test = condition.test
    return lambda record: bool(test(record, as_of))


# ---------------------------------------------------------------------------
# Reading and comparing field values
# ---------------------------------------------------------------------------
def _incomparable(
    path: str, actual: object, expected: object, error: Exception
) -> bool:
    """Decide what a failed comparison means: absent is false, anything else errs."""
    if actual is MISSING or actual is None:
        return False
    if isinstance(actual, datetime) and actual.tzinfo is None:
        raise NaiveDatetimeError(path, actual)
    if isinstance(error, CurrencyMismatchError):
        raise CurrencyMismatchError(path, error.currencies[0], error.currencies[1])
    if isinstance(error, ArithmeticError):  # decimal.InvalidOperation: a NaN
        raise DataError(path, actual, f"a number comparable with {expected!r}")
    raise DataTypeError(path, actual, f"a value comparable with {expected!r}")


def _reader(path: str) -> Callable[[object], object]:
    return field_getter(path)


def _leaf_predicate(path: str, test: Test) -> Predicate:
    """Read the field, then test its value."""
    get = _reader(path)
    parts = parse_path(path)
    if len(parts) == 1:
        (key,) = parts
        missing = MISSING

        def on_key(record: object) -> bool:
            if type(record) is dict:
                row: dict[str, object] = record
                return test(row.get(key, missing))
            return test(get(record))

        return on_key
    return lambda record: test(get(record))
