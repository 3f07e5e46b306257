"""The one set of validators and converters every crmcore definition type uses.

Attrs-style factories, as ``attrs.validators``: ``attrs.field(validator=
name())``. The same problem raises the same error class with the same
message wherever it occurs: a value of the wrong **type** is a
[`DataTypeError`][crmcore.errors.DataTypeError] (also a ``TypeError``), a
value of the right type out of range a
[`DataError`][crmcore.errors.DataError] (also a ``ValueError``); each names
the field, the value and what was expected.

This is an internal module shared by crmcore's packages, documented for
vendors whose own kinds want the same messages.

Examples:
    >>> import attrs
    >>> @attrs.frozen
    ... class Quota:
    ...     owner: str = attrs.field(validator=name())
    ...     deals: int = attrs.field(validator=non_negative_int())
    >>> Quota("ada", -1)
    Traceback (most recent call last):
    ...
    crmcore.errors.DataError: deals: expected a non-negative int, got -1 (int)
    >>> Quota("ada", "3")
    Traceback (most recent call last):
    ...
    crmcore.errors.DataTypeError: deals: expected a non-negative int, got '3' (str)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final, TypeVar

import attrs

from crmcore.access import parse_path
from crmcore.calendar import require_aware
from crmcore.errors import DataError, DataTypeError
from crmcore.money import check_currency, to_decimal
from crmcore.registry import Registry

__all__ = [
    "Validator",
    "aware_instant",
    "boolean",
    "check_field_path",
    "check_fraction",
    "check_one_of",
    "currency",
    "dates",
    "field_path",
    "field_paths",
    "identifier",
    "instance_of",
    "kind_of",
    "list_of",
    "name",
    "names",
    "non_negative_int",
    "one_of",
    "optional",
    "plain_name",
    "positive_int",
    "probability",
    "text",
    "tuple_of",
    "tuple_of_kinds",
    "unique_keys",
]

_T = TypeVar("_T")

Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]
"""An attrs validator ``(instance, attribute, value) -> None``; raises on bad values."""


def _type_check(test: Callable[[object], bool], expected: str) -> Validator:
    """A validator raising a ``DataTypeError`` when ``test(value)`` is false."""

    def check(_i: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not test(value):
            raise DataTypeError(attribute.name, value, expected)

    return check


def _is_name(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _is_text(value: object) -> bool:
    return isinstance(value, str)


def _is_bool(value: object) -> bool:
    return isinstance(value, bool)


def name() -> Validator:
    """A non-empty, non-blank string (a name, a key, a role)."""
    return _type_check(_is_name, "a non-empty name")


def text() -> Validator:
    """Any string (empty allowed): a message, a description."""
    return _type_check(_is_text, "a string")


def identifier() -> Validator:
    """A non-empty string id (``""`` is a ``DataError``, a non-string a type error)."""

    def check(_i: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if type(value) is not str or not value:
            error = DataError if isinstance(value, str) else DataTypeError
            raise error(attribute.name, value, "a non-empty string id")

    return check


_PLAIN_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")


def plain_name() -> Validator:
    """A name of letters, digits, ``_`` and ``-`` (safe as a file's name).

    For names a shell turns into paths, such as a data set read from
    ``DIR/<name>.jsonl``: no ``/``, no ``..``, nothing hidden.
    """

    def check(_i: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if type(value) is not str:
            raise DataTypeError(attribute.name, value, "a name (a text)")
        if not _PLAIN_NAME.fullmatch(value):
            raise DataError(
                attribute.name,
                value,
                "a name of letters, digits, _ and - (such as 'leads')",
            )

    return check


def boolean() -> Validator:
    """``True`` or ``False`` (not 0 or 1)."""
    return _type_check(_is_bool, "true or false")


def _int(least: int, expected: str) -> Validator:
    def check(_i: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if type(value) is not int:
            raise DataTypeError(attribute.name, value, expected)
        if value < least:
            raise DataError(attribute.name, value, expected)

    return check


def non_negative_int(*, expected: str = "a non-negative int") -> Validator:
    """An ``int`` (not a ``bool``) of 0 or more (``expected`` words the message)."""
    return _int(0, expected)


def positive_int(*, expected: str = "a positive int") -> Validator:
    """An ``int`` (not a ``bool``) of 1 or more (``expected`` words the message)."""
    return _int(1, expected)


def _expected_one_of(options: tuple[object, ...]) -> str:
    return f"one of {', '.join(repr(o) for o in options)}"


def _is_one_of(value: object, options: tuple[object, ...]) -> bool:
    return any(type(value) is type(o) and value == o for o in options)


def one_of(*options: object) -> Validator:
    """One of ``options`` (compared by type and ``==``, so ``True`` is not ``1``).

    Examples:
        >>> import attrs
        >>> @attrs.frozen
        ... class Basis:
        ...     basis: str = attrs.field(validator=one_of("count", "value"))
        >>> Basis("amount")
        Traceback (most recent call last):
        ...
        crmcore.errors.DataError: basis: expected one of 'count', 'value', got 'amount' (str)
    """  # noqa: E501
    expected = _expected_one_of(options)

    def check(_i: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not _is_one_of(value, options):
            raise DataError(attribute.name, value, expected)

    return check


def check_one_of(value: object, field: str, options: tuple[_T, ...]) -> _T:
    """``value`` if it is one of ``options``, else the [`one_of`][crmcore.validators.one_of] error.

    For arguments of functions and plain classes (attrs fields use ``one_of``).
    """  # noqa: E501
    if not _is_one_of(value, options):
        raise DataError(field, value, _expected_one_of(options))
    return value  # type: ignore[return-value]


def aware_instant() -> Validator:
    """A timezone-aware ``datetime`` (see [`require_aware`][crmcore.calendar.require_aware])."""  # noqa: E501

    def check(_i: object, attribute: attrs.Attribute[Any], value: object) -> None:
        # The common case in one type check; require_aware explains the rest.
        if type(value) is not datetime or value.tzinfo is None:
            require_aware(value, attribute.name)

    return check


def currency() -> Validator:
    """An active ISO 4217 currency code such as ``"EUR"``."""

    def check(_i: object, attribute: attrs.Attribute[Any], value: object) -> None:
        check_currency(value, attribute.name)

    return check


def check_field_path(
    value: object,
    field: str,
    expected: str = "a dotted field path like 'account.industry'",
) -> str:
    """``value`` if it is a dotted field path, else the error naming ``field``."""
    if not isinstance(value, str):
        raise DataTypeError(field, value, expected)
    try:
        parse_path(value)
    except DataError as error:
        # A private or overlong part keeps its own words; a malformed
        # path is described by ``expected``.
        words = expected if error.hint is None else error.expected
        raise DataError(field, value, words, hint=error.hint) from None
    return value


def field_path(
    *, expected: str = "a dotted field path like 'account.industry'"
) -> Validator:
    """A dotted field path such as ``"account.industry"``."""

    def check(_i: object, attribute: attrs.Attribute[Any], value: object) -> None:
        check_field_path(value, attribute.name, expected)

    return check


def field_paths(values: object, label: str, *, at_least: int = 0) -> tuple[str, ...]:
    """Convert a list of dotted field paths to a tuple, checking every item.

    Args:
        values: The list (any iterable but a string or mapping).
        label: The field name used in errors (``label[3]`` for an item).
        at_least: The fewest paths accepted.
    """
    items = list_of(values, label, "a list of field paths")
    if len(items) < at_least:
        count = "one field path" if at_least == 1 else f"{at_least} field paths"
        raise DataError(label, items, f"at least {count}")
    for index, item in enumerate(items):
        if not isinstance(item, str):
            raise DataTypeError(f"{label}[{index}]", item, "a field path")
        check_field_path(item, f"{label}[{index}]", "a dotted field path")
    return items


def instance_of(cls: type[Any] | tuple[type[Any], ...], expected: str) -> Validator:
    """An instance of ``cls`` (a type or a tuple of types), worded as ``expected``.

    For the state of accumulators and the parts of results: a ``Counter``, a
    ``Pipeline``, a ``BusinessCalendar``.
    """
    return _type_check(lambda value: isinstance(value, cls), expected)


def kind_of(registry: Registry, expected: str) -> Validator:
    """An instance of a kind registered in ``registry`` (e.g. a condition)."""

    def check(_i: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not registry.holds(value):
            raise DataTypeError(attribute.name, value, expected)

    return check


def optional(validator: Validator) -> Validator:
    """``None``, or what ``validator`` accepts (its message then adds "or None")."""

    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is None:
            return
        try:
            validator(instance, attribute, value)
        except DataError as error:
            if type(error) not in (DataError, DataTypeError):
                raise
            raise type(error)(
                error.field, error.value, f"{error.expected} or None", hint=error.hint
            ) from None

    return check


# ---------------------------------------------------------------------------
# Exact fractions
# ---------------------------------------------------------------------------
_ONE = Decimal(1)


def check_fraction(
    value: object,
    field: str,
    *,
    upper: Decimal | None = _ONE,
    expected: str | None = None,
) -> Decimal:
    """An exact number between 0 and ``upper`` (``None``: no upper bound).

    Accepts a ``Decimal``, an ``int`` or a numeric string (never a float:
    see [`to_decimal`][crmcore.money.to_decimal]); anything else, or a
    number out of range, is a crmcore error naming ``field``.

    Examples:
        >>> check_fraction("0.25", "margin")
        Decimal('0.25')
        >>> check_fraction(2, "margin")
        Traceback (most recent call last):
        ...
        crmcore.errors.DataError: margin: expected a fraction between 0 and 1, got 2 (int)
    """  # noqa: E501
    number = to_decimal(value, field)
    if number < 0 or (upper is not None and number > upper):
        bound = f" and {upper}" if upper is not None else ""
        raise DataError(field, value, expected or f"a fraction between 0{bound}")
    return number


def probability(value: Any) -> Decimal | None:
    """A converter (``attrs.field(converter=probability)``): an exact probability or None.

    Examples:
        >>> probability("0.4")
        Decimal('0.4')
        >>> probability(None) is None
        True
    """  # noqa: E501
    if value is None:
        return None
    return check_fraction(
        value, "probability", expected="a probability between 0 and 1, or None"
    )


# ---------------------------------------------------------------------------
# Converters of lists
# ---------------------------------------------------------------------------
def list_of(values: object, label: str, expected: str) -> tuple[Any, ...]:
    """Any iterable but a string, bytes or a mapping, as a tuple (else the error).

    The one check of "a list" the other list converters build on.

    Args:
        values: The list.
        label: The field name used in the error.
        expected: What the list should hold, e.g. ``"a list of dates"``.
    """
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
        raise DataTypeError(label, values, expected)
    return tuple(values)


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
    items = list_of(values, label, f"a list of {cls.__name__}")
    for index, entry in enumerate(items):
        if not isinstance(entry, cls):
            raise DataTypeError(f"{label}[{index}]", entry, item or cls.__name__)
    return items


def tuple_of_kinds(
    values: object, registry: Registry, label: str, *, item: str
) -> tuple[Any, ...]:
    """Convert a list of kinds of one registry (conditions, rules) to a tuple.

    Args:
        values: The list (any iterable but a string or mapping).
        registry: The registry every item's class must be registered in.
        label: The field name used in errors (``label[3]`` for an item).
        item: How to call one item in errors, e.g. ``"a scoring rule"``.
    """
    items = list_of(values, label, f"a list of {registry.what.removesuffix(' kind')}s")
    for index, entry in enumerate(items):
        if not registry.holds(entry):
            raise DataTypeError(f"{label}[{index}]", entry, item)
    return items


def dates(values: object, label: str) -> tuple[date, ...]:
    """Convert a list of calendar dates (never datetimes) to a sorted tuple without repeats.

    Args:
        values: The list (any iterable but a string or mapping).
        label: The field name used in errors (``label[3]`` for an item).
    """  # noqa: E501
    items = list_of(values, label, "a list of dates")
    for index, entry in enumerate(items):
        if type(entry) is not date:
            raise DataTypeError(f"{label}[{index}]", entry, "a datetime.date")
    return tuple(sorted(set(items)))


def unique_keys(
    items: Iterable[Any], label: str, what: str, *, by: str | tuple[str, ...] = "key"
) -> dict[Any, Any]:
    """The items by their ``key``, or an error naming the first repeated one.

    Args:
        items: Values with a ``key`` attribute (roles, teams, rules...).
        label: The list's field name (``label[3].key`` in the error).
        what: What one item is, e.g. ``"team"``.
        by: The attribute that must be unique (``"name"`` for scoring rules),
            or attributes whose last must be unique among items sharing the
            others (``("records", "path")``: one path per data set).

    Examples:
        >>> import attrs
        >>> @attrs.frozen
        ... class Team:
        ...     key: str
        >>> unique_keys([Team("a"), Team("a")], "teams", "team")
        Traceback (most recent call last):
        ...
        crmcore.errors.DataError: teams[1].key: expected a key no other team has, got 'a' (str)
    """  # noqa: E501
    within = () if isinstance(by, str) else by[:-1]
    last = by if isinstance(by, str) else by[-1]
    found: dict[Any, Any] = {}
    for index, item in enumerate(items):
        key = getattr(item, last, None)
        if not isinstance(key, str | int | Decimal):
            raise DataTypeError(f"{label}[{index}].{last}", key, f"a {last} (a text)")
        ident = (*(getattr(item, name) for name in within), key) if within else key
        if ident in found:
            among = f" of the same {', '.join(within)}" if within else ""
            raise DataError(
                f"{label}[{index}].{last}", key, f"a {last} no other {what}{among} has"
            )
        found[ident] = item
    return found


def names(values: object, label: str, *, plural: str, item: str) -> tuple[str, ...]:
    """Convert a list of non-empty strings (keys, roles) to a tuple.

    Args:
        values: The list (any iterable but a string or mapping).
        label: The field name used in errors (``label[3]`` for an item).
        plural: What the whole list is, e.g. ``"a list of stage keys"``.
        item: What one item is, e.g. ``"a stage key"``.
    """
    items = list_of(values, label, plural)
    for index, entry in enumerate(items):
        if not isinstance(entry, str) or not entry.strip():
            raise DataTypeError(f"{label}[{index}]", entry, item)
    return items
