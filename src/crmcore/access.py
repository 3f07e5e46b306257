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

from collections.abc import Callable, Mapping, Sequence
from typing import Final, TypeAlias, final

from crmcore.errors import DataError, DataTypeError

__all__ = [
    "ATTRIBUTE",
    "MAPPING",
    "MISSING",
    "MODES",
    "NOTHING",
    "ROW",
    "FieldPath",
    "Missing",
    "classify",
    "field_getter",
    "get_field",
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

FieldPath: TypeAlias = str | Sequence[str]
"""A dotted path (``"account.industry"``) or its parts (``("fields", "a.b")``)."""


def parse_path(path: FieldPath) -> tuple[str, ...]:
    """Split a field path into its parts, validating it.

    Args:
        path: A dotted string or a sequence of non-empty string parts (use a
            sequence when a key itself contains a dot).

    Raises:
        DataError: For an empty path or an empty part (``"a..b"``).
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
    return parts  # type: ignore[return-value]


# How to read a field from a record of a given type, decided once per type:
# isinstance() against the Mapping ABC is slow, and field access is the
# innermost loop of every rule. A memo of types (a cache, not state: the
# answer for a type never changes).
MAPPING: Final = 0  # has .get(key, default)
ATTRIBUTE: Final = 1  # plain object: getattr
ROW: Final = 2  # row-like or sequence: getattr, then [key]
NOTHING: Final = 3  # None or MISSING: every field is missing
MODES: dict[type, int] = {dict: MAPPING, type(None): NOTHING, Missing: NOTHING}


def classify(cls: type) -> int:
    """Decide (and remember) how field access reads records of type ``cls``."""
    if issubclass(cls, Mapping):
        mode = MAPPING
    elif hasattr(cls, "__getitem__"):
        mode = ROW
    else:
        mode = ATTRIBUTE
    MODES[cls] = mode
    return mode


def _step(obj: object, key: str) -> object:
    mode = MODES.get(type(obj))
    if mode is None:
        mode = classify(type(obj))
    if mode == MAPPING:
        return obj.get(key, MISSING)  # type: ignore[attr-defined]
    if mode == ATTRIBUTE:
        return getattr(obj, key, MISSING)
    if mode == NOTHING:
        return MISSING
    value = getattr(obj, key, MISSING)
    if value is MISSING:
        # Row-like objects that are not registered Mappings (sqlite3.Row, a
        # pandas Series) and sequences addressed by a numeric part.
        index: str | int = int(key) if key.isdigit() else key
        try:
            return obj[index]  # type: ignore[index]
        except (LookupError, TypeError, ValueError):
            return MISSING
    return value


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
