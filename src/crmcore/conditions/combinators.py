"""The combinators ``all``, ``any``, ``not``, ``at_least`` and ``count``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sized
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

import attrs

from crmcore import validators as _v
from crmcore.conditions.base import (
    Condition,
    Predicate,
    _bind_child,
    _check_condition,
    _check_path,
    _opt_condition,
    _reader,
    _to_conditions,
    _uses_as_of,
)
from crmcore.conditions.explanation import Explanation
from crmcore.conditions.fused import _all, _any, _fused, _steps
from crmcore.conditions.kinds import _explain_child, _Nested
from crmcore.conditions.text import TextParser, TextPrinter, to_text
from crmcore.conditions.values import CONDITION, CONDITIONS, ITEM_CONDITION, PATH
from crmcore.errors import DataError, DataTypeError
from crmcore.records import MISSING

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

    from crmcore.registry import KindDraws

__all__ = [
    "AllOf",
    "AnyOf",
    "AtLeast",
    "Count",
    "Not",
    "all_of",
    "any_of",
    "at_least",
    "not_",
]


_count_validator = _v.non_negative_int()
_opt_count = _v.optional(_count_validator)


def _grouped(conditions: tuple[Condition, ...]) -> bool:
    if len(conditions) == 1:
        return bool(getattr(conditions[0], "text_grouped", False))
    return len(conditions) > 1


def _joined(
    printer: TextPrinter, conditions: tuple[Condition, ...], joiner: str, empty: str
) -> str:
    if not conditions:
        return empty
    if len(conditions) == 1:
        return printer.condition(conditions[0])
    return joiner.join(printer.operand(c) for c in conditions)


@attrs.frozen(cache_hash=True)
class _Group(_Nested):
    """``all`` and ``any``: a list of conditions joined by ``and`` / ``or``."""

    conditions: tuple[Condition, ...] = attrs.field(
        converter=_to_conditions, metadata=CONDITIONS
    )

    kind: ClassVar[str] = ""
    text_operator: ClassVar[str] = ""
    _any: ClassVar[bool] = False
    _empty_text: ClassVar[str] = ""

    def __attrs_post_init__(self) -> None:
        self._limit()

    @property
    def uses_as_of(self) -> bool:
        """Whether any sub-condition is relative to ``as_of``."""
        return _uses_as_of(self.conditions)

    def bind(self, as_of: datetime | None) -> Predicate:
        """Return the predicate (short-circuits at the first deciding child)."""
        children = [_bind_child(c, as_of) for c in self.conditions]
        exact = _any(children) if self._any else _all(children)
        steps = _steps(self.conditions, as_of)
        return exact if steps is None else _fused(steps, exact, any_=self._any)

    def explain(self, record: object, as_of: datetime | None = None) -> Explanation:
        """Explain the verdict for one record (every sub-condition is shown)."""
        children = tuple(_explain_child(c, record, as_of) for c in self.conditions)
        held = sum(child.holds for child in children)
        return Explanation(
            holds=held > 0 if self._any else held == len(children),
            kind=self.kind,
            text=f"{self.kind} of {len(children)} ({held} held)",
            children=children,
        )

    @property
    def text_grouped(self) -> bool:
        """Whether the text needs parentheses among other ``and`` / ``or`` terms."""
        return _grouped(self.conditions)

    def text_form(self, printer: TextPrinter) -> str:
        """``a and b`` / ``a or b``; ``true`` / ``false`` when empty."""
        return _joined(
            printer, self.conditions, f" {self.text_operator} ", self._empty_text
        )

    @classmethod
    def strategy(cls, draws: KindDraws) -> SearchStrategy[Condition]:
        """Up to four drawn sub-conditions."""
        from hypothesis import strategies as st  # noqa: PLC0415 - testing only

        return st.builds(cls, st.lists(draws.children, max_size=4))


@attrs.frozen(cache_hash=True)
class AllOf(_Group):
    """Every condition holds (true when there are none)."""

    kind: ClassVar[str] = "all"
    text_operator: ClassVar[str] = "and"
    _empty_text: ClassVar[str] = "true"


@attrs.frozen(cache_hash=True)
class AnyOf(_Group):
    """At least one condition holds (false when there are none)."""

    kind: ClassVar[str] = "any"
    text_operator: ClassVar[str] = "or"
    _any: ClassVar[bool] = True
    _empty_text: ClassVar[str] = "false"


@attrs.frozen(cache_hash=True)
class Not(_Nested):
    """The condition does not hold."""

    condition: Condition = attrs.field(validator=_check_condition, metadata=CONDITION)

    kind: ClassVar[str] = "not"
    text_operator: ClassVar[str] = "not"

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

    def text_form(self, printer: TextPrinter) -> str:
        """``not (a)``."""
        return f"not ({printer.condition(self.condition)})"

    @classmethod
    def strategy(cls, draws: KindDraws) -> SearchStrategy[Condition]:
        """The negation of a drawn sub-condition."""
        from hypothesis import strategies as st  # noqa: PLC0415 - testing only

        return st.builds(cls, draws.children)


@attrs.frozen(cache_hash=True)
class AtLeast(_Nested):
    """At least ``n`` of the conditions hold (stops counting once ``n`` is reached)."""

    n: int = attrs.field(validator=_count_validator)
    conditions: tuple[Condition, ...] = attrs.field(
        converter=_to_conditions, metadata=CONDITIONS
    )

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

    def text_form(self, printer: TextPrinter) -> str:
        """``at_least(n, a, b, ...)``."""
        parts = [str(self.n), *(printer.condition(c) for c in self.conditions)]
        return f"at_least({', '.join(parts)})"

    @classmethod
    def parse_text(cls, parser: TextParser, position: int) -> Condition:
        """Read ``n, a, b, ...``."""
        n = parser.integer()
        items = []
        while parser.at(","):
            parser.take()
            items.append(parser.condition())
        return parser.build(cls, position, n, items)

    @classmethod
    def strategy(cls, draws: KindDraws) -> SearchStrategy[Condition]:
        """Up to four drawn sub-conditions and a count they can reach."""
        from hypothesis import strategies as st  # noqa: PLC0415 - testing only

        return st.lists(draws.children, max_size=4).flatmap(
            lambda items: st.builds(cls, st.integers(0, len(items)), st.just(items))
        )


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

    field: str = attrs.field(validator=_check_path, metadata=PATH)
    where: Condition | None = attrs.field(
        default=None, validator=_opt_condition, metadata=ITEM_CONDITION
    )
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

    def text_form(self, printer: TextPrinter) -> str:
        """``count(field[, where][, at_least=n][, at_most=m])``."""
        parts = [self.field]
        if self.where is not None:
            parts.append(printer.condition(self.where))
        if self.at_least != 1:  # the default is left out
            parts.append(f"at_least={self.at_least}")
        if self.at_most is not None:
            parts.append(f"at_most={self.at_most}")
        return f"count({', '.join(parts)})"

    @classmethod
    def parse_text(cls, parser: TextParser, position: int) -> Condition:
        """Read ``field[, where][, at_least=n][, at_most=m]``."""
        path = parser.path()
        where: Condition | None = None
        bounds: dict[str, int] = {}
        while parser.at(","):
            parser.take()
            name = parser.keyword("at_least", "at_most")
            if name is not None:
                bounds[name] = parser.integer()
            elif where is None and not bounds:
                where = parser.condition()
            else:
                parser.fail(parser.peek()[2], "at_least=N or at_most=N")
        return parser.build(cls, position, path, where, **bounds)

    @classmethod
    def strategy(cls, draws: KindDraws) -> SearchStrategy[Condition]:
        """Items of a collection field matching a drawn item condition."""
        from hypothesis import strategies as st  # noqa: PLC0415 - testing only

        return st.builds(
            lambda path, where, low, extra: cls(
                path, where, at_least=low, at_most=None if extra < 0 else low + extra
            ),
            draws.collection_paths,
            st.none() | draws.items,
            st.integers(0, 2),
            st.integers(-1, 2),
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
