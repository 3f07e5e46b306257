"""The rule language: serializable conditions, compiled once, explained on demand.

Segments, stage exit criteria, handoff requirements, scoring rules, routing and
data-quality checks are all built from these conditions. A condition is a
frozen value (so it round-trips through JSON with a ``kind`` tag); it is
**compiled** into plain closures before it meets records, so evaluating it over
a million rows never walks the definition again.

Kinds (each a class below; the guide "The rule language" shows them all):

* comparisons ``eq``, ``ne``, ``lt``, ``le``, ``gt``, ``ge``;
* membership ``in``, ``not_in``; text and collections ``contains``,
  ``starts_with``, ``ends_with``; presence ``exists``, ``missing``;
  ranges ``between``;
* time relative to ``as_of``: ``within_last``, ``older_than``; fixed
  instants ``before``, ``after``;
* ``count`` of matching items in a collection field;
* combinators ``all``, ``any``, ``not``, ``at_least``.

**Missing fields.** A field is *absent* when the record has no such key or
attribute, when the path passes through ``None``, or when its value is
``None``. Every field test on an absent value is **false**, ``ne`` and
``not_in`` included: a missing field never silently equals, or differs from,
anything. Use ``exists`` / ``missing`` to test presence, and ``not`` to invert
a whole test (``not(industry == "saas")`` holds for a missing industry). The
logic stays two-valued, so the boolean laws (De Morgan, absorption) hold.

**Wrong types are errors, not silent misses.** Comparing a string field with
a number, a naive datetime with an aware one, or money in two currencies
raises a crmcore error naming the field path and the value.

Examples:
    >>> from datetime import datetime, timezone
    >>> icp = (field("industry").is_in({"saas", "fintech"})
    ...        & (field("employees") >= 50)
    ...        & field("last_seen").within_last("30d"))
    >>> print(to_text(icp))
    industry in {"fintech", "saas"} and employees >= 50 and within_last(last_seen, 30d)
    >>> as_of = datetime(2026, 3, 1, tzinfo=timezone.utc)
    >>> lead = {"industry": "saas", "employees": 120,
    ...         "last_seen": datetime(2026, 2, 20, tzinfo=timezone.utc)}
    >>> matches(icp, lead, as_of=as_of)
    True
    >>> print(explain(icp, {"industry": "retail"}, as_of=as_of))
    ✗ all of 3 (0 held)
      ✗ industry in {"fintech", "saas"}  (actual 'retail')
      ✗ employees >= 50  (missing)
      ✗ within_last(last_seen, 30d)  (missing)
"""

from __future__ import annotations

import contextvars
import functools
import operator
import re
from collections.abc import (
    Callable,
    Hashable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
    Sized,
)
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import compress, islice
from typing import (
    Any,
    ClassVar,
    Final,
    Literal,
    NoReturn,
    Protocol,
    TypeAlias,
    TypeVar,
    cast,
)

import attrs

from crmcore.calendar import add_calendar, require_aware
from crmcore.errors import (
    CrmcoreError,
    CurrencyMismatchError,
    DataError,
    DataTypeError,
    DefinitionError,
    NaiveDatetimeError,
    Problem,
    UnknownKindError,
)
from crmcore.money import Money, to_decimal
from crmcore.records import (
    _ACCESS,
    _ATTRIBUTE,
    _MAPPING,
    MISSING,
    field_getter,
    parse_path,
)

__all__ = [
    "MAX_DEPTH",
    "MAX_NODES",
    "MAX_TEXT",
    "After",
    "AllOf",
    "AnyOf",
    "AtLeast",
    "Before",
    "Between",
    "CompiledCondition",
    "Condition",
    "ConditionValue",
    "Contains",
    "Count",
    "Duration",
    "EndsWith",
    "Eq",
    "Exists",
    "Explanation",
    "FieldRef",
    "Ge",
    "Gt",
    "IsIn",
    "IsMissing",
    "Le",
    "Lt",
    "Ne",
    "Not",
    "NotIn",
    "OlderThan",
    "StartsWith",
    "WithinLast",
    "all_of",
    "any_of",
    "at_least",
    "compile_condition",
    "condition_kinds",
    "explain",
    "field",
    "load_entry_points",
    "matches",
    "not_",
    "parse_condition",
    "register_condition",
    "to_text",
]

MAX_DEPTH: Final = 32
"""Deepest nesting of combinators a definition may have."""
MAX_NODES: Final = 10_000
"""Most conditions (leaves and combinators) one definition may hold."""

ConditionValue: TypeAlias = str | int | bool | Decimal | datetime | date | Money
"""Values conditions compare with: exact and storable (no float, no ``None``)."""

Predicate: TypeAlias = Callable[[Any], bool]
_T = TypeVar("_T")


# ---------------------------------------------------------------------------
# The protocol every condition kind follows, built-in or registered
# ---------------------------------------------------------------------------
class Condition(Protocol):
    """The type of every condition, built-in and registered alike.

    A kind is a frozen attrs class with a ``kind`` name and either
    ``bind(as_of)`` returning the per-record predicate for one ``as_of``, or
    ``test(record, as_of) -> bool``; see
    [`register_condition`][crmcore.conditions.register_condition]. Only
    registered classes are accepted where a condition is expected.
    """

    kind: ClassVar[str]


# ---------------------------------------------------------------------------
# Values and durations
# ---------------------------------------------------------------------------
def _value(value: ConditionValue) -> ConditionValue:
    """The attrs converter of comparison values (typed for users' type checkers)."""
    return _to_value(value)


def _to_value(value: object, name: str = "value") -> ConditionValue:
    """Validate (and decode from JSON form) one comparison value."""
    if isinstance(value, (bool, str, Money, date)):
        if isinstance(value, datetime):
            return require_aware(value, name)
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        return to_decimal(value, name)
    if isinstance(value, Mapping):
        return _decode_value(value, name)
    if isinstance(value, float):
        raise DataTypeError(
            name,
            value,
            "an exact value (str, int, bool, Decimal, datetime, date or Money)",
            hint=f"floats are not exact; use Decimal({str(value)!r})",
        )
    if value is None:
        raise DataTypeError(
            name,
            value,
            "a value to compare with",
            hint="test absence with exists/missing",
        )
    raise DataTypeError(
        name, value, "a str, int, bool, Decimal, datetime, date or Money"
    )


def _decode_value(value: Mapping[str, Any], name: str) -> ConditionValue:
    """Read the JSON forms of non-JSON values: ``{"decimal": "1.5"}`` and friends."""
    keys = set(value)
    try:
        if keys == {"decimal"}:
            return to_decimal(value["decimal"], name)
        if keys == {"datetime"} and isinstance(value["datetime"], str):
            return require_aware(datetime.fromisoformat(value["datetime"]), name)
        if keys == {"date"} and isinstance(value["date"], str):
            return date.fromisoformat(value["date"])
        if keys == {"amount", "currency"}:
            return Money(value["amount"], value["currency"])
    except ValueError as error:
        if isinstance(error, CrmcoreError):
            raise
        raise DataError(name, value, "a valid tagged value") from None
    raise DataError(
        name,
        value,
        "a tagged value: {'decimal': '1.5'}, {'datetime': '...+00:00'}, "
        "{'date': '2026-01-01'} or {'amount': '10', 'currency': 'EUR'}",
    )


def _encode_value(value: ConditionValue) -> object:
    """The JSON form of a comparison value (inverse of ``_to_value``)."""
    if isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    return {"amount": str(value.amount), "currency": value.currency}


def _to_values(values: object) -> tuple[ConditionValue, ...]:
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
        raise DataTypeError("values", values, "a list or set of values")
    items = [_to_value(v, f"values[{i}]") for i, v in enumerate(values)]
    # Sets have no order; sort so that equal definitions serialize equally.
    if isinstance(values, (set, frozenset)):
        items.sort(key=lambda v: (type(v).__name__, repr(v)))
    return tuple(items)


_DURATION_PART: Final = re.compile(r"(\d+)(y|mo|w|d|h|m|s)")
_DURATION_UNITS: Final = (
    ("years", "y"),
    ("months", "mo"),
    ("weeks", "w"),
    ("days", "d"),
    ("hours", "h"),
    ("minutes", "m"),
    ("seconds", "s"),
)


def _non_negative(_i: object, attribute: attrs.Attribute[int], value: object) -> None:
    if type(value) is not int:
        raise DataTypeError(attribute.name, value, "a non-negative int")
    if value < 0:
        raise DataError(attribute.name, value, "a non-negative int")


@attrs.frozen
class Duration:
    """A span of time for recency conditions, e.g. ``30d`` or ``1y6mo``.

    Years, months, weeks and days are **calendar** units counted back on the
    wall clock of ``as_of`` (so "1mo" before March 31 is the last day of
    February, and "1d" is one calendar day across a DST change); hours,
    minutes and seconds are elapsed time.

    The text form joins ``<n><unit>`` parts, largest first: ``y``, ``mo``,
    ``w``, ``d``, ``h``, ``m``, ``s`` (``"1y2mo"``, ``"90d"``, ``"36h"``).

    Examples:
        >>> Duration.parse("1y2mo").months
        2
        >>> str(Duration(days=30))
        '30d'
    """

    years: int = attrs.field(default=0, validator=_non_negative, kw_only=True)
    months: int = attrs.field(default=0, validator=_non_negative, kw_only=True)
    weeks: int = attrs.field(default=0, validator=_non_negative, kw_only=True)
    days: int = attrs.field(default=0, validator=_non_negative, kw_only=True)
    hours: int = attrs.field(default=0, validator=_non_negative, kw_only=True)
    minutes: int = attrs.field(default=0, validator=_non_negative, kw_only=True)
    seconds: int = attrs.field(default=0, validator=_non_negative, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if not any(getattr(self, name) for name, _ in _DURATION_UNITS):
            raise DataError("duration", str(self), "a positive duration such as '30d'")

    @classmethod
    def parse(cls, text: str) -> Duration:
        """Read the text form, e.g. ``"30d"``, ``"1y6mo"``, ``"2w3d"``.

        Raises:
            DataError: When the text is not a duration.
        """
        if not isinstance(text, str):
            raise DataTypeError("duration", text, "a duration such as '30d'")
        compact = text.strip().replace(" ", "")
        parts = _DURATION_PART.findall(compact)
        if not parts or "".join(n + u for n, u in parts) != compact:
            raise DataError(
                "duration", text, "a duration such as '30d', '2w', '6mo' or '1y'"
            )
        by_unit = {unit: name for name, unit in _DURATION_UNITS}
        values: dict[str, int] = {}
        for number, unit in parts:
            if by_unit[unit] in values:
                raise DataError("duration", text, f"each unit once (repeated {unit!r})")
            values[by_unit[unit]] = int(number)
        return cls(**values)

    def __str__(self) -> str:
        return "".join(
            f"{getattr(self, name)}{unit}"
            for name, unit in _DURATION_UNITS
            if getattr(self, name)
        )

    def before(self, instant: datetime) -> datetime:
        """Return the instant this duration before ``instant`` (see the class docs)."""
        calendar = add_calendar(
            instant,
            years=-self.years,
            months=-self.months,
            weeks=-self.weeks,
            days=-self.days,
        )
        return calendar - _elapsed(self)


def _elapsed(duration: Duration) -> timedelta:
    return timedelta(
        hours=duration.hours, minutes=duration.minutes, seconds=duration.seconds
    )


def _to_duration(value: Duration | str) -> Duration:
    if isinstance(value, Duration):
        return value
    if isinstance(value, str):
        return Duration.parse(value)
    raise DataTypeError("duration", value, "a Duration or a string such as '30d'")


# ---------------------------------------------------------------------------
# Explanations
# ---------------------------------------------------------------------------
@attrs.frozen
class Explanation:
    """Why a condition held or not for one record: a tree mirroring the definition.

    Attributes:
        holds: The verdict, identical to the compiled predicate's.
        kind: The condition's kind.
        text: The condition in text form.
        field: The field path a leaf read, if any.
        actual: The value seen ([`MISSING`][crmcore.records.MISSING] when absent).
        expected: What the leaf needed, in words.
        note: Extra detail, e.g. ``"2 of 3 held; needs 2"``.
        children: Explanations of sub-conditions, for combinators.
    """

    holds: bool
    kind: str
    text: str
    field: str | None = None
    actual: object = attrs.field(default=MISSING, eq=False)
    expected: str | None = None
    note: str | None = None
    children: tuple[Explanation, ...] = ()

    def leaves(self) -> Iterator[Explanation]:
        """Yield every leaf of the tree, depth first."""
        if not self.children:
            yield self
        for child in self.children:
            yield from child.leaves()

    def unmet(self) -> list[Explanation]:
        """The leaves that did not hold (what a user would need to change)."""
        return [leaf for leaf in self.leaves() if not leaf.holds]

    def lines(self, indent: int = 0) -> list[str]:
        """The tree as indented lines, ``✓`` for held and ``✗`` for not."""
        mark = "✓" if self.holds else "✗"
        detail = ""
        if self.field is not None:
            detail = (
                "  (missing)"
                if self.actual is MISSING
                else f"  (actual {self.actual!r})"
            )
        if self.note:
            detail += f"  [{self.note}]"
        out = [f"{'  ' * indent}{mark} {self.text}{detail}"]
        for child in self.children:
            out.extend(child.lines(indent + 1))
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for user interfaces (values shown as their repr)."""
        data: dict[str, Any] = {
            "holds": self.holds,
            "kind": self.kind,
            "text": self.text,
        }
        if self.field is not None:
            data["field"] = self.field
            data["actual"] = None if self.actual is MISSING else repr(self.actual)
            data["missing"] = self.actual is MISSING
        if self.expected is not None:
            data["expected"] = self.expected
        if self.note is not None:
            data["note"] = self.note
        if self.children:
            data["children"] = [child.to_dict() for child in self.children]
        return data


# ---------------------------------------------------------------------------
# Shared helpers for compiled leaves
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
    raise DataTypeError(path, actual, f"a value comparable with {expected!r}")


def _reader(path: str) -> Callable[[object], object]:
    return field_getter(path)


def _check_path(_i: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str):
        raise DataTypeError(
            attribute.name, value, "a dotted field path like 'account.industry'"
        )
    try:
        parse_path(value)
    except DataError:
        raise DataError(
            attribute.name, value, "a dotted field path like 'account.industry'"
        ) from None


def _fmt(value: object) -> str:
    """Text form of a value (what to_text prints)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, datetime):
        return f"@{value.isoformat()}"
    if isinstance(value, date):
        return f"@{value.isoformat()}"
    if isinstance(value, Money):
        return f"{value.amount} {value.currency}"
    return str(value)


class _Combinable:
    """Operators shared by the built-in kinds: ``a & b``, ``a | b``, ``~a``."""

    __slots__ = ()
    kind: ClassVar[str]

    def __and__(self, other: Condition) -> AllOf:
        return all_of(self, other)

    def __or__(self, other: Condition) -> AnyOf:
        return any_of(self, other)

    def __invert__(self) -> Not:
        return Not(self)

    def __str__(self) -> str:
        return to_text(self)


# ---------------------------------------------------------------------------
# Comparisons
# ---------------------------------------------------------------------------
_SYMBOLS: Final = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
_OPERATORS: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}


Test: TypeAlias = Callable[[Any], bool]
"""A test on one field value (what a leaf does once the value is read)."""

# ``actual >= value`` is ``value <= actual``: with the value bound first, a
# comparison becomes one C-level call (``functools.partial`` of an operator).
_REFLECTED: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "lt": operator.gt,
    "le": operator.ge,
    "gt": operator.lt,
    "ge": operator.le,
}


def _compare_exact(kind: str, path: str, value: ConditionValue) -> Test:
    """The reference test of a comparison: exact semantics for every value."""
    if kind == "eq":
        if isinstance(value, datetime):
            # ``==`` between naive and aware datetimes is silently False in
            # Python; make it the same error every other comparison gives.
            def eq_instant(actual: object) -> bool:
                if isinstance(actual, datetime) and actual.tzinfo is None:
                    raise NaiveDatetimeError(path, actual)
                return actual == value

            return eq_instant
        return functools.partial(operator.eq, value)
    if kind == "ne":
        missing = MISSING

        def ne(actual: object) -> bool:
            if actual is missing or actual is None:
                return False
            return actual != value

        return ne
    compare = _OPERATORS[kind]

    def exact(actual: object) -> bool:
        try:
            return compare(actual, value)
        except (TypeError, CurrencyMismatchError) as error:
            return _incomparable(path, actual, value, error)

    return exact


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


class _Leaf(_Combinable):
    """Base of the kinds that test one field.

    ``_exact`` is the reference test of a field value; ``_fast`` may be a
    quicker test that raises instead of deciding the unusual cases (a missing
    value, a type mismatch): ``all`` and ``any`` then re-run the record through
    the exact tests, so results and errors are always those of ``_exact``.
    """

    __slots__ = ()
    field: str
    uses_as_of: ClassVar[bool] = False

    def _exact(self, as_of: datetime | None) -> Test:
        raise NotImplementedError  # pragma: no cover - every leaf defines it

    def _fast(self, as_of: datetime | None) -> Test:
        return self._exact(as_of)

    def bind(self, as_of: datetime | None) -> Predicate:
        """Return the predicate for records, with ``as_of`` fixed."""
        return _leaf_predicate(self.field, self._exact(as_of))


def _explain_leaf(
    condition: Any, record: object, as_of: datetime | None, expected: str
) -> Explanation:
    actual = _reader(condition.field)(record)
    holds = condition.bind(as_of)(record)
    return Explanation(
        holds=holds,
        kind=condition.kind,
        text=to_text(condition),
        field=condition.field,
        actual=actual,
        expected=expected,
    )


@attrs.frozen(cache_hash=True)
class _Comparison(_Leaf):
    field: str = attrs.field(validator=_check_path)
    value: ConditionValue = attrs.field(converter=_value, metadata={"crmcore": "value"})

    kind: ClassVar[str] = ""

    def _exact(self, as_of: datetime | None) -> Test:
        return _compare_exact(self.kind, self.field, self.value)

    def _fast(self, as_of: datetime | None) -> Test:
        reflected = _REFLECTED.get(self.kind)
        if reflected is None:
            return self._exact(as_of)
        return functools.partial(reflected, self.value)

    def explain(self, record: object, as_of: datetime | None = None) -> Explanation:
        """Explain the verdict for one record."""
        return _explain_leaf(
            self, record, as_of, f"{_SYMBOLS[self.kind]} {_fmt(self.value)}"
        )


@attrs.frozen(cache_hash=True)
class Eq(_Comparison):
    """``field == value``. Absent fields never equal anything."""

    kind: ClassVar[str] = "eq"


@attrs.frozen(cache_hash=True)
class Ne(_Comparison):
    """``field != value``; false when the field is absent."""

    kind: ClassVar[str] = "ne"


@attrs.frozen(cache_hash=True)
class Lt(_Comparison):
    """``field < value``."""

    kind: ClassVar[str] = "lt"


@attrs.frozen(cache_hash=True)
class Le(_Comparison):
    """``field <= value``."""

    kind: ClassVar[str] = "le"


@attrs.frozen(cache_hash=True)
class Gt(_Comparison):
    """``field > value``."""

    kind: ClassVar[str] = "gt"


@attrs.frozen(cache_hash=True)
class Ge(_Comparison):
    """``field >= value``."""

    kind: ClassVar[str] = "ge"


# ---------------------------------------------------------------------------
# Membership, text and presence
# ---------------------------------------------------------------------------
@attrs.frozen(cache_hash=True)
class IsIn(_Leaf):
    """The field value is one of ``values`` (false when absent).

    Examples:
        >>> matches(IsIn("country", ["DE", "AT", "CH"]), {"country": "AT"})
        True
    """

    field: str = attrs.field(validator=_check_path)
    values: tuple[ConditionValue, ...] = attrs.field(
        converter=_to_values, metadata={"crmcore": "values"}
    )

    kind: ClassVar[str] = "in"

    def _exact(self, as_of: datetime | None) -> Test:
        return _membership(self.field, self.values, negate=False)

    def _fast(self, as_of: datetime | None) -> Test:
        return frozenset(self.values).__contains__

    def explain(self, record: object, as_of: datetime | None = None) -> Explanation:
        """Explain the verdict for one record."""
        return _explain_leaf(self, record, as_of, f"one of {_fmt_set(self.values)}")


@attrs.frozen(cache_hash=True)
class NotIn(_Leaf):
    """The field value is present and none of ``values``."""

    field: str = attrs.field(validator=_check_path)
    values: tuple[ConditionValue, ...] = attrs.field(
        converter=_to_values, metadata={"crmcore": "values"}
    )

    kind: ClassVar[str] = "not_in"

    def _exact(self, as_of: datetime | None) -> Test:
        return _membership(self.field, self.values, negate=True)

    def explain(self, record: object, as_of: datetime | None = None) -> Explanation:
        """Explain the verdict for one record."""
        return _explain_leaf(self, record, as_of, f"none of {_fmt_set(self.values)}")


def _fmt_set(values: Sequence[ConditionValue]) -> str:
    return "{" + ", ".join(_fmt(v) for v in values) + "}"


def _membership(path: str, values: tuple[ConditionValue, ...], *, negate: bool) -> Test:
    choices = frozenset(values)
    missing = MISSING

    def unhashable(actual: object) -> bool:
        raise DataTypeError(
            path, actual, "a single value (use contains for collections)"
        )

    if negate:

        def not_in(actual: object) -> bool:
            if actual is missing or actual is None:
                return False
            try:
                return actual not in choices
            except TypeError:
                return unhashable(actual)

        return not_in

    def is_in(actual: object) -> bool:
        try:
            return actual in choices
        except TypeError:
            return unhashable(actual)

    return is_in


def _case(_i: object, attribute: attrs.Attribute[bool], value: object) -> None:
    if not isinstance(value, bool):
        raise DataTypeError(attribute.name, value, "true or false")


def _text_value(_i: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str):
        raise DataTypeError(attribute.name, value, "a string")


@attrs.frozen(cache_hash=True)
class Contains(_Leaf):
    """A string field contains a substring, or a collection field contains an item.

    With ``case_sensitive=False`` strings compare by ``str.casefold``, for
    substrings and for string items of collections alike.

    Examples:
        >>> matches(Contains("tags", "vip"), {"tags": ["vip", "beta"]})
        True
        >>> acme = Contains("name", "ACME", case_sensitive=False)
        >>> matches(acme, {"name": "Acme Ltd"})
        True
    """

    field: str = attrs.field(validator=_check_path)
    value: ConditionValue = attrs.field(converter=_value, metadata={"crmcore": "value"})
    case_sensitive: bool = attrs.field(default=True, validator=_case, kw_only=True)

    kind: ClassVar[str] = "contains"

    def _exact(self, as_of: datetime | None) -> Test:
        path, needle, sensitive = self.field, self.value, self.case_sensitive
        folded = needle.casefold() if isinstance(needle, str) else needle

        def contains(actual: Any) -> bool:
            if actual is MISSING or actual is None:
                return False
            if isinstance(actual, str):
                if not isinstance(needle, str):
                    raise DataTypeError(
                        path, actual, f"a collection that may hold {needle!r}"
                    )
                return needle in actual if sensitive else folded in actual.casefold()  # type: ignore[operator]
            if isinstance(actual, Iterable) and not isinstance(actual, Mapping):
                if sensitive or not isinstance(needle, str):
                    return needle in actual
                return any(
                    isinstance(x, str) and x.casefold() == folded for x in actual
                )
            raise DataTypeError(path, actual, "a string or a collection")

        return contains

    def explain(self, record: object, as_of: datetime | None = None) -> Explanation:
        """Explain the verdict for one record."""
        how = "" if self.case_sensitive else " (ignoring case)"
        return _explain_leaf(self, record, as_of, f"contains {_fmt(self.value)}{how}")


@attrs.frozen(cache_hash=True)
class _Affix(_Leaf):
    field: str = attrs.field(validator=_check_path)
    affix: str = attrs.field(validator=_text_value)
    case_sensitive: bool = attrs.field(default=True, validator=_case, kw_only=True)

    kind: ClassVar[str] = ""

    def _exact(self, as_of: datetime | None) -> Test:
        path = self.field
        affix = self.affix if self.case_sensitive else self.affix.casefold()
        method = str.startswith if self.kind == "starts_with" else str.endswith
        sensitive = self.case_sensitive

        def test(actual: object) -> bool:
            if actual is MISSING or actual is None:
                return False
            if not isinstance(actual, str):
                raise DataTypeError(path, actual, "a string")
            return method(actual if sensitive else actual.casefold(), affix)

        return test

    def explain(self, record: object, as_of: datetime | None = None) -> Explanation:
        """Explain the verdict for one record."""
        verb = self.kind.replace("_", " ")
        how = "" if self.case_sensitive else " (ignoring case)"
        return _explain_leaf(self, record, as_of, f"{verb} {_fmt(self.affix)}{how}")


@attrs.frozen(cache_hash=True)
class StartsWith(_Affix):
    """A string field starts with ``affix``.

    Examples:
        >>> matches(StartsWith("email", "info@"), {"email": "info@acme.example"})
        True
    """

    kind: ClassVar[str] = "starts_with"


@attrs.frozen(cache_hash=True)
class EndsWith(_Affix):
    """A string field ends with ``affix`` (e.g. an e-mail domain)."""

    kind: ClassVar[str] = "ends_with"


def _present(value: object) -> bool:
    if value is MISSING or value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, Sized) and not isinstance(value, (bytes, Money)):
        return len(value) > 0
    return True


@attrs.frozen(cache_hash=True)
class Exists(_Leaf):
    """The field is present and non-empty.

    Absent, ``None``, a blank string (only whitespace) and an empty collection
    count as empty; ``0`` and ``False`` are present values.

    Examples:
        >>> matches(Exists("email"), {"email": "  "})
        False
        >>> matches(Exists("employees"), {"employees": 0})
        True
    """

    field: str = attrs.field(validator=_check_path)

    kind: ClassVar[str] = "exists"

    def _exact(self, as_of: datetime | None) -> Test:
        return _present

    def explain(self, record: object, as_of: datetime | None = None) -> Explanation:
        """Explain the verdict for one record."""
        return _explain_leaf(self, record, as_of, "present and non-empty")


@attrs.frozen(cache_hash=True)
class IsMissing(_Leaf):
    """The field is absent or empty: exactly when [`Exists`][crmcore.conditions.Exists]
    is not.
    """  # noqa: D205

    field: str = attrs.field(validator=_check_path)

    kind: ClassVar[str] = "missing"

    def _exact(self, as_of: datetime | None) -> Test:
        return lambda actual: not _present(actual)

    def explain(self, record: object, as_of: datetime | None = None) -> Explanation:
        """Explain the verdict for one record."""
        return _explain_leaf(self, record, as_of, "absent or empty")


_INCLUSIVE: Final = ("both", "neither", "left", "right")


def _inclusive(_i: object, attribute: attrs.Attribute[str], value: object) -> None:
    if value not in _INCLUSIVE:
        raise DataError(
            attribute.name, value, "one of 'both', 'neither', 'left', 'right'"
        )


@attrs.frozen(cache_hash=True)
class Between(_Leaf):
    """``low <= field <= high``; ``inclusive`` chooses which bounds count.

    ``inclusive`` is ``"both"`` (default), ``"neither"``, ``"left"``
    (``low <= v < high``) or ``"right"`` (``low < v <= high``), as in pandas.

    Examples:
        >>> matches(Between("employees", 50, 500), {"employees": 500})
        True
        >>> matches(Between("employees", 50, 500, inclusive="left"), {"employees": 500})
        False
    """

    field: str = attrs.field(validator=_check_path)
    low: ConditionValue = attrs.field(converter=_value, metadata={"crmcore": "value"})
    high: ConditionValue = attrs.field(converter=_value, metadata={"crmcore": "value"})
    inclusive: Literal["both", "neither", "left", "right"] = attrs.field(
        default="both", validator=_inclusive, kw_only=True
    )

    kind: ClassVar[str] = "between"

    def __attrs_post_init__(self) -> None:
        try:
            ordered = self.low <= self.high  # type: ignore[operator]
        except (TypeError, CurrencyMismatchError):
            raise DataTypeError(
                "high", self.high, f"a value comparable with low ({self.low!r})"
            ) from None
        if not ordered:
            raise DataError(
                "high", self.high, f"a value at or above low ({self.low!r})"
            )

    def _exact(self, as_of: datetime | None) -> Test:
        path, low, high = self.field, self.low, self.high
        above = operator.ge if self.inclusive in {"both", "left"} else operator.gt
        below = operator.le if self.inclusive in {"both", "right"} else operator.lt

        def between(actual: Any) -> bool:
            try:
                held: bool = above(actual, low) and below(actual, high)
                return held
            except (TypeError, CurrencyMismatchError) as error:
                return _incomparable(path, actual, low, error)

        return between

    def explain(self, record: object, as_of: datetime | None = None) -> Explanation:
        """Explain the verdict for one record."""
        left = "[" if self.inclusive in {"both", "left"} else "("
        right = "]" if self.inclusive in {"both", "right"} else ")"
        return _explain_leaf(
            self, record, as_of, f"in {left}{_fmt(self.low)}, {_fmt(self.high)}{right}"
        )


# ---------------------------------------------------------------------------
# Time
# ---------------------------------------------------------------------------
def _need_as_of(as_of: datetime | None, condition: object) -> datetime:
    if as_of is None:
        raise DataError(
            "as_of",
            None,
            f"an aware datetime: {to_text(condition)} is relative to as_of",  # type: ignore[arg-type]
        )
    return require_aware(as_of, "as_of")


def _instant_test(path: str, test: Callable[[datetime], bool]) -> Test:
    def instant(actual: object) -> bool:
        if actual is MISSING or actual is None:
            return False
        if not isinstance(actual, datetime):
            raise DataTypeError(path, actual, "a timezone-aware datetime")
        if actual.tzinfo is None:
            raise NaiveDatetimeError(path, actual)
        return test(actual)

    return instant


class _TimeLeaf(_Leaf):
    """Base of the kinds that test an instant; ``_window`` holds the rule."""

    __slots__ = ()

    def _window(self, as_of: datetime | None) -> Callable[[datetime], bool]:
        raise NotImplementedError  # pragma: no cover - every time kind defines it

    def _exact(self, as_of: datetime | None) -> Test:
        return _instant_test(self.field, self._window(as_of))

    def _fast(self, as_of: datetime | None) -> Test:
        # Comparing anything but an aware datetime raises TypeError, which
        # sends the record back through the exact test.
        return self._window(as_of)


@attrs.frozen(cache_hash=True)
class WithinLast(_TimeLeaf):
    """The field is an instant in ``[as_of - duration, as_of]``.

    Future instants (after ``as_of``) do not count as recent.

    Examples:
        >>> from datetime import datetime, timezone
        >>> as_of = datetime(2026, 3, 1, tzinfo=timezone.utc)
        >>> seen = {"last_seen": datetime(2026, 2, 1, tzinfo=timezone.utc)}
        >>> matches(WithinLast("last_seen", "28d"), seen, as_of=as_of)
        True
    """

    field: str = attrs.field(validator=_check_path)
    duration: Duration = attrs.field(
        converter=_to_duration, metadata={"crmcore": "duration"}
    )

    kind: ClassVar[str] = "within_last"
    uses_as_of: ClassVar[bool] = True

    def _window(self, as_of: datetime | None) -> Callable[[datetime], bool]:
        now = _need_as_of(as_of, self)
        since = self.duration.before(now)
        return lambda t: since <= t <= now

    def explain(self, record: object, as_of: datetime | None = None) -> Explanation:
        """Explain the verdict for one record."""
        since = self.duration.before(_need_as_of(as_of, self))
        return _explain_leaf(self, record, as_of, f"at or after {since.isoformat()}")


@attrs.frozen(cache_hash=True)
class OlderThan(_TimeLeaf):
    """The field is an instant before ``as_of - duration``."""

    field: str = attrs.field(validator=_check_path)
    duration: Duration = attrs.field(
        converter=_to_duration, metadata={"crmcore": "duration"}
    )

    kind: ClassVar[str] = "older_than"
    uses_as_of: ClassVar[bool] = True

    def _window(self, as_of: datetime | None) -> Callable[[datetime], bool]:
        cutoff = self.duration.before(_need_as_of(as_of, self))
        return lambda t: t < cutoff

    def explain(self, record: object, as_of: datetime | None = None) -> Explanation:
        """Explain the verdict for one record."""
        cutoff = self.duration.before(_need_as_of(as_of, self))
        return _explain_leaf(self, record, as_of, f"before {cutoff.isoformat()}")


def _aware_instant(
    _i: object, attribute: attrs.Attribute[datetime], value: object
) -> None:
    require_aware(value, attribute.name)


@attrs.frozen(cache_hash=True)
class Before(_TimeLeaf):
    """The field is an instant strictly before ``instant``."""

    field: str = attrs.field(validator=_check_path)
    instant: datetime = attrs.field(validator=_aware_instant)

    kind: ClassVar[str] = "before"

    def _window(self, as_of: datetime | None) -> Callable[[datetime], bool]:
        limit = self.instant
        return lambda t: t < limit

    def explain(self, record: object, as_of: datetime | None = None) -> Explanation:
        """Explain the verdict for one record."""
        return _explain_leaf(self, record, as_of, f"before {self.instant.isoformat()}")


@attrs.frozen(cache_hash=True)
class After(_TimeLeaf):
    """The field is an instant at or after ``instant`` (so before/after split time)."""

    field: str = attrs.field(validator=_check_path)
    instant: datetime = attrs.field(validator=_aware_instant)

    kind: ClassVar[str] = "after"

    def _window(self, as_of: datetime | None) -> Callable[[datetime], bool]:
        limit = self.instant
        return lambda t: t >= limit

    def explain(self, record: object, as_of: datetime | None = None) -> Explanation:
        """Explain the verdict for one record."""
        return _explain_leaf(
            self, record, as_of, f"at or after {self.instant.isoformat()}"
        )


# ---------------------------------------------------------------------------
# Structure: depth and size of a definition
# ---------------------------------------------------------------------------
def _children(condition: object) -> tuple[object, ...]:
    if isinstance(condition, (AllOf, AnyOf, AtLeast)):
        return condition.conditions
    if isinstance(condition, Not):
        return (condition.condition,)
    if isinstance(condition, Count) and condition.where is not None:
        return (condition.where,)
    return ()


def _measure(conditions: Iterable[object]) -> tuple[int, int]:
    """Depth and node count of the conditions below a combinator."""
    depth = size = 0
    for child in conditions:
        if isinstance(child, _Nested):
            depth = max(depth, child._depth)
            size += child._size
        else:
            depth = max(depth, 1)
            size += 1
    return depth, size


def _check_condition(
    _i: object, attribute: attrs.Attribute[Any], value: object
) -> None:
    if not _is_condition(value):
        raise DataTypeError(attribute.name, value, "a condition")


def _to_conditions(values: object) -> tuple[Condition, ...]:
    if not isinstance(values, Iterable) or isinstance(values, (str, Mapping)):
        raise DataTypeError("conditions", values, "a list of conditions")
    items = tuple(values)
    for index, item in enumerate(items):
        if not _is_condition(item):
            raise DataTypeError(f"conditions[{index}]", item, "a condition")
    return items


def _is_condition(value: object) -> bool:
    return getattr(type(value), "kind", None) in _REGISTRY and attrs.has(type(value))


@attrs.frozen(cache_hash=True)
class _Nested(_Combinable):
    """Base of kinds that hold other conditions: measures depth and size.

    Subclasses call ``_limit()`` from ``__attrs_post_init__``, once their own
    fields (the sub-conditions) are set.
    """

    _depth: int = attrs.field(init=False, default=0, eq=False, repr=False)
    _size: int = attrs.field(init=False, default=0, eq=False, repr=False)

    def _limit(self) -> None:
        depth, size = _measure(_children(self))
        object.__setattr__(self, "_depth", depth + 1)
        object.__setattr__(self, "_size", size + 1)
        if self._depth > MAX_DEPTH:
            raise DataError(
                "conditions",
                f"<nesting depth {self._depth}>",
                f"at most {MAX_DEPTH} levels of nesting",
            )
        if self._size > MAX_NODES:
            raise DataError(
                "conditions",
                f"<{self._size} conditions>",
                f"at most {MAX_NODES} conditions",
            )


def _uses_as_of(conditions: Iterable[object]) -> bool:
    return any(getattr(c, "uses_as_of", False) for c in conditions)


# ---------------------------------------------------------------------------
# Combinators
# ---------------------------------------------------------------------------
def _all(predicates: list[Predicate]) -> Predicate:
    if not predicates:
        return lambda record: True
    if len(predicates) == 1:
        return predicates[0]
    if len(predicates) == 2:
        first, second = predicates
        return lambda record: first(record) and second(record)
    if len(predicates) == 3:
        first, second, third = predicates
        return lambda record: first(record) and second(record) and third(record)
    chain = tuple(predicates)

    def all_(record: object) -> bool:
        for predicate in chain:
            if not predicate(record):
                return False
        return True

    return all_


def _any(predicates: list[Predicate]) -> Predicate:
    if not predicates:
        return lambda record: False
    if len(predicates) == 1:
        return predicates[0]
    if len(predicates) == 2:
        first, second = predicates
        return lambda record: first(record) or second(record)
    chain = tuple(predicates)

    def any_(record: object) -> bool:
        for predicate in chain:
            if predicate(record):
                return True
        return False

    return any_


def _steps(
    conditions: Sequence[Any], as_of: datetime | None
) -> tuple[tuple[str | None, Test], ...] | None:
    """The fused form of a combinator's children, or None if it would not help.

    A step is ``(key, test)``: a one-key leaf is read by the combinator itself
    and ``test`` is its fast value test; anything else is ``(None, predicate)``
    and gets the whole record.
    """
    steps: list[tuple[str | None, Test]] = []
    for condition in conditions:
        if isinstance(condition, _Leaf) and "." not in condition.field:
            steps.append((condition.field, condition._fast(as_of)))
        else:
            steps.append((None, _bind_child(condition, as_of)))
    if len(steps) < 2 or all(key is None for key, _ in steps):
        return None
    return tuple(steps)


def _fused(
    steps: tuple[tuple[str | None, Test], ...], exact: Predicate, *, any_: bool
) -> Predicate:
    """One loop over the children that reads each field itself.

    If anything raises (a missing value met a comparison, a type mismatch...),
    the record is evaluated again by ``exact``, the children's reference
    predicates in the same order, whose verdict or error stands. Results are
    tested for truth (not identity), so numpy booleans from pandas rows work.
    """
    access, missing, mapping, attribute = _ACCESS, MISSING, _MAPPING, _ATTRIBUTE
    if all(key is not None for key, _ in steps):
        # In this fast path a missing key or attribute simply raises (KeyError,
        # AttributeError) and the exact path, which knows MISSING, takes over.
        keyed: tuple[tuple[str, Test], ...] = steps  # type: ignore[assignment]
        by_attribute = tuple((operator.attrgetter(key), test) for key, test in keyed)
        if any_:

            def any_keyed(record: Any) -> bool:
                cls = type(record)
                try:
                    if cls is dict:
                        for key, test in keyed:
                            if test(record[key]):
                                return True
                        return False
                    mode = access.get(cls)
                    if mode == attribute:
                        for read, test in by_attribute:
                            if test(read(record)):
                                return True
                        return False
                    if mode == mapping:
                        for key, test in keyed:
                            if test(record[key]):
                                return True
                        return False
                except Exception:
                    pass
                return exact(record)

            return any_keyed

        # Most records are decided by the first few children: those are
        # unrolled into locals, the rest run in a loop.
        (k0, t0), (k1, t1) = keyed[0], keyed[1]
        (r0, _), (r1, _) = by_attribute[0], by_attribute[1]
        k2, t2, r2 = (
            (keyed[2][0], keyed[2][1], by_attribute[2][0])
            if len(keyed) > 2
            else (k1, t1, r1)
        )
        rest, rest_attribute = keyed[3:], by_attribute[3:]

        def all_keyed(record: Any) -> bool:
            cls = type(record)
            try:
                if cls is dict:
                    if not (t0(record[k0]) and t1(record[k1]) and t2(record[k2])):
                        return False
                    for key, test in rest:
                        if not test(record[key]):
                            return False
                    return True
                mode = access.get(cls)
                if mode == attribute:
                    if not (t0(r0(record)) and t1(r1(record)) and t2(r2(record))):
                        return False
                    for read, test in rest_attribute:
                        if not test(read(record)):
                            return False
                    return True
                if mode == mapping:
                    for key, test in keyed:
                        if not test(record[key]):
                            return False
                    return True
            except Exception:
                pass
            return exact(record)

        return all_keyed

    def mixed(record: Any) -> bool:
        mode = mapping if type(record) is dict else access.get(type(record))
        try:
            if mode in (mapping, attribute):
                get = record.get if mode == mapping else None
                for key, test in steps:
                    if key is None:
                        held = test(record)
                    elif get is not None:
                        held = test(get(key, missing))
                    else:
                        held = test(getattr(record, key, missing))
                    if bool(held) is any_:
                        return any_
                return not any_
        except Exception:
            pass
        return exact(record)

    return mixed


_CHUNK: Final = 2048


def _column_filter(
    steps: tuple[tuple[str, Test], ...], exact: Predicate
) -> Callable[[Iterable[Any]], Iterator[Any]]:
    """Filter records chunk by chunk, one child at a time, in C-level loops.

    For each chunk, every keyed child is applied with ``map`` to the records
    that passed the children before it, and ``itertools.compress`` keeps the
    survivors in order: the same short-circuit semantics as evaluating record
    by record. A chunk that raises anywhere (a missing value, mixed record
    types) is filtered again record by record with ``exact``.
    """
    by_key = tuple((operator.itemgetter(key), test) for key, test in steps)
    by_attribute = tuple((operator.attrgetter(key), test) for key, test in steps)

    def chunk_filter(chunk: list[Any]) -> list[Any]:
        cls = type(chunk[0])
        mode = _MAPPING if cls is dict else _ACCESS.get(cls)
        pairs = (
            by_key if mode == _MAPPING else by_attribute if mode == _ATTRIBUTE else None
        )
        if pairs is not None:
            try:
                survivors = chunk
                for read, test in pairs:
                    survivors = list(
                        compress(survivors, map(test, map(read, survivors)))
                    )
                    if not survivors:
                        break
                return survivors
            except Exception:
                pass
        return [record for record in chunk if exact(record)]

    def filter_(records: Iterable[Any]) -> Iterator[Any]:
        iterator = iter(records)
        while chunk := list(islice(iterator, _CHUNK)):
            yield from chunk_filter(chunk)

    return filter_


def _bind_child(condition: Any, as_of: datetime | None) -> Predicate:
    bind = getattr(condition, "bind", None)
    if bind is not None:
        return bind(as_of)  # type: ignore[no-any-return]
    test = condition.test
    return lambda record: bool(test(record, as_of))


def _explain_child(
    condition: Any, record: object, as_of: datetime | None
) -> Explanation:
    explain_ = getattr(condition, "explain", None)
    if explain_ is not None:
        return explain_(record, as_of)  # type: ignore[no-any-return]
    holds = _bind_child(condition, as_of)(record)
    describe = getattr(condition, "describe", None)
    return Explanation(
        holds=holds,
        kind=condition.kind,
        text=describe() if describe is not None else to_text(condition),
    )


@attrs.frozen(cache_hash=True)
class AllOf(_Nested):
    """Every condition holds (true when there are none)."""

    conditions: tuple[Condition, ...] = attrs.field(converter=_to_conditions)

    kind: ClassVar[str] = "all"

    def __attrs_post_init__(self) -> None:
        self._limit()

    @property
    def uses_as_of(self) -> bool:
        """Whether any sub-condition is relative to ``as_of``."""
        return _uses_as_of(self.conditions)

    def bind(self, as_of: datetime | None) -> Predicate:
        """Return the predicate (short-circuits at the first false)."""
        exact = _all([_bind_child(c, as_of) for c in self.conditions])
        steps = _steps(self.conditions, as_of)
        return exact if steps is None else _fused(steps, exact, any_=False)

    def explain(self, record: object, as_of: datetime | None = None) -> Explanation:
        """Explain the verdict for one record (every sub-condition is shown)."""
        children = tuple(_explain_child(c, record, as_of) for c in self.conditions)
        held = sum(child.holds for child in children)
        return Explanation(
            holds=held == len(children),
            kind=self.kind,
            text=f"all of {len(children)} ({held} held)",
            children=children,
        )


@attrs.frozen(cache_hash=True)
class AnyOf(_Nested):
    """At least one condition holds (false when there are none)."""

    conditions: tuple[Condition, ...] = attrs.field(converter=_to_conditions)

    kind: ClassVar[str] = "any"

    def __attrs_post_init__(self) -> None:
        self._limit()

    @property
    def uses_as_of(self) -> bool:
        """Whether any sub-condition is relative to ``as_of``."""
        return _uses_as_of(self.conditions)

    def bind(self, as_of: datetime | None) -> Predicate:
        """Return the predicate (short-circuits at the first true)."""
        exact = _any([_bind_child(c, as_of) for c in self.conditions])
        steps = _steps(self.conditions, as_of)
        return exact if steps is None else _fused(steps, exact, any_=True)

    def explain(self, record: object, as_of: datetime | None = None) -> Explanation:
        """Explain the verdict for one record (every sub-condition is shown)."""
        children = tuple(_explain_child(c, record, as_of) for c in self.conditions)
        held = sum(child.holds for child in children)
        return Explanation(
            holds=held > 0,
            kind=self.kind,
            text=f"any of {len(children)} ({held} held)",
            children=children,
        )


@attrs.frozen(cache_hash=True)
class Not(_Nested):
    """The condition does not hold."""

    condition: Condition = attrs.field(validator=_check_condition)

    kind: ClassVar[str] = "not"

    def __attrs_post_init__(self) -> None:
        self._limit()

    @property
    def uses_as_of(self) -> bool:
        """Whether the sub-condition is relative to ``as_of``."""
        return _uses_as_of([self.condition])

    def bind(self, as_of: datetime | None) -> Predicate:
        """Return the predicate."""
        inner = _bind_child(self.condition, as_of)
        return lambda record: not inner(record)

    def explain(self, record: object, as_of: datetime | None = None) -> Explanation:
        """Explain the verdict for one record."""
        child = _explain_child(self.condition, record, as_of)
        return Explanation(
            holds=not child.holds, kind=self.kind, text=to_text(self), children=(child,)
        )


def _count_validator(
    _i: object, attribute: attrs.Attribute[int], value: object
) -> None:
    if type(value) is not int or value < 0:
        raise DataError(attribute.name, value, "a non-negative int")


@attrs.frozen(cache_hash=True)
class AtLeast(_Nested):
    """At least ``n`` of the conditions hold (stops counting once ``n`` is reached)."""

    n: int = attrs.field(validator=_count_validator)
    conditions: tuple[Condition, ...] = attrs.field(converter=_to_conditions)

    kind: ClassVar[str] = "at_least"

    def __attrs_post_init__(self) -> None:
        if self.n > len(self.conditions):
            raise DataError(
                "n",
                self.n,
                f"at most the number of conditions ({len(self.conditions)})",
            )
        self._limit()

    @property
    def uses_as_of(self) -> bool:
        """Whether any sub-condition is relative to ``as_of``."""
        return _uses_as_of(self.conditions)

    def bind(self, as_of: datetime | None) -> Predicate:
        """Return the predicate."""
        chain = tuple(_bind_child(c, as_of) for c in self.conditions)
        needed = self.n

        def at_least_(record: object) -> bool:
            if needed == 0:
                return True
            held = 0
            for predicate in chain:
                if predicate(record):
                    held += 1
                    if held >= needed:
                        return True
            return False

        return at_least_

    def explain(self, record: object, as_of: datetime | None = None) -> Explanation:
        """Explain the verdict for one record (every sub-condition is shown)."""
        children = tuple(_explain_child(c, record, as_of) for c in self.conditions)
        held = sum(child.holds for child in children)
        return Explanation(
            holds=held >= self.n,
            kind=self.kind,
            text=f"at least {self.n} of {len(children)} ({held} held)",
            children=children,
        )


def _opt_condition(_i: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not _is_condition(value):
        raise DataTypeError(attribute.name, value, "a condition or None")


def _opt_count(_i: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        _count_validator(_i, attribute, value)


@attrs.frozen(cache_hash=True)
class Count(_Nested):
    """A collection field has ``at_least`` to ``at_most`` items matching ``where``.

    Items are tested with ``where`` (any condition, evaluated on each item with
    the same ``as_of``); without ``where`` every item counts. An absent
    collection has no items.

    Examples:
        >>> from datetime import datetime, timezone
        >>> as_of = datetime(2026, 3, 1, tzinfo=timezone.utc)
        >>> meetings = Count("activities", field("kind") == "meeting", at_least=2)
        >>> lead = {"activities": [{"kind": "meeting"}, {"kind": "email"},
        ...                        {"kind": "meeting"}]}
        >>> matches(meetings, lead, as_of=as_of)
        True
    """

    field: str = attrs.field(validator=_check_path)
    where: Condition | None = attrs.field(default=None, validator=_opt_condition)
    at_least: int = attrs.field(default=1, validator=_count_validator, kw_only=True)
    at_most: int | None = attrs.field(default=None, validator=_opt_count, kw_only=True)

    kind: ClassVar[str] = "count"

    def __attrs_post_init__(self) -> None:
        if self.at_most is not None and self.at_most < self.at_least:
            raise DataError(
                "at_most", self.at_most, f"at least at_least ({self.at_least}) or None"
            )
        self._limit()

    @property
    def uses_as_of(self) -> bool:
        """Whether the item condition is relative to ``as_of``."""
        return self.where is not None and _uses_as_of([self.where])

    def _counter(self, as_of: datetime | None) -> Callable[[object], int]:
        get, path = _reader(self.field), self.field
        test = None if self.where is None else _bind_child(self.where, as_of)

        def count(record: object) -> int:
            items = get(record)
            if items is MISSING or items is None:
                return 0
            if isinstance(items, (str, bytes, Mapping)) or not isinstance(
                items, Iterable
            ):
                raise DataTypeError(path, items, "a collection of items")
            if test is None:
                return len(items) if isinstance(items, Sized) else sum(1 for _ in items)
            return sum(1 for item in items if test(item))

        return count

    def bind(self, as_of: datetime | None) -> Predicate:
        """Return the predicate."""
        count, low, high = self._counter(as_of), self.at_least, self.at_most
        if high is None:
            return lambda record: count(record) >= low
        return lambda record: low <= count(record) <= high

    def explain(self, record: object, as_of: datetime | None = None) -> Explanation:
        """Explain the verdict for one record."""
        found = self._counter(as_of)(record)
        wanted = f"at least {self.at_least}" + (
            "" if self.at_most is None else f" and at most {self.at_most}"
        )
        holds = found >= self.at_least and (
            self.at_most is None or found <= self.at_most
        )
        return Explanation(
            holds=holds,
            kind=self.kind,
            text=to_text(self),
            field=self.field,
            actual=found,
            expected=f"{wanted} matching items",
        )


# ---------------------------------------------------------------------------
# Builders
# ---------------------------------------------------------------------------
def all_of(*conditions: Condition) -> AllOf:
    """All of the conditions; nested ``all`` groups are flattened.

    Examples:
        >>> to_text(all_of(field("a") == 1, all_of(field("b") == 2, field("c") == 3)))
        'a == 1 and b == 2 and c == 3'
    """
    flat: list[Condition] = []
    for condition in conditions:
        flat.extend(
            condition.conditions if isinstance(condition, AllOf) else [condition]
        )
    return AllOf(flat)


def any_of(*conditions: Condition) -> AnyOf:
    """Any of the conditions; nested ``any`` groups are flattened."""
    flat: list[Condition] = []
    for condition in conditions:
        flat.extend(
            condition.conditions if isinstance(condition, AnyOf) else [condition]
        )
    return AnyOf(flat)


def not_(condition: Condition) -> Not:
    """The condition does not hold."""
    return Not(condition)


def at_least(n: int, *conditions: Condition) -> AtLeast:
    """At least ``n`` of the conditions hold."""
    return AtLeast(n, conditions)


@attrs.frozen(eq=False)
class FieldRef:
    """A field path to build conditions from: ``field("employees") >= 50``.

    Comparison operators return conditions (not booleans), so ``==`` on a
    ``FieldRef`` builds an [`Eq`][crmcore.conditions.Eq].

    Examples:
        >>> to_text((field("employees") >= 50) & ~field("country").is_in({"US"}))
        'employees >= 50 and not (country in {"US"})'
    """

    path: str = attrs.field(validator=_check_path)

    __hash__ = None  # type: ignore[assignment]

    def __eq__(self, value: object) -> Eq:  # type: ignore[override]
        return Eq(self.path, value)  # type: ignore[arg-type]  # __eq__ takes object

    def __ne__(self, value: object) -> Ne:  # type: ignore[override]
        return Ne(self.path, value)  # type: ignore[arg-type]  # __ne__ takes object

    def __lt__(self, value: ConditionValue) -> Lt:
        return Lt(self.path, value)

    def __le__(self, value: ConditionValue) -> Le:
        return Le(self.path, value)

    def __gt__(self, value: ConditionValue) -> Gt:
        return Gt(self.path, value)

    def __ge__(self, value: ConditionValue) -> Ge:
        return Ge(self.path, value)

    def is_in(self, values: Iterable[ConditionValue]) -> IsIn:
        """The value is one of ``values``."""
        return IsIn(self.path, values)

    def not_in(self, values: Iterable[ConditionValue]) -> NotIn:
        """The value is present and none of ``values``."""
        return NotIn(self.path, values)

    def contains(
        self, value: ConditionValue, *, case_sensitive: bool = True
    ) -> Contains:
        """The string or collection contains ``value``."""
        return Contains(self.path, value, case_sensitive=case_sensitive)

    def starts_with(self, prefix: str, *, case_sensitive: bool = True) -> StartsWith:
        """The string starts with ``prefix``."""
        return StartsWith(self.path, prefix, case_sensitive=case_sensitive)

    def ends_with(self, suffix: str, *, case_sensitive: bool = True) -> EndsWith:
        """The string ends with ``suffix``."""
        return EndsWith(self.path, suffix, case_sensitive=case_sensitive)

    def exists(self) -> Exists:
        """The field is present and non-empty."""
        return Exists(self.path)

    def missing(self) -> IsMissing:
        """The field is absent or empty."""
        return IsMissing(self.path)

    def between(
        self,
        low: ConditionValue,
        high: ConditionValue,
        *,
        inclusive: Literal["both", "neither", "left", "right"] = "both",
    ) -> Between:
        """The value lies between ``low`` and ``high``."""
        return Between(self.path, low, high, inclusive=inclusive)

    def within_last(self, duration: Duration | str) -> WithinLast:
        """The instant lies within ``duration`` before ``as_of``."""
        return WithinLast(self.path, duration)

    def older_than(self, duration: Duration | str) -> OlderThan:
        """The instant lies before ``as_of - duration``."""
        return OlderThan(self.path, duration)

    def before(self, instant: datetime) -> Before:
        """The instant is before ``instant``."""
        return Before(self.path, instant)

    def after(self, instant: datetime) -> After:
        """The instant is at or after ``instant``."""
        return After(self.path, instant)

    def count(
        self,
        where: Condition | None = None,
        *,
        at_least: int = 1,
        at_most: int | None = None,
    ) -> Count:
        """``at_least`` to ``at_most`` items of the collection match ``where``."""
        return Count(self.path, where, at_least=at_least, at_most=at_most)


def field(path: str) -> FieldRef:
    """Start a condition on a field path: ``field("account.industry") == "saas"``."""
    return FieldRef(path)


# ---------------------------------------------------------------------------
# Text form (printing)
# ---------------------------------------------------------------------------
def _case_flag(condition: Any) -> str:
    return "" if condition.case_sensitive else ", ignore_case"


def to_text(condition: Condition) -> str:
    """Render a condition in the readable text form.

    Examples:
        >>> rule = any_of(field("country") == "DE", field("employees").between(10, 50))
        >>> to_text(rule)
        'country == "DE" or between(employees, 10, 50)'
    """
    return _text(condition, top=True)


def _text(condition: Any, *, top: bool = False) -> str:
    kind = condition.kind
    if kind in _SYMBOLS:
        return f"{condition.field} {_SYMBOLS[kind]} {_fmt(condition.value)}"
    if kind in {"in", "not_in"}:
        op = "in" if kind == "in" else "not in"
        return f"{condition.field} {op} {_fmt_set(condition.values)}"
    if kind == "contains":
        value = _fmt(condition.value)
        return f"contains({condition.field}, {value}{_case_flag(condition)})"
    if kind in {"starts_with", "ends_with"}:
        return (
            f"{kind}({condition.field}, {_fmt(condition.affix)}{_case_flag(condition)})"
        )
    if kind in {"exists", "missing"}:
        return f"{kind}({condition.field})"
    if kind == "between":
        extra = "" if condition.inclusive == "both" else f", {condition.inclusive}"
        low, high = _fmt(condition.low), _fmt(condition.high)
        return f"between({condition.field}, {low}, {high}{extra})"
    if kind in {"within_last", "older_than"}:
        return f"{kind}({condition.field}, {condition.duration})"
    if kind in {"before", "after"}:
        return f"{kind}({condition.field}, {_fmt(condition.instant)})"
    if kind in {"all", "any"}:
        if not condition.conditions:
            return "true" if kind == "all" else "false"
        if len(condition.conditions) == 1:
            return _text(condition.conditions[0], top=top)
        joiner = " and " if kind == "all" else " or "
        text = joiner.join(_text(c) for c in condition.conditions)
        return text if top or len(condition.conditions) == 1 else f"({text})"
    if kind == "not":
        return f"not ({_text(condition.condition, top=True)})"
    if kind == "at_least":
        parts = [str(condition.n), *(_text(c, top=True) for c in condition.conditions)]
        return f"at_least({', '.join(parts)})"
    if kind == "count":
        parts = [condition.field]
        if condition.where is not None:
            parts.append(_text(condition.where, top=True))
        if condition.at_least != 1:  # the default is left out
            parts.append(f"at_least={condition.at_least}")
        if condition.at_most is not None:
            parts.append(f"at_most={condition.at_most}")
        return f"count({', '.join(parts)})"
    describe = getattr(condition, "describe", None)
    return describe() if describe is not None else f"{kind}(...)"


# ---------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------
_REGISTRY: dict[str, type[Any]] = {}


def register_condition(cls: type[Any]) -> type[Any]:
    """Register a condition kind so definitions (and JSON) can use it.

    The class must be an attrs class with a ``kind`` class variable (a new
    name, lower case) and either

    * ``bind(self, as_of) -> Callable[[record], bool]``, compiled once per
      ``as_of`` (fast), or
    * ``test(self, record, as_of) -> bool``, called per record (simple).

    Optional: ``explain(self, record, as_of) -> Explanation``,
    ``describe(self) -> str`` (its text form) and a class variable
    ``uses_as_of = True`` when the kind is relative to ``as_of``.

    Use it as a decorator, or list the class under the ``crmcore.conditions``
    entry-point group of your package and call
    [`load_entry_points`][crmcore.conditions.load_entry_points].

    Raises:
        DefinitionError: When the class lacks what is needed or the kind is taken.

    Examples:
        >>> @register_condition
        ... @attrs.frozen
        ... class HasDomain:
        ...     kind = "has_domain"
        ...     domain: str
        ...     def test(self, record, as_of):
        ...         return str(record.get("email", "")).endswith("@" + self.domain)
        >>> matches(HasDomain("acme.example"), {"email": "ada@acme.example"})
        True
    """
    problems = []
    kind = getattr(cls, "kind", None)
    if not isinstance(kind, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", kind):
        problems.append(
            Problem("$.kind", "a lower-case name such as 'signed_nda' is needed")
        )
    elif kind in _REGISTRY and _REGISTRY[kind] is not cls:
        problems.append(Problem("$.kind", f"{kind!r} is already registered"))
    if not attrs.has(cls):
        problems.append(
            Problem("$", "the class must be an attrs class (@attrs.frozen)")
        )
    if not (
        callable(getattr(cls, "bind", None)) or callable(getattr(cls, "test", None))
    ):
        problems.append(
            Problem("$", "the class needs a bind(as_of) or test(record, as_of) method")
        )
    if problems:
        raise DefinitionError(
            f"condition kind {getattr(cls, '__name__', cls)!r}", problems
        )
    _REGISTRY[kind] = cls  # type: ignore[index]
    return cls


def condition_kinds() -> dict[str, type[Any]]:
    """Every registered kind name and its class (a copy)."""
    return dict(_REGISTRY)


def _lookup(kind: object, path: str = "$.kind") -> type[Any]:
    cls = _REGISTRY.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise UnknownKindError("condition kind", kind, _REGISTRY, path=path)
    return cls


def load_entry_points(group: str = "crmcore.conditions") -> list[str]:
    """Import every plugin listed under the entry-point ``group``; return new kinds.

    Each entry point names a condition class (registered here) or a module
    that registers its kinds when imported. This is the one function in the
    core that reads the environment (installed package metadata), which is
    why it is explicit: call it once at start-up; the command line does.
    """
    from importlib.metadata import entry_points  # noqa: PLC0415 - only when asked

    before = set(_REGISTRY)
    for entry in entry_points(group=group):
        loaded = entry.load()
        if isinstance(loaded, type) and getattr(loaded, "kind", None) not in _REGISTRY:
            register_condition(loaded)
    return sorted(set(_REGISTRY) - before)


for _builtin in (
    Eq, Ne, Lt, Le, Gt, Ge, IsIn, NotIn, Contains, StartsWith, EndsWith, Exists,
    IsMissing, Between, WithinLast, OlderThan, Before, After, Count, AllOf, AnyOf,
    Not, AtLeast,
):  # fmt: skip
    register_condition(_builtin)


# ---------------------------------------------------------------------------
# Compilation and evaluation
# ---------------------------------------------------------------------------
@attrs.frozen(eq=False)
class CompiledCondition:
    """A condition compiled for fast evaluation.

    Build it with [`compile_condition`][crmcore.conditions.compile_condition].

    Conditions that do not depend on ``as_of`` are bound once; those that do
    are bound once per distinct ``as_of`` (the last 32 are kept).
    """

    condition: Condition
    uses_as_of: bool
    _static: Predicate | None = attrs.field(repr=False)

    def bind(self, as_of: datetime | None = None) -> Predicate:
        """The predicate for one ``as_of``: call it on each record.

        Raises:
            DataError: When the condition is relative to ``as_of`` and none was given.
        """
        if self._static is not None:
            return self._static
        condition: Any = self.condition  # hashable: attrs frozen, cache_hash
        return _bound(condition, as_of)

    def matches(self, record: object, *, as_of: datetime | None = None) -> bool:
        """Whether the record satisfies the condition."""
        return self.bind(as_of)(record)

    def filter(
        self, records: Iterable[Any], *, as_of: datetime | None = None
    ) -> Iterator[Any]:
        """Yield the records that satisfy the condition, lazily (any iterable).

        An ``all`` of one-field tests is evaluated column by column over
        chunks of records, in C-level loops; the result (and any error) is
        the same as testing each record with
        [`bind`][crmcore.conditions.CompiledCondition.bind].
        Memory stays constant: chunks hold 2,048 records.
        """
        predicate = self.bind(as_of)
        condition = self.condition
        if isinstance(condition, AllOf):
            steps = _steps(condition.conditions, as_of)
            if steps is not None and all(key is not None for key, _ in steps):
                keyed: tuple[tuple[str, Test], ...] = steps  # type: ignore[assignment]
                return _column_filter(keyed, predicate)(records)
        return filter(predicate, records)

    def explain(self, record: object, *, as_of: datetime | None = None) -> Explanation:
        """Explain the verdict for one record."""
        return _explain_child(self.condition, record, as_of)


@functools.lru_cache(maxsize=32)
def _bound(condition: Any, as_of: datetime | None) -> Predicate:
    return _bind_child(condition, as_of)


def compile_condition(condition: Condition) -> CompiledCondition:
    """Compile a condition once for evaluation over many records.

    Compiled forms of (hashable) conditions are cached, so calling this again
    with an equal condition is cheap.

    Examples:
        >>> adults = compile_condition(field("age") >= 18)
        >>> [r["age"] for r in adults.filter([{"age": 17}, {"age": 30}])]
        [30]
    """
    if not _is_condition(condition):
        raise DataTypeError("condition", condition, "a condition")
    try:
        return _compiled(cast(Hashable, condition))
    except TypeError:  # an unhashable vendor condition: compile without cache
        return _compile(condition)


def _compile(condition: Any) -> CompiledCondition:
    uses = bool(getattr(condition, "uses_as_of", False))
    static = None if uses else _bind_child(condition, None)
    return CompiledCondition(condition, uses, static)


@functools.lru_cache(maxsize=512)
def _compiled(condition: Any) -> CompiledCondition:
    return _compile(condition)


def matches(
    condition: Condition, record: object, *, as_of: datetime | None = None
) -> bool:
    """Whether one record satisfies the condition (compiled and cached for you).

    For many records, use [`compile_condition`][crmcore.conditions.compile_condition]
    and bind once.
    """
    return compile_condition(condition).matches(record, as_of=as_of)


def explain(
    condition: Condition, record: object, *, as_of: datetime | None = None
) -> Explanation:
    """Explain why one record does or does not satisfy the condition."""
    if not _is_condition(condition):
        raise DataTypeError("condition", condition, "a condition")
    return _explain_child(condition, record, as_of)


# ---------------------------------------------------------------------------
# JSON support (used by crmcore.serialization)
# ---------------------------------------------------------------------------
_SCANNING: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "_SCANNING", default=False
)


def _scan(data: object) -> None:
    """Reject definitions that are too deep or too large before structuring them.

    Iterative, so a hostile document cannot cause a RecursionError.
    """
    stack: list[tuple[object, int]] = [(data, 1)]
    nodes = 0
    while stack:
        node, depth = stack.pop()
        if isinstance(node, Mapping) and "kind" in node:
            nodes += 1
            if depth > MAX_DEPTH:
                raise DefinitionError(
                    "Condition",
                    [Problem("$", f"nested deeper than {MAX_DEPTH} levels")],
                )
            if nodes > MAX_NODES:
                raise DefinitionError(
                    "Condition", [Problem("$", f"more than {MAX_NODES} conditions")]
                )
            for key in ("conditions", "condition", "where"):
                child = node.get(key)
                if isinstance(child, list):
                    stack.extend((c, depth + 1) for c in child)
                elif child is not None:
                    stack.append((child, depth + 1))


def structure_condition(
    data: object, structure_cls: Callable[[object, type[Any]], Any]
) -> Any:
    """Structure JSON data into the condition class its ``kind`` names."""
    if not isinstance(data, Mapping):
        raise DataTypeError("value", data, "a condition object with a 'kind'")
    outermost = not _SCANNING.get()
    token = None
    if outermost:
        _scan(data)
        token = _SCANNING.set(True)
    try:
        cls = _lookup(data.get("kind"))
        body = {k: v for k, v in data.items() if k != "kind"}
        return structure_cls(body, cls)
    finally:
        if token is not None:
            _SCANNING.reset(token)


def unstructure_condition(
    condition: Any, unstructure: Callable[[object], Any]
) -> dict[str, Any]:
    """Turn a condition into JSON data with its ``kind`` first (defaults left out)."""
    data: dict[str, Any] = {"kind": condition.kind}
    for attribute in attrs.fields(type(condition)):
        if not attribute.init:
            continue
        value = getattr(condition, attribute.name)
        if attribute.default is not attrs.NOTHING and value == attribute.default:
            continue  # defaults are left out (a Factory never equals a value)
        role = attribute.metadata.get("crmcore")
        if role == "value":
            data[attribute.alias] = _encode_value(value)
        elif role == "values":
            data[attribute.alias] = [_encode_value(v) for v in value]
        elif role == "duration":
            data[attribute.alias] = str(value)
        elif _is_condition(value):
            data[attribute.alias] = unstructure_condition(value, unstructure)
        elif (
            isinstance(value, tuple) and value and all(_is_condition(v) for v in value)
        ):
            data[attribute.alias] = [
                unstructure_condition(v, unstructure) for v in value
            ]
        else:
            data[attribute.alias] = unstructure(value)
    return data


# ---------------------------------------------------------------------------
# Text form (parsing)
# ---------------------------------------------------------------------------
MAX_TEXT: Final = 100_000
"""Longest condition text ``parse_condition`` reads, in characters."""

# One anchored pattern per token, tried at the current position only: the
# scan is linear, with no backtracking over the input.
_TOKENS: Final = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<instant>@\d{4}-\d{2}-\d{2}(?:T[0-9:.]+(?:Z|[+-]\d{2}:\d{2}(?::\d{2})?)?)?)
  | (?P<duration>\d+(?:y|mo|w|d|h|m|s)(?:\d+(?:y|mo|w|d|h|m|s))*(?![A-Za-z0-9_]))
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<path>[A-Za-z_][A-Za-z0-9_]*(?:\.(?:[A-Za-z_][A-Za-z0-9_]*|\d+))*)
  | (?P<op>==|!=|<=|>=|<|>|=)
  | (?P<punct>[(){},])
    """,
    re.VERBOSE,
)
_CALLS: Final = frozenset(
    {
        "contains", "starts_with", "ends_with", "exists", "missing", "between",
        "within_last", "older_than", "before", "after", "at_least", "count",
    }
)  # fmt: skip
_COMPARE_KINDS: Final = {"==": Eq, "!=": Ne, "<": Lt, "<=": Le, ">": Gt, ">=": Ge}


class _Parser:
    """Recursive descent over the tokens of the text form (see ``parse_condition``)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str, int]] = []
        position = 0
        while position < len(text):
            match = _TOKENS.match(text, position)
            if match is None:
                self.fail(
                    position, f"an expression, got {text[position : position + 12]!r}"
                )
            kind = match.lastgroup or ""
            if kind != "space":
                self.tokens.append((kind, match.group(), position))
            position = match.end()
        self.tokens.append(("end", "", len(text)))
        self.index = 0
        self.depth = 0

    # -- helpers ---------------------------------------------------------------
    def fail(self, position: int, expected: str) -> NoReturn:
        raise DefinitionError(
            "condition text",
            [Problem("$", f"column {position + 1}: expected {expected}")],
        )

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.index]

    def take(self) -> tuple[str, str, int]:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def expect(self, value: str) -> None:
        kind, text, position = self.take()
        if text != value or kind == "string":
            self.fail(position, f"{value!r}, got {text or 'the end'!r}")

    def word(self, value: str) -> bool:
        kind, text, _ = self.peek()
        if kind == "path" and text == value:
            self.index += 1
            return True
        return False

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.fail(self.peek()[2], f"at most {MAX_DEPTH} levels of nesting")

    # -- grammar -----------------------------------------------------------------
    def parse(self) -> Condition:
        condition = self.disjunction()
        kind, text, position = self.peek()
        if kind != "end":
            self.fail(position, f"'and', 'or' or the end, got {text!r}")
        return condition

    def disjunction(self) -> Condition:
        items = [self.conjunction()]
        while self.word("or"):
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else AnyOf(items)

    def conjunction(self) -> Condition:
        items = [self.negation()]
        while self.word("and"):
            items.append(self.negation())
        return items[0] if len(items) == 1 else AllOf(items)

    def negation(self) -> Condition:
        if self.word("not"):
            self.enter()
            inner = self.negation()
            self.depth -= 1
            return Not(inner)
        return self.atom()

    def atom(self) -> Condition:
        kind, text, position = self.peek()
        if text == "(" and kind == "punct":
            self.take()
            self.enter()
            inner = self.disjunction()
            self.depth -= 1
            self.expect(")")
            return inner
        if kind != "path":
            self.fail(
                position, f"a field, a function or '(', got {text or 'the end'!r}"
            )
        self.take()
        if text == "true":
            return AllOf([])
        if text == "false":
            return AnyOf([])
        if self.peek()[1] == "(":
            if text not in _CALLS:
                self.fail(
                    position,
                    f"one of the functions {', '.join(sorted(_CALLS))}, got {text!r}",
                )
            return self.call(text)
        return self.comparison(text, position)

    def comparison(self, path: str, position: int) -> Condition:
        kind, op, op_position = self.take()
        if kind == "op" and op in _COMPARE_KINDS:
            return self.build(_COMPARE_KINDS[op], position, path, self.value())
        if kind == "path" and op == "in":
            return self.build(IsIn, position, path, self.values())
        if kind == "path" and op == "not" and self.word("in"):
            return self.build(NotIn, position, path, self.values())
        return self.fail(
            op_position,
            f"a comparison (==, !=, <, <=, >, >=, in, not in) after {path!r}",
        )

    def build(
        self, cls: Callable[..., _T], position: int, *args: Any, **kwargs: Any
    ) -> _T:
        try:
            return cls(*args, **kwargs)
        except CrmcoreError as error:
            self.fail(position, str(error))

    def call(self, name: str) -> Condition:
        _, _, position = self.peek()
        self.expect("(")
        self.enter()
        if name == "at_least":
            n = self.integer()
            items = []
            while self.peek()[1] == ",":
                self.take()
                items.append(self.disjunction())
            built = self.build(AtLeast, position, n, items)
        else:
            path = self.path()
            built = getattr(self, f"call_{name}")(path, position)
        self.expect(")")
        self.depth -= 1
        return built

    def comma(self) -> None:
        self.expect(",")

    def flag(self, *allowed: str) -> str | None:
        if self.peek()[1] != ",":
            return None
        self.take()
        kind, text, position = self.take()
        if kind != "path" or text not in allowed:
            self.fail(position, f"one of {', '.join(allowed)}")
        return text

    def call_contains(self, path: str, position: int) -> Condition:
        self.comma()
        value = self.value()
        ignore = self.flag("ignore_case") is not None
        return self.build(Contains, position, path, value, case_sensitive=not ignore)

    def call_starts_with(self, path: str, position: int) -> Condition:
        self.comma()
        affix = self.string()
        ignore = self.flag("ignore_case") is not None
        return StartsWith(path, affix, case_sensitive=not ignore)

    def call_ends_with(self, path: str, position: int) -> Condition:
        self.comma()
        affix = self.string()
        ignore = self.flag("ignore_case") is not None
        return EndsWith(path, affix, case_sensitive=not ignore)

    def call_exists(self, path: str, position: int) -> Condition:
        return Exists(path)

    def call_missing(self, path: str, position: int) -> Condition:
        return IsMissing(path)

    def call_between(self, path: str, position: int) -> Condition:
        self.comma()
        low = self.value()
        self.comma()
        high = self.value()
        inclusive = self.flag("both", "neither", "left", "right") or "both"
        return self.build(Between, position, path, low, high, inclusive=inclusive)

    def call_within_last(self, path: str, position: int) -> Condition:
        self.comma()
        return WithinLast(path, self.duration())

    def call_older_than(self, path: str, position: int) -> Condition:
        self.comma()
        return OlderThan(path, self.duration())

    def call_before(self, path: str, position: int) -> Condition:
        self.comma()
        return self.build(Before, position, path, self.instant())

    def call_after(self, path: str, position: int) -> Condition:
        self.comma()
        return self.build(After, position, path, self.instant())

    def call_count(self, path: str, position: int) -> Condition:
        where: Condition | None = None
        bounds: dict[str, int] = {}
        while self.peek()[1] == ",":
            self.take()
            kind, text, _ = self.peek()
            following = self.tokens[self.index + 1][1]
            if kind == "path" and text in {"at_least", "at_most"} and following == "=":
                self.take()
                self.take()
                bounds[text] = self.integer()
            elif where is None and not bounds:
                where = self.disjunction()
            else:
                self.fail(self.peek()[2], "at_least=N or at_most=N")
        return self.build(Count, position, path, where, **bounds)

    # -- literals ------------------------------------------------------------------
    def path(self) -> str:
        kind, text, position = self.take()
        if kind != "path":
            self.fail(position, f"a field path, got {text or 'the end'!r}")
        return text

    def string(self) -> str:
        kind, text, position = self.take()
        if kind != "string":
            self.fail(position, f"a string in double quotes, got {text or 'the end'!r}")
        return re.sub(r"\\(.)", r"\1", text[1:-1])

    def integer(self) -> int:
        kind, text, position = self.take()
        if kind != "number" or "." in text:
            self.fail(position, f"a whole number, got {text or 'the end'!r}")
        return int(text)

    def duration(self) -> Duration:
        kind, text, position = self.take()
        if kind != "duration":
            self.fail(position, f"a duration such as 30d, got {text or 'the end'!r}")
        return Duration.parse(text)

    def instant(self) -> datetime:
        value = self.value()
        if not isinstance(value, datetime):
            self.fail(
                self.tokens[self.index - 1][2],
                "an instant such as @2026-01-01T00:00:00+00:00",
            )
        return value

    def value(self) -> ConditionValue:
        kind, text, position = self.take()
        if kind == "string":
            return re.sub(r"\\(.)", r"\1", text[1:-1])
        if kind == "number":
            number: int | Decimal = Decimal(text) if "." in text else int(text)
            currency_kind, currency, _ = self.peek()
            if currency_kind == "path" and re.fullmatch(r"[A-Z]{3}", currency):
                self.take()
                return self.build(Money, position, number, currency)
            return number
        if kind == "path" and text in {"true", "false"}:
            return text == "true"
        if kind == "instant":
            body = text[1:]
            try:
                if "T" in body:
                    return require_aware(datetime.fromisoformat(body), "value")
                return date.fromisoformat(body)
            except (ValueError, CrmcoreError) as error:
                self.fail(position, f"a valid date or aware instant ({error})")
        expected = "a value (string, number, true/false, @date, money)"
        return self.fail(position, f"{expected}, got {text or 'the end'!r}")

    def values(self) -> list[ConditionValue]:
        self.expect("{")
        items: list[ConditionValue] = []
        if self.peek()[1] == "}":
            self.take()
            return items
        items.append(self.value())
        while self.peek()[1] == ",":
            self.take()
            items.append(self.value())
        self.expect("}")
        return items


def parse_condition(text: str) -> Condition:
    r"""Read the text form of a condition.

    The text form is what [`to_text`][crmcore.conditions.to_text] prints.

    The grammar: comparisons ``field == value`` (``!=``, ``<``, ``<=``, ``>``,
    ``>=``), ``field in {v, ...}`` and ``field not in {...}``; the functions
    ``contains``, ``starts_with``, ``ends_with``, ``exists``, ``missing``,
    ``between``, ``within_last``, ``older_than``, ``before``, ``after``,
    ``count`` and ``at_least``; ``and``, ``or``, ``not`` and parentheses;
    ``true`` and ``false``. Values are ``"strings"`` (with ``\\"`` escapes),
    numbers (a decimal point makes a ``Decimal``), ``true`` / ``false``,
    ``@2026-01-31`` dates, ``@2026-01-31T09:00:00+01:00`` instants and money
    such as ``10000 EUR``.

    The parser never evaluates code: it scans tokens with anchored patterns and
    builds condition values. Text longer than ``MAX_TEXT`` characters or nested
    deeper than ``MAX_DEPTH`` is rejected.

    Raises:
        DefinitionError: With the column of the first problem.

    Examples:
        >>> rule = parse_condition('industry in {"saas"} and employees >= 50')
        >>> matches(rule, {"industry": "saas", "employees": 80})
        True
        >>> to_text(parse_condition("not (exists(email)) or within_last(seen, 30d)"))
        'not (exists(email)) or within_last(seen, 30d)'
    """
    if not isinstance(text, str):
        raise DataTypeError("text", text, "condition text")
    if len(text) > MAX_TEXT:
        raise DefinitionError(
            "condition text",
            [Problem("$", f"at most {MAX_TEXT} characters, got {len(text)}")],
        )
    return _Parser(text).parse()
