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

import dataclasses
import operator
import types
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import repeat
from typing import Any, Final, TypeAlias, cast, final

from crmcore.errors import DataError, DataTypeError

__all__ = [
    "ATTRIBUTE",
    "EPOCH",
    "GUARDED",
    "MAPPING",
    "MAX_PATH",
    "MISSING",
    "MODES",
    "NOTHING",
    "ROW",
    "UNSAFE",
    "Columns",
    "FieldPath",
    "Missing",
    "Reader",
    "classify",
    "column_getter",
    "field_getter",
    "from_micros",
    "get_field",
    "is_data",
    "iterate",
    "parse_path",
    "to_micros",
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
GUARDED: Final = 5  # a plain object whose class holds data: instance data only
MODES: dict[type, int] = {dict: MAPPING, type(None): NOTHING, Missing: NOTHING}
# The public names of a GUARDED type's class-level data (an ORM model's
# ``metadata`` and ``registry``, a class constant): never read from a record.
CLASS_DATA: dict[type, frozenset[str]] = {}

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
    else:
        shared = _class_data(cls)
        if shared:
            CLASS_DATA[cls] = shared
        row = hasattr(cls, "__getitem__")
        mode = ROW if row else GUARDED if shared else ATTRIBUTE
    MODES[cls] = mode
    return mode


def _class_data(cls: type) -> frozenset[str]:
    """The public names under which ``cls`` (not its instances) holds data.

    A record's data is what each instance holds: instance attributes, slots,
    properties, dataclass fields and an ORM's column descriptors. A class
    attribute that is none of those (an ORM model's ``metadata`` and
    ``registry``, a constant) belongs to the class and is never read from a
    record, unless an instance sets its own value under that name.
    """
    # Dataclass fields are instance data (not ``ClassVar`` pseudo-fields).
    fields = dataclasses.fields(cls) if dataclasses.is_dataclass(cls) else ()
    own = frozenset(f.name for f in fields)
    seen: set[str] = set()
    shared: set[str] = set()
    for klass in cls.__mro__[:-1]:  # every class but ``object``
        for name, value in vars(klass).items():
            if name in seen or name.startswith("_"):
                continue
            seen.add(name)
            # Descriptors compute per instance (properties, slots, methods,
            # columns); callables are refused as values anyway.
            if name in own or hasattr(type(value), "__get__") or callable(value):
                continue
            shared.add(name)
    return frozenset(shared)


def _own_attribute(obj: object, key: str) -> object:
    """The attribute ``key`` of the record itself, never its class's data.

    Reads as ``MISSING`` when the class holds data under ``key`` (see
    ``CLASS_DATA``) that the instance does not set; a read that raises is an
    error naming the field.
    """
    if key in CLASS_DATA.get(type(obj), ()) and key not in getattr(obj, "__dict__", ()):
        return MISSING  # the class's data, not the record's
    try:
        return getattr(obj, key, MISSING)
    except Exception as error:
        raise _unreadable(obj, key, error) from error


def _unreadable(obj: object, key: str, error: Exception) -> DataError:
    # The error's own text stays in the chained cause: it may hold what a
    # rule's author should not see (a database's statement and values).
    return DataError(
        key,
        type(obj).__name__,
        "an attribute that can be read",
        hint=f"reading it raised {type(error).__name__}",
    )


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
        try:  # inline: the innermost read of every rule (a try costs nothing)
            value = getattr(obj, key, MISSING)
        except Exception as error:
            raise _unreadable(obj, key, error) from error
    elif mode == GUARDED:
        value = _own_attribute(obj, key)
    elif mode != ROW:  # NOTHING, UNSAFE
        return MISSING
    else:
        # Row-like objects that are not registered Mappings (sqlite3.Row, a
        # pandas Series) by item first, so a column named like an attribute
        # (a Series' "size" or "name") reads the column; then attributes (a
        # named tuple's fields); sequences by a numeric part.
        index: str | int = int(key) if key.isdigit() else key
        try:
            value = obj[index]  # type: ignore[index]
        except Exception:  # not an item of this row: an attribute, or nothing
            value = _own_attribute(obj, key)
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

    __slots__ = ("_attr", "_dotted", "_item", "names", "required")

    def __init__(self, required: Sequence[str], optional: Sequence[str] = ()) -> None:
        self.names = (*required, *optional)
        self.required = len(required)
        if len(self.names) < 2:
            raise ValueError("a Reader reads two fields or more")  # pragma: no cover
        self._attr = operator.attrgetter(*self.names)
        self._item = operator.itemgetter(*self.names)
        # ``attrgetter`` follows dots itself: a dotted name is read field by
        # field, through every check of field access.
        self._dotted = any("." in name for name in self.names)

    def getter(self, cls: type) -> Callable[[Any], Any]:
        """The fast getter for records of one type (``slow`` where none is safe)."""
        if issubclass(cls, Mapping):
            return self._item
        if self.direct(cls):
            return self._attr
        return self.slow

    def direct(self, cls: type) -> bool:
        """Whether plain attribute reads of these names give what field access gives.

        True for a mapping or a plain object; false for a dotted name, for
        what is not data, and for a class holding data under one of the names.
        """
        if issubclass(cls, Mapping):
            return True
        mode = MODES.get(cls)
        if mode is None:
            mode = classify(cls)
        if self._dotted or mode in (NOTHING, UNSAFE):
            return False
        return CLASS_DATA.get(cls, frozenset()).isdisjoint(self.names)

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
        except Exception:  # a missing field, or a property raising: explained
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


# ---------------------------------------------------------------------------
# Batches of records as columns
# ---------------------------------------------------------------------------
EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO: Final = timedelta(microseconds=1)
# Scaled integers hold up to 18 decimal places (attoseconds of money).
_MAX_PLACES: Final = 18


def to_micros(instant: datetime) -> int:
    """An aware instant as integer microseconds since the Unix epoch (UTC).

    Examples:
        >>> to_micros(datetime(1970, 1, 2, tzinfo=UTC))
        86400000000
    """
    return (instant - EPOCH) // _MICRO


def from_micros(micros: int) -> datetime:
    """Integer microseconds since the Unix epoch as an aware UTC instant.

    Examples:
        >>> from_micros(86_400_000_000).isoformat()
        '1970-01-02T00:00:00+00:00'
    """
    return EPOCH + timedelta(microseconds=micros)


_FIRST_MICROS: Final = to_micros(datetime.min.replace(tzinfo=UTC))
_LAST_MICROS: Final = to_micros(datetime.max.replace(tzinfo=UTC))


def _check_micros(values: Sequence[Any], name: str) -> None:
    """Instants in microseconds within the years 1 to 9999, or a DataError."""
    present = [v for v in values if v is not None]
    if present and (min(present) < _FIRST_MICROS or max(present) > _LAST_MICROS):
        bad = min(present) if min(present) < _FIRST_MICROS else max(present)
        raise DataError(
            f"columns.{name}",
            bad,
            f"microseconds from {_FIRST_MICROS} to {_LAST_MICROS} "
            "(the years 1 to 9999)",
        )


def _column_names(names: Iterable[object], field: str) -> list[str]:
    """Column names given to an option, each a text."""
    found = list(names)
    for name in found:
        if not isinstance(name, str):
            raise DataTypeError(field, name, "a column name (str)")
    return found  # type: ignore[return-value]


@final
class Columns:
    """A batch of records stored column by column: what DataFrames hold.

    Every accumulator takes a ``Columns`` batch wherever it takes records, and
    gives exactly the result it gives for the batch's rows (a tested law):
    the deal KPIs and grouping read the columns directly, in one loop per
    column set; any other accumulator reads the rows. ``crmcore.frames``
    builds batches from pandas and polars frames.

    Two bulk forms keep exact values cheap to move:

    * ``micros``: instants as integer microseconds since
      1970-01-01T00:00:00Z (``datetime64[us, UTC]`` as integers); rows show
      aware UTC datetimes;
    * ``decimals``: exact decimals as integers in units of ``10**-places``
      (cents for ``2``); rows show ``Decimal`` values with that many places.

    Args:
        columns: Field name to a sequence of values, all of one length. A
            dotted name (``"account.region"``) is a nested field of the rows.
        micros: Names of the columns of instants in microseconds (``None``
            where missing).
        decimals: Column name to its number of decimal places, for the
            columns of scaled integers (``None`` where missing).
        length: The number of rows: needed only for a batch without columns
            (rows with no fields); checked against the columns otherwise.

    Raises:
        DataTypeError: For something that is not a mapping of names to
            sequences, or a bulk-form value that is not an int or ``None``.
        DataError: For columns of different lengths or a bad name.

    Examples:
        >>> batch = Columns({"outcome": ["won", "lost"], "closed_at": [0, None],
        ...                  "amount": [1250, 99]},
        ...                 micros=["closed_at"], decimals={"amount": 2})
        >>> len(batch), batch.names
        (2, ('outcome', 'closed_at', 'amount'))
        >>> batch.row(1)
        {'outcome': 'lost', 'closed_at': None, 'amount': Decimal('0.99')}
    """

    __slots__ = ("_columns", "_length", "_nested", "decimals", "micros")

    def __init__(
        self,
        columns: Mapping[str, Sequence[Any]],
        *,
        micros: Iterable[str] = (),
        decimals: Mapping[str, int] | None = None,
        length: int | None = None,
    ) -> None:
        if not isinstance(columns, Mapping):
            raise DataTypeError(
                "columns", columns, "a mapping of field name to a sequence of values"
            )
        found: dict[str, Sequence[Any]] = {}
        if length is not None and (type(length) is not int or length < 0):
            raise DataTypeError("length", length, "a number of rows (an int >= 0)")
        size = length
        for name, values in columns.items():
            if not isinstance(name, str):
                raise DataTypeError("columns", name, "a field name (str)")
            parse_path(name)
            if isinstance(values, (str, bytes, bytearray)) or not isinstance(
                values, Sequence
            ):
                raise DataTypeError(
                    f"columns.{name}", values, "a sequence of values (a list...)"
                )
            if size is None:
                size = len(values)
            elif len(values) != size:
                raise DataError(
                    f"columns.{name}",
                    f"{len(values)} values",
                    f"{size} values, as many as "
                    + ("the other columns" if length is None else "length"),
                )
            found[name] = values
        if isinstance(micros, str) or not isinstance(micros, Iterable):
            raise DataTypeError("micros", micros, "a list of column names")
        marked = frozenset(_column_names(micros, "micros"))
        if decimals is None:
            decimals = {}
        if not isinstance(decimals, Mapping):
            raise DataTypeError(
                "decimals", decimals, "a mapping of column name to decimal places"
            )
        for name, places in zip(
            _column_names(decimals, "decimals"), decimals.values(), strict=True
        ):
            if type(places) is not int or not 0 <= places <= _MAX_PLACES:
                raise DataError(
                    f"decimals.{name}",
                    places,
                    f"decimal places from 0 to {_MAX_PLACES}",
                )
            if name in marked:
                raise DataError("decimals", name, "a column that is not in micros")
        for option, names, what in (
            ("micros", sorted(marked, key=str), "integer microseconds since the epoch"),
            ("decimals", sorted(decimals, key=str), "an integer of scaled units"),
        ):
            for name in names:
                if name not in found:
                    raise DataError(
                        option, name, f"one of the columns: {sorted(found)}"
                    )
                kinds = set(map(type, found[name])) - {int, type(None)}
                if kinds:
                    bad = next(v for v in found[name] if type(v) in kinds)
                    raise DataTypeError(f"columns.{name}", bad, f"{what}, or None")
                if option == "micros":
                    _check_micros(found[name], name)
        self._columns = found
        self._length = 0 if size is None else size
        self._nested = any("." in name for name in found)
        self.micros: frozenset[str] = marked
        self.decimals: Mapping[str, int] = dict(decimals)

    @property
    def names(self) -> tuple[str, ...]:
        """The column names, in order."""
        return tuple(self._columns)

    def __len__(self) -> int:
        return self._length

    def __contains__(self, name: object) -> bool:
        return name in self._columns

    def __getitem__(self, name: str) -> Sequence[Any]:
        """One column as it was given (bulk forms as integers).

        Raises:
            DataError: For a name the batch lacks.
        """
        try:
            return self._columns[name]
        except (KeyError, TypeError):
            raise DataError("column", name, f"one of {list(self._columns)}") from None

    def get(self, name: str) -> Sequence[Any] | None:
        """One column as it was given, or ``None`` when the batch lacks it."""
        return self._columns.get(name)

    def values(self, name: str) -> list[Any]:
        """One column as rows show it: bulk forms as datetimes and Decimals.

        Raises:
            DataError: For a name the batch lacks.
        """
        column = self[name]
        if name in self.micros:
            return [None if v is None else from_micros(v) for v in column]
        places = self.decimals.get(name)
        if places is not None:
            return [None if v is None else Decimal(v).scaleb(-places) for v in column]
        return list(column)

    def take(self, indices: Iterable[int]) -> Columns:
        """A new batch of the rows at ``indices``, in that order."""
        chosen = list(indices)
        picked = Columns.__new__(Columns)
        picked._columns = {
            name: list(map(values.__getitem__, chosen))
            for name, values in self._columns.items()
        }
        picked._length = len(chosen)
        picked._nested = self._nested
        picked.micros = self.micros
        picked.decimals = self.decimals
        return picked

    def row(self, index: int) -> dict[str, Any]:
        """Row ``index`` as a plain dict, as iterating the batch gives it.

        Raises:
            DataError: For an index outside the batch.
        """
        if type(index) is not int or not 0 <= index < self._length:
            raise DataError("index", index, f"a row index from 0 to {self._length - 1}")
        return next(iter(self.take((index,))))

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """The rows, as plain dicts (dotted names nest)."""
        names = list(self._columns)
        if not names:
            for _ in range(self._length):
                yield {}
            return
        bulk = self.micros | self.decimals.keys()
        columns = [
            self.values(name) if name in bulk else self._columns[name] for name in names
        ]
        if not self._nested:
            for values in zip(*columns, strict=True):
                yield dict(zip(names, values, strict=True))
            return
        paths = [name.split(".") for name in names]
        for values in zip(*columns, strict=True):
            row: dict[str, Any] = {}
            for parts, value in zip(paths, values, strict=True):
                inner = row
                for part in parts[:-1]:
                    inner = inner.setdefault(part, {})
                inner[parts[-1]] = value
            yield row

    def __repr__(self) -> str:
        return f"Columns({len(self)} rows: {', '.join(self._columns)})"
