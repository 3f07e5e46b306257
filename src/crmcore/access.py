"""Reading fields from any record: the one reader every module uses.

A record may be an attrs or dataclass instance, a plain object (an ORM
model), a mapping (a dict row) or a row-like sequence (``sqlite3.Row``, a
pandas row). How to read a type is decided once per type (``MODES``, a memo:
the answer for a type never changes) and a field path is compiled once into
a reader ([`field_getter`][crmcore.records.field_getter]) that returns
[`MISSING`][crmcore.records.MISSING] instead of raising.

An internal module shared by crmcore's packages (the public names are
re-exported by [`crmcore.records`][crmcore.records]); the fast paths of the
rule language and the KPI loops read ``MODES`` to pick a C-level getter.
"""

from __future__ import annotations

import operator
import types
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import repeat
from typing import Any, Final, TypeAlias, cast, final

from crmcore.errors import DataError, DataTypeError

__all__ = [
    "ATTRIBUTE",
    "MAPPING",
    "MAX_PATH",
    "MISSING",
    "MODES",
    "NOTHING",
    "ROW",
    "UNSAFE",
    "FieldPath",
    "Missing",
    "Reader",
    "classify",
    "column_getter",
    "field_getter",
    "get_field",
    "is_data",
    "iterate",
    "parse_path",
]


# ---------------------------------------------------------------------------
# Missing values and field access
# ---------------------------------------------------------------------------
@final
class Missing:
    """The type of [`MISSING`][crmcore.records.MISSING]: a field that is not there.

    ``MISSING`` is distinct from ``None``: ``None`` is a value that a record
    holds, ``MISSING`` means the record has no such key or attribute at all.
    It is falsy and compares equal only to itself.
    """

    _instance: Missing | None = None

    def __new__(cls) -> Missing:  # noqa: D102 - documented on the class
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "MISSING"


MISSING: Final = Missing()
"""Returned by field access when a record has no such field."""

MAX_PATH: Final = 1_000
"""The longest field path accepted, in characters (or parts)."""

FieldPath: TypeAlias = str | Sequence[str]
"""A dotted path (``"account.industry"``) or its parts (``("fields", "a.b")``)."""


def parse_path(path: FieldPath) -> tuple[str, ...]:
    """Split a field path into its parts, validating it.

    Args:
        path: A dotted string or a sequence of non-empty string parts (use a
            sequence when a key itself contains a dot).

    Raises:
        DataError: For an empty path, an empty part (``"a..b"``), a part
            starting with ``_`` (private names are never read: see "Safe
            field access" in the rule-language guide) or a path over
            ``MAX_PATH`` characters.
        DataTypeError: For anything that is not a string or sequence of strings.

    Examples:
        >>> parse_path("fields.region")
        ('fields', 'region')
        >>> parse_path(("fields", "utm.source"))
        ('fields', 'utm.source')
    """
    if isinstance(path, str):
        parts: tuple[object, ...] = tuple(path.split("."))
    elif isinstance(path, Sequence):
        parts = tuple(path)
    else:
        raise DataTypeError("path", path, "a dotted string or a sequence of strings")
    if not parts or any(not isinstance(p, str) or not p for p in parts):
        raise DataError(
            "path",
            path,
            "a non-empty dotted path like 'fields.region' with no empty parts",
        )
    for part in parts:
        if part[0] == "_":  # type: ignore[index]
            raise DataError(
                "path",
                path,
                "a path of public names (no part may start with '_')",
                hint=f"{part!r} is private: a rule reads only mapping keys and "
                "public data attributes; rename the key before evaluating",
            )
    if len(path) > MAX_PATH:
        raise DataError("path", path, f"a path of at most {MAX_PATH} characters")
    return parts  # type: ignore[return-value]


# How to read a field from a record of a given type, decided once per type:
# isinstance() against the Mapping ABC is slow, and field access is the
# innermost loop of every rule. A memo of types (a cache, not state: the
# answer for a type never changes).
MAPPING: Final = 0  # has .get(key, default)
ATTRIBUTE: Final = 1  # plain object: getattr
ROW: Final = 2  # row-like or sequence: getattr, then [key]
NOTHING: Final = 3  # None or MISSING: every field is missing
UNSAFE: Final = 4  # not data (code, modules, classes): never read nor returned
MODES: dict[type, int] = {dict: MAPPING, type(None): NOTHING, Missing: NOTHING}

# What is not data: a rule never reads these, nor anything through them. With
# private names refused by parse_path, they are the known ways from a record
# to the interpreter's internals (a function's globals, a frame's locals, a
# module's attributes, a class's methods); every callable is refused too.
_NOT_DATA: Final = (
    types.ModuleType,
    type,
    types.FrameType,
    types.TracebackType,
    types.CodeType,
    types.GeneratorType,
    types.CoroutineType,
    types.AsyncGeneratorType,
    types.CellType,
)


def classify(cls: type) -> int:
    """Decide (and remember) how field access reads records of type ``cls``.

    Callables (functions, methods, classes, any object with ``__call__``),
    modules, frames, code and generators are ``UNSAFE``: nothing is read
    through one, and an attribute holding one reads as
    [`MISSING`][crmcore.records.MISSING].
    """
    # ``__call__`` in the class's own namespaces: ``getattr(cls, "__call__")``
    # would find the metaclass's, which every class has.
    if issubclass(cls, _NOT_DATA) or any("__call__" in vars(k) for k in cls.__mro__):
        mode = UNSAFE
    elif issubclass(cls, Mapping):
        mode = MAPPING
    elif hasattr(cls, "__getitem__"):
        mode = ROW
    else:
        mode = ATTRIBUTE
    MODES[cls] = mode
    return mode


def is_data(value: object) -> bool:
    """Whether a rule may see ``value``: false for callables, modules, classes...

    Examples:
        >>> is_data("EMEA"), is_data(print), is_data(str)
        (True, False, False)
    """
    mode = MODES.get(type(value))
    if mode is None:
        mode = classify(type(value))
    return mode != UNSAFE


def _step(obj: object, key: str) -> object:
    mode = MODES.get(type(obj))
    if mode is None:
        mode = classify(type(obj))
    if mode == MAPPING:
        value = obj.get(key, MISSING)  # type: ignore[attr-defined]
    elif mode == ATTRIBUTE:
        value = getattr(obj, key, MISSING)
    elif mode >= NOTHING:
        return MISSING
    else:
        # Row-like objects that are not registered Mappings (sqlite3.Row, a
        # pandas Series) by item first, so a column named like an attribute
        # (a Series' "size" or "name") reads the column; then attributes (a
        # named tuple's fields); sequences by a numeric part.
        index: str | int = int(key) if key.isdigit() else key
        try:
            value = obj[index]  # type: ignore[index]
        except (LookupError, TypeError, ValueError):
            value = getattr(obj, key, MISSING)
            if value is MISSING:
                return MISSING
    if mode == MAPPING:
        return value
    found = MODES.get(type(value))
    if found is None:
        found = classify(type(value))
    return MISSING if found == UNSAFE else value


def field_getter(path: FieldPath) -> Callable[[object], object]:
    """Compile a field path into a fast reader function.

    The reader returns [`MISSING`][crmcore.records.MISSING] instead of raising
    when any step is absent, when a step meets ``None``, or when an object
    lacks the attribute. It never raises ``AttributeError`` or ``KeyError``.

    Compile once, call per record: this is what conditions and calculators do.

    Examples:
        >>> industry = field_getter("account.industry")
        >>> industry({"account": {"industry": "saas"}})
        'saas'
        >>> industry({"account": None})
        MISSING
    """
    parts = parse_path(path)
    # A mapping's values are returned as they are (the caller put them there);
    # attributes that are not data read as MISSING, and nothing is read
    # through a value that is not data (see ``classify``).
    missing = MISSING
    if len(parts) == 1:
        (key,) = parts

        def get_one(record: object) -> object:
            if type(record) is dict:
                return record.get(key, missing)
            return _step(record, key)

        return get_one
    if len(parts) == 2:
        first, second = parts

        def get_two(record: object) -> object:
            if type(record) is dict:
                inner = record.get(first, missing)
                if type(inner) is dict:
                    return inner.get(second, missing)
                return _step(inner, second)
            return _step(_step(record, first), second)

        return get_two

    def get_many(record: object) -> object:
        value = record
        for part in parts:
            value = _step(value, part)
        return value

    return get_many


def column_getter(path: FieldPath) -> Callable[[Sequence[Any]], list[object]]:
    """Compile a field path into a reader of whole columns: one value per record.

    The reader takes a list of records and returns what
    [`field_getter`][crmcore.records.field_getter] reads from each, in order
    (``MISSING`` where absent). For a one-part path over records of one type
    (dicts, mappings, attrs or plain objects) it reads the column in C-level
    loops; anything else is read record by record.

    Examples:
        >>> read = column_getter("industry")
        >>> read([{"industry": "saas"}, {}])
        ['saas', MISSING]
    """
    parts = parse_path(path)
    getter = field_getter(path)
    if len(parts) != 1:
        return lambda records: list(map(getter, records))
    (key,) = parts
    by_attribute = operator.attrgetter(key)
    by_get = operator.methodcaller("get", key, MISSING)
    missing, unsafe = MISSING, UNSAFE

    def column(records: Sequence[Any]) -> list[object]:
        kinds = set(map(type, records))
        if len(kinds) == 1:
            cls = kinds.pop()
            if cls is dict:
                return list(map(dict.get, records, repeat(key), repeat(missing)))
            mode = MODES.get(cls)
            if mode is None:
                mode = classify(cls)
            if mode == MAPPING:
                return list(map(by_get, records))
            if mode == ATTRIBUTE:
                try:
                    values = list(map(by_attribute, records))
                except AttributeError:
                    return list(map(getter, records))
                for kind in set(map(type, values)):
                    found = MODES.get(kind)
                    if (found if found is not None else classify(kind)) == unsafe:
                        return list(map(getter, records))  # a method: MISSING
                return values
        return list(map(getter, records))

    return column


def get_field(record: object, path: FieldPath, default: object = MISSING) -> object:
    """Read a possibly nested field from an attrs object, plain object or mapping.

    Args:
        record: Any record: an attrs or dataclass instance, an ORM model, a
            dict, a ``sqlite3.Row``, a pandas row...
        path: A dotted path or a sequence of parts.
        default: Returned when the field is absent; ``MISSING`` by default.

    Examples:
        >>> get_field({"a": {"b": 1}}, "a.b")
        1
        >>> get_field({"a": {}}, "a.b", default=0)
        0
    """
    value = field_getter(path)(record)
    return default if value is MISSING else value


class Reader:
    """Read a fixed set of top-level fields from any record, fast.

    The KPI loops' reader: the fast path is one C-level
    ``attrgetter``/``itemgetter`` call per record (chosen per record type); a
    record that lacks an optional field falls back to reading field by field
    with [`get_field`][crmcore.records.get_field], where a missing optional
    field reads as ``None`` and a missing required one raises a ``DataError``
    naming it.

    Examples:
        >>> reader = Reader(("id", "amount"), ("region",))
        >>> reader.read({"id": "d1", "amount": 5, "region": "emea"})
        ('d1', 5, 'emea')
        >>> reader.read({"id": "d2", "amount": 7})
        ('d2', 7, None)
    """

    __slots__ = ("_attr", "_item", "names", "required")

    def __init__(self, required: Sequence[str], optional: Sequence[str] = ()) -> None:
        self.names = (*required, *optional)
        self.required = len(required)
        if len(self.names) < 2:
            raise ValueError("a Reader reads two fields or more")  # pragma: no cover
        self._attr = operator.attrgetter(*self.names)
        self._item = operator.itemgetter(*self.names)

    def getter(self, cls: type) -> Callable[[Any], Any]:
        """The fast getter for records of one type."""
        if issubclass(cls, Mapping):
            return self._item
        return self._attr

    def slow(self, record: object) -> tuple[Any, ...]:
        """Read one record field by field (missing optional fields are None)."""
        values = []
        for index, name in enumerate(self.names):
            value = get_field(record, name)
            if value is MISSING:
                if index < self.required:
                    raise DataError(
                        name, record, f"a record with a {name!r} field or key"
                    )
                value = None
            values.append(value)
        return tuple(values)

    def read(self, record: object) -> tuple[Any, ...]:
        """One record's fields: the fast getter, else field by field.

        Hot loops inline this (a call per record costs more than the read).
        """
        try:
            row: tuple[Any, ...] = self.getter(type(record))(record)
        except (AttributeError, KeyError, TypeError):
            row = self.slow(record)
        return row


def iterate(records: object, name: str = "records") -> Iterator[Any]:
    """An iterator over a collection of records, or an error naming ``name``.

    Every calculator reads its records through this one check, so passing
    ``None``, a number, a text or one single record where a collection is
    expected is a [`DataTypeError`][crmcore.errors.DataTypeError], never a
    bare ``TypeError`` or a loop over a string's characters.

    Examples:
        >>> next(iterate([{"id": 1}]))
        {'id': 1}
        >>> sorted(iterate({"b", "a"}), reverse=True)  # any iterable but a text
        ['b', 'a']
        >>> iterate({"id": 1}, "deals")
        Traceback (most recent call last):
        ...
        crmcore.errors.DataTypeError: deals: expected an iterable of records (a list, a generator...); one record? wrap it in a list, got {'id': 1} (dict)
    """  # noqa: E501
    cls = type(records)
    if cls is list or cls is tuple or cls is types.GeneratorType:
        return iter(cast(Iterable[Any], records))  # the common cases, at once
    text = str | bytes | bytearray | memoryview
    if hasattr(records, "columns") and (
        hasattr(records, "iterrows") or hasattr(records, "iter_rows")
    ):  # a pandas or polars DataFrame iterates over its column names
        raise DataTypeError(
            name,
            f"<{type(records).__name__}>",
            "an iterable of records; for a DataFrame's rows use "
            "crmcore.frames.records(frame)",
        )
    if isinstance(records, text | Mapping) or not isinstance(records, Iterable):
        raise DataTypeError(
            name,
            records,
            "an iterable of records (a list, a generator...)"
            + (
                "; one record? wrap it in a list"
                if isinstance(records, Mapping)
                else ""
            ),
        )
    return iter(records)
