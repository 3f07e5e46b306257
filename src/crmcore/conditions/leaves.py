"""The built-in kinds that test one field: comparisons, membership, text, time."""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable, Mapping, Sized
from datetime import date, datetime
from decimal import Decimal
from itertools import repeat
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal

import attrs

from crmcore import validators as _v
from crmcore.access import is_data
from crmcore.calendar import require_aware
from crmcore.conditions.base import (
    Condition,
    Test,
    _check_path,
    _incomparable,
)
from crmcore.conditions.explanation import Explanation
from crmcore.conditions.kinds import _explain_leaf, _Leaf
from crmcore.conditions.text import TextParser, TextPrinter, to_text
from crmcore.conditions.values import (
    DURATION,
    INSTANT,
    PATH,
    VALUE,
    VALUES,
    ConditionValue,
    Duration,
    _fmt,
    _fmt_set,
    _to_duration,
    _to_values,
    _value,
)
from crmcore.errors import (
    CurrencyMismatchError,
    DataError,
    DataTypeError,
    NaiveDatetimeError,
)
from crmcore.money import Money
from crmcore.records import MISSING

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

    from crmcore.registry import KindDraws

__all__ = [
    "After",
    "Before",
    "Between",
    "Contains",
    "EndsWith",
    "Eq",
    "Exists",
    "Ge",
    "Gt",
    "IsIn",
    "IsMissing",
    "Le",
    "Lt",
    "Ne",
    "NotIn",
    "OlderThan",
    "StartsWith",
    "WithinLast",
    "is_present",
]


# ---------------------------------------------------------------------------
# Comparisons
# ---------------------------------------------------------------------------
_OPERATORS: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}


# ``actual >= value`` is ``value <= actual``: with the value bound first, a
# comparison becomes one C-level call (``functools.partial`` of an operator).
_REFLECTED: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "lt": operator.gt,
    "le": operator.ge,
    "gt": operator.lt,
    "ge": operator.le,
}


_case = _v.boolean()
_text_value = _v.text()
_aware_instant = _v.aware_instant()


def _money_test(path: str, value: Money, *, negate: bool) -> Test:
    """``==`` / ``!=`` against money: another currency is an error, not False."""
    missing = MISSING

    def money(actual: object) -> bool:
        if type(actual) is Money and actual.currency != value.currency:
            raise CurrencyMismatchError(path, actual.currency, value.currency)
        if negate:
            if actual is missing or actual is None:
                return False
            return actual != value and is_data(actual)
        return actual == value

    return money


def _verdict(result: object, path: str, actual: object, value: object) -> bool:
    """A comparison's result as a bool: numpy's bools are, pandas' NA is not.

    ``pd.NA == 3`` is ``NA``, neither true nor false: a crmcore error naming
    the field (``crmcore.frames`` reads pandas' missing values as None).
    """
    if result is True or result is False:
        return result
    try:
        return bool(result)
    except (TypeError, ValueError):
        raise DataTypeError(
            path,
            actual,
            f"a value comparable with {value!r}",
            hint="a pandas missing value? read frames with crmcore.frames, "
            "which turns NA into None",
        ) from None


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
        if isinstance(value, Money):
            return _money_test(path, value, negate=False)

        def eq(actual: object) -> bool:
            result = actual == value
            return (
                result
                if result is True or result is False
                else (_verdict(result, path, actual, value))
            )

        return eq
    if kind == "ne":
        if isinstance(value, Money):
            return _money_test(path, value, negate=True)
        missing = MISSING

        def ne(actual: object) -> bool:
            if actual is missing or actual is None:
                return False
            return _verdict(actual != value, path, actual, value) and is_data(actual)

        return ne
    compare = _OPERATORS[kind]

    def exact(actual: object) -> bool:
        try:
            result = compare(actual, value)
        except (TypeError, ArithmeticError, CurrencyMismatchError) as error:
            return _incomparable(path, actual, value, error)
        return (
            result
            if result is True or result is False
            else (_verdict(result, path, actual, value))
        )

    return exact


@attrs.frozen(cache_hash=True)
class _Comparison(_Leaf):
    field: str = attrs.field(validator=_check_path, metadata=PATH)
    value: ConditionValue = attrs.field(converter=_value, metadata=VALUE)

    kind: ClassVar[str] = ""
    text_operator: ClassVar[str] = ""

    def _exact(self, as_of: datetime | None) -> Test:
        return _compare_exact(self.kind, self.field, self.value)

    def text_form(self, printer: TextPrinter) -> str:
        """``field == value`` (with this kind's operator)."""
        return f"{self.field} {self.text_operator} {printer.value(self.value)}"

    @classmethod
    def strategy(cls, draws: KindDraws) -> SearchStrategy[Condition]:
        """A comparison of a scalar field with a drawn value."""
        from hypothesis import strategies as st  # noqa: PLC0415 - testing only

        return st.builds(cls, draws.paths, draws.values)

    def _fast(self, as_of: datetime | None) -> Test:
        reflected = _REFLECTED.get(self.kind)
        if self.kind == "eq" and not isinstance(self.value, datetime | Money):
            # One C-level call; a result that is not a bool (pandas' NA)
            # fails its truth test, and the exact test then explains it.
            return functools.partial(operator.eq, self.value)
        if reflected is None:
            return self._exact(as_of)
        return functools.partial(reflected, self.value)

    def explain(self, record: object, as_of: datetime | None = None) -> Explanation:
        """Explain the verdict for one record."""
        return _explain_leaf(
            self, record, as_of, f"{self.text_operator} {_fmt(self.value)}"
        )


@attrs.frozen(cache_hash=True)
class Eq(_Comparison):
    """``field == value``. Absent fields never equal anything."""

    kind: ClassVar[str] = "eq"
    text_operator: ClassVar[str] = "=="


@attrs.frozen(cache_hash=True)
class Ne(_Comparison):
    """``field != value``; false when the field is absent."""

    kind: ClassVar[str] = "ne"
    text_operator: ClassVar[str] = "!="


@attrs.frozen(cache_hash=True)
class Lt(_Comparison):
    """``field < value``."""

    kind: ClassVar[str] = "lt"
    text_operator: ClassVar[str] = "<"


@attrs.frozen(cache_hash=True)
class Le(_Comparison):
    """``field <= value``."""

    kind: ClassVar[str] = "le"
    text_operator: ClassVar[str] = "<="


@attrs.frozen(cache_hash=True)
class Gt(_Comparison):
    """``field > value``."""

    kind: ClassVar[str] = "gt"
    text_operator: ClassVar[str] = ">"


@attrs.frozen(cache_hash=True)
class Ge(_Comparison):
    """``field >= value``."""

    kind: ClassVar[str] = "ge"
    text_operator: ClassVar[str] = ">="


# ---------------------------------------------------------------------------
# Membership, text and presence
# ---------------------------------------------------------------------------
@attrs.frozen(cache_hash=True)
class _Membership(_Leaf):
    """``in`` and ``not in``: the field value against a set of values."""

    field: str = attrs.field(validator=_check_path, metadata=PATH)
    values: tuple[ConditionValue, ...] = attrs.field(
        converter=_to_values, metadata=VALUES
    )

    kind: ClassVar[str] = ""
    text_operator: ClassVar[str] = ""
    _negate: ClassVar[bool] = False

    def _exact(self, as_of: datetime | None) -> Test:
        return _membership(self.field, self.values, negate=self._negate)

    def explain(self, record: object, as_of: datetime | None = None) -> Explanation:
        """Explain the verdict for one record."""
        which = "none" if self._negate else "one"
        return _explain_leaf(self, record, as_of, f"{which} of {_fmt_set(self.values)}")

    def text_form(self, printer: TextPrinter) -> str:
        """``field in {...}`` / ``field not in {...}``."""
        return f"{self.field} {self.text_operator} {printer.values(self.values)}"

    @classmethod
    def strategy(cls, draws: KindDraws) -> SearchStrategy[Condition]:
        """A scalar field against up to three drawn values."""
        from hypothesis import strategies as st  # noqa: PLC0415 - testing only

        return st.builds(cls, draws.paths, st.lists(draws.values, max_size=3))


@attrs.frozen(cache_hash=True)
class IsIn(_Membership):
    """The field value is one of ``values`` (false when absent).

    Examples:
        >>> matches(IsIn("country", ["DE", "AT", "CH"]), {"country": "AT"})
        True
    """

    kind: ClassVar[str] = "in"
    text_operator: ClassVar[str] = "in"

    def _fast(self, as_of: datetime | None) -> Test:
        return frozenset(self.values).__contains__


@attrs.frozen(cache_hash=True)
class NotIn(_Membership):
    """The field value is present and none of ``values``."""

    kind: ClassVar[str] = "not_in"
    text_operator: ClassVar[str] = "not in"
    _negate: ClassVar[bool] = True


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
                # ``is_data``: a fused loop reads raw values; what is not data
                # is absent, as field access makes it.
                return actual not in choices and is_data(actual)
            except TypeError:
                return unhashable(actual)

        return not_in

    def is_in(actual: object) -> bool:
        try:
            return actual in choices
        except TypeError:
            return unhashable(actual)

    return is_in


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

    field: str = attrs.field(validator=_check_path, metadata=PATH)
    value: ConditionValue = attrs.field(converter=_value, metadata=VALUE)
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
            if isinstance(actual, Iterable) and not isinstance(
                actual, Mapping | bytes | bytearray
            ):
                if sensitive or not isinstance(needle, str):
                    return needle in actual
                return any(
                    isinstance(x, str) and x.casefold() == folded for x in actual
                )
            raise DataTypeError(path, actual, "a string or a collection")

        return contains

    def _column(self, as_of: datetime | None) -> Callable[[list[object]], list[bool]]:
        default = super()._column(as_of)
        needle = self.value
        if not isinstance(needle, str):
            return default
        sensitive, folded = self.case_sensitive, needle.casefold()

        def column(values: list[object]) -> list[bool]:
            if set(map(type, values)) != {str}:
                return default(values)
            texts: Iterable[str] = values  # type: ignore[assignment]
            if not sensitive:
                texts = map(str.casefold, texts)
            return list(
                map(
                    operator.contains,
                    texts,
                    repeat(folded if not sensitive else needle),
                )
            )

        return column

    def explain(self, record: object, as_of: datetime | None = None) -> Explanation:
        """Explain the verdict for one record."""
        how = "" if self.case_sensitive else " (ignoring case)"
        return _explain_leaf(self, record, as_of, f"contains {_fmt(self.value)}{how}")

    def text_form(self, printer: TextPrinter) -> str:
        """``contains(field, value)``, with ``, ignore_case`` when it is set."""
        flag = "" if self.case_sensitive else ", ignore_case"
        return f"contains({self.field}, {printer.value(self.value)}{flag})"

    @classmethod
    def parse_text(cls, parser: TextParser, position: int) -> Condition:
        """Read ``field, value[, ignore_case]``."""
        path = parser.path()
        parser.comma()
        value = parser.value()
        ignore = parser.flag("ignore_case") is not None
        return parser.build(cls, position, path, value, case_sensitive=not ignore)

    @classmethod
    def strategy(cls, draws: KindDraws) -> SearchStrategy[Condition]:
        """A substring of a text field, in either case mode."""
        from hypothesis import strategies as st  # noqa: PLC0415 - testing only

        return st.builds(
            cls, draws.text_paths, draws.texts, case_sensitive=st.booleans()
        )


@attrs.frozen(cache_hash=True)
class _Affix(_Leaf):
    field: str = attrs.field(validator=_check_path, metadata=PATH)
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

    def _column(self, as_of: datetime | None) -> Callable[[list[object]], list[bool]]:
        default = super()._column(as_of)
        affix = self.affix if self.case_sensitive else self.affix.casefold()
        method = str.startswith if self.kind == "starts_with" else str.endswith
        sensitive = self.case_sensitive

        def column(values: list[object]) -> list[bool]:
            if set(map(type, values)) != {str}:
                return default(values)
            texts: Iterable[str] = values  # type: ignore[assignment]
            if not sensitive:
                texts = map(str.casefold, texts)
            return list(map(method, texts, repeat(affix)))

        return column

    def explain(self, record: object, as_of: datetime | None = None) -> Explanation:
        """Explain the verdict for one record."""
        verb = self.kind.replace("_", " ")
        how = "" if self.case_sensitive else " (ignoring case)"
        return _explain_leaf(self, record, as_of, f"{verb} {_fmt(self.affix)}{how}")

    def text_form(self, printer: TextPrinter) -> str:
        """``starts_with(field, "x")``, with ``, ignore_case`` when it is set."""
        flag = "" if self.case_sensitive else ", ignore_case"
        return f"{self.kind}({self.field}, {printer.value(self.affix)}{flag})"

    @classmethod
    def parse_text(cls, parser: TextParser, position: int) -> Condition:
        """Read ``field, "affix"[, ignore_case]``."""
        path = parser.path()
        parser.comma()
        affix = parser.string()
        ignore = parser.flag("ignore_case") is not None
        return parser.build(cls, position, path, affix, case_sensitive=not ignore)

    @classmethod
    def strategy(cls, draws: KindDraws) -> SearchStrategy[Condition]:
        """An affix of a text field, in either case mode."""
        from hypothesis import strategies as st  # noqa: PLC0415 - testing only

        return st.builds(
            cls, draws.text_paths, draws.texts, case_sensitive=st.booleans()
        )


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


def is_present(value: object) -> bool:
    """Whether a field value counts as present for ``exists`` and required fields.

    Absent ([`MISSING`][crmcore.records.MISSING]), ``None``, a blank string
    and an empty collection are not present; ``0`` and ``False`` are.

    Examples:
        >>> [is_present(v) for v in (None, "  ", [], 0, False, "x")]
        [False, False, False, True, True, True]
    """
    if value is MISSING or value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if not is_data(value):  # read raw by a fused loop: absent, as field access says
        return False
    if isinstance(value, Sized) and not isinstance(value, (bytes, Money)):
        return len(value) > 0
    return True


_PLAIN: Final = frozenset(
    {str, type(None), type(MISSING), int, float, bool, Decimal, datetime, date}
)
_MAYBE_EMPTY: Final = frozenset({str, type(None), type(MISSING)})
_AS_TEXT: Final[dict[object, str]] = {None: "", MISSING: ""}


def _present_values(values: list[object]) -> list[bool]:
    """[`is_present`][crmcore.conditions.is_present] of each value of a column.

    The same verdicts, decided in C-level loops for columns of plain
    values (texts, numbers, instants, ``None``): the test that the presence
    conditions and the data-trust checks use on whole columns.

    Examples:
        >>> _present_values(["a", " ", None, 0])
        [True, False, False, True]
    """
    try:
        # The common case first: texts, none of them empty or only whitespace
        # (str.isspace refuses anything but a text).
        if all(values) and not any(map(str.isspace, values)):  # type: ignore[arg-type]
            return [True] * len(values)
    except Exception:  # a value that is not a text: decided below
        pass
    kinds = set(map(type, values))
    if kinds.isdisjoint(_MAYBE_EMPTY) and kinds <= _PLAIN:
        return [True] * len(values)
    if kinds <= _MAYBE_EMPTY:  # texts, None and absent values
        texts: Iterable[object] = (
            values if kinds == {str} else map(_AS_TEXT.get, values, values)
        )
        return list(map(operator.truth, map(str.strip, texts)))  # type: ignore[arg-type]
    if kinds <= _PLAIN:
        missing = MISSING
        return [
            bool(value.strip())
            if type(value) is str
            else value is not None and value is not missing
            for value in values
        ]
    return list(map(is_present, values))


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

    field: str = attrs.field(validator=_check_path, metadata=PATH)

    kind: ClassVar[str] = "exists"

    @classmethod
    def strategy(cls, draws: KindDraws) -> SearchStrategy[Condition]:
        """Presence of any drawn field."""
        from hypothesis import strategies as st  # noqa: PLC0415 - testing only

        return st.builds(cls, draws.any_paths)

    def _exact(self, as_of: datetime | None) -> Test:
        return is_present

    def _column(self, as_of: datetime | None) -> Callable[[list[object]], list[bool]]:
        return _present_values

    def explain(self, record: object, as_of: datetime | None = None) -> Explanation:
        """Explain the verdict for one record."""
        return _explain_leaf(self, record, as_of, "present and non-empty")


@attrs.frozen(cache_hash=True)
class IsMissing(_Leaf):
    """The field is absent or empty: exactly when [`Exists`][crmcore.conditions.Exists]
    is not.
    """  # noqa: D205

    field: str = attrs.field(validator=_check_path, metadata=PATH)

    kind: ClassVar[str] = "missing"

    @classmethod
    def strategy(cls, draws: KindDraws) -> SearchStrategy[Condition]:
        """Presence of any drawn field."""
        from hypothesis import strategies as st  # noqa: PLC0415 - testing only

        return st.builds(cls, draws.any_paths)

    def _exact(self, as_of: datetime | None) -> Test:
        return lambda actual: not is_present(actual)

    def _column(self, as_of: datetime | None) -> Callable[[list[object]], list[bool]]:
        return lambda values: list(map(operator.not_, _present_values(values)))

    def explain(self, record: object, as_of: datetime | None = None) -> Explanation:
        """Explain the verdict for one record."""
        return _explain_leaf(self, record, as_of, "absent or empty")


_INCLUSIVE: Final = ("both", "neither", "left", "right")
_inclusive = _v.one_of(*_INCLUSIVE)


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

    field: str = attrs.field(validator=_check_path, metadata=PATH)
    low: ConditionValue = attrs.field(converter=_value, metadata=VALUE)
    high: ConditionValue = attrs.field(converter=_value, metadata=VALUE)
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

    def text_form(self, printer: TextPrinter) -> str:
        """``between(field, low, high)``, with ``, left`` etc. unless ``both``."""
        extra = "" if self.inclusive == "both" else f", {self.inclusive}"
        low, high = printer.value(self.low), printer.value(self.high)
        return f"between({self.field}, {low}, {high}{extra})"

    @classmethod
    def parse_text(cls, parser: TextParser, position: int) -> Condition:
        """Read ``field, low, high[, both|neither|left|right]``."""
        path = parser.path()
        parser.comma()
        low = parser.value()
        parser.comma()
        high = parser.value()
        inclusive = parser.flag(*_INCLUSIVE) or "both"
        return parser.build(cls, position, path, low, high, inclusive=inclusive)

    @classmethod
    def strategy(cls, draws: KindDraws) -> SearchStrategy[Condition]:
        """A range of small ints on a scalar field, any inclusiveness."""
        from hypothesis import strategies as st  # noqa: PLC0415 - testing only

        return st.builds(
            lambda path, low, extra, inclusive: cls(
                path, low, low + extra, inclusive=inclusive
            ),
            draws.paths,
            st.integers(0, 3),
            st.integers(0, 2),
            st.sampled_from(_INCLUSIVE),
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

    field: str = attrs.field(validator=_check_path, metadata=PATH)
    duration: Duration = attrs.field(converter=_to_duration, metadata=DURATION)

    kind: ClassVar[str] = "within_last"
    uses_as_of: ClassVar[bool] = True

    @classmethod
    def strategy(cls, draws: KindDraws) -> SearchStrategy[Condition]:
        """A drawn duration on an instant field."""
        from hypothesis import strategies as st  # noqa: PLC0415 - testing only

        return st.builds(cls, draws.instant_paths, draws.durations)

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

    field: str = attrs.field(validator=_check_path, metadata=PATH)
    duration: Duration = attrs.field(converter=_to_duration, metadata=DURATION)

    kind: ClassVar[str] = "older_than"
    uses_as_of: ClassVar[bool] = True

    @classmethod
    def strategy(cls, draws: KindDraws) -> SearchStrategy[Condition]:
        """A drawn duration on an instant field."""
        from hypothesis import strategies as st  # noqa: PLC0415 - testing only

        return st.builds(cls, draws.instant_paths, draws.durations)

    def _window(self, as_of: datetime | None) -> Callable[[datetime], bool]:
        cutoff = self.duration.before(_need_as_of(as_of, self))
        return lambda t: t < cutoff

    def explain(self, record: object, as_of: datetime | None = None) -> Explanation:
        """Explain the verdict for one record."""
        cutoff = self.duration.before(_need_as_of(as_of, self))
        return _explain_leaf(self, record, as_of, f"before {cutoff.isoformat()}")


@attrs.frozen(cache_hash=True)
class Before(_TimeLeaf):
    """The field is an instant strictly before ``instant``."""

    field: str = attrs.field(validator=_check_path, metadata=PATH)
    instant: datetime = attrs.field(validator=_aware_instant, metadata=INSTANT)

    kind: ClassVar[str] = "before"

    @classmethod
    def strategy(cls, draws: KindDraws) -> SearchStrategy[Condition]:
        """A drawn instant on an instant field."""
        from hypothesis import strategies as st  # noqa: PLC0415 - testing only

        return st.builds(cls, draws.instant_paths, draws.instants)

    def _window(self, as_of: datetime | None) -> Callable[[datetime], bool]:
        limit = self.instant
        return lambda t: t < limit

    def explain(self, record: object, as_of: datetime | None = None) -> Explanation:
        """Explain the verdict for one record."""
        return _explain_leaf(self, record, as_of, f"before {self.instant.isoformat()}")


@attrs.frozen(cache_hash=True)
class After(_TimeLeaf):
    """The field is an instant at or after ``instant`` (so before/after split time)."""

    field: str = attrs.field(validator=_check_path, metadata=PATH)
    instant: datetime = attrs.field(validator=_aware_instant, metadata=INSTANT)

    kind: ClassVar[str] = "after"

    @classmethod
    def strategy(cls, draws: KindDraws) -> SearchStrategy[Condition]:
        """A drawn instant on an instant field."""
        from hypothesis import strategies as st  # noqa: PLC0415 - testing only

        return st.builds(cls, draws.instant_paths, draws.instants)

    def _window(self, as_of: datetime | None) -> Callable[[datetime], bool]:
        limit = self.instant
        return lambda t: t >= limit

    def explain(self, record: object, as_of: datetime | None = None) -> Explanation:
        """Explain the verdict for one record."""
        return _explain_leaf(
            self, record, as_of, f"at or after {self.instant.isoformat()}"
        )
