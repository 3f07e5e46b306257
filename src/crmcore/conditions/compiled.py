"""Compiling conditions once and evaluating them over many records."""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from itertools import compress, repeat
from typing import Any, cast

import attrs

from crmcore.access import column_getter, iterate
from crmcore.calendar import require_aware
from crmcore.conditions.base import (
    Condition,
    Predicate,
    Test,
    _bind_child,
    _is_condition,
)
from crmcore.conditions.combinators import AllOf
from crmcore.conditions.explanation import Explanation
from crmcore.conditions.fused import _column_filter, _column_mask, _steps
from crmcore.conditions.kinds import _explain_child, _Leaf
from crmcore.conditions.leaves import Eq, IsIn
from crmcore.errors import DataTypeError
from crmcore.money import Money

__all__ = [
    "CompiledCondition",
    "compile_condition",
    "explain",
    "matches",
    "positions_of",
    "weights_of",
]


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
        if as_of is not None and (type(as_of) is not datetime or as_of.tzinfo is None):
            require_aware(as_of, "as_of")  # explains it (and keeps it out of the cache)
        if self._static is not None:
            return self._static
        condition: Any = self.condition  # hashable: attrs frozen, cache_hash
        # Equal instants in two zones are equal keys, but "1d" before them is
        # not the same instant: the zone (and the fold) are part of the key.
        zone = None if as_of is None else (as_of.tzinfo, as_of.fold)
        return _bound(condition, as_of, zone)

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

    def mask(
        self, records: Iterable[Any], *, as_of: datetime | None = None
    ) -> list[bool]:
        """The verdict for each record, in order: a boolean column.

        The same verdicts (and errors) as calling
        [`bind`][crmcore.conditions.CompiledCondition.bind]'s predicate on each
        record; a one-field test over records of one type reads and tests the
        whole column in C-level loops. Scoring models use it to score records
        in chunks.

        Examples:
            >>> big = compile_condition(field("employees") >= 100)
            >>> big.mask([{"employees": 500}, {"employees": 20}, {}])
            [True, False, False]
        """
        return self.masker(as_of)(records)

    def masker(
        self, as_of: datetime | None = None
    ) -> Callable[[Iterable[Any]], list[bool]]:
        """``mask`` bound to one ``as_of``: call it on each chunk of records.

        See [`mask`][crmcore.conditions.CompiledCondition.mask].
        """
        column = _column_mask(self.condition, as_of, self.bind(as_of))

        def mask(records: Iterable[Any]) -> list[bool]:
            if type(records) is not list and type(records) is not tuple:
                records = list(iterate(records))
            return column(records)

        return mask

    def column_test(
        self, as_of: datetime | None = None
    ) -> tuple[str, Callable[[list[object]], list[bool]]] | None:
        """For a one-field condition: its field and the test of a column of values.

        The test takes the values [`column_getter`][crmcore.records.column_getter]
        reads for the field (``MISSING`` where absent) and gives each one's
        verdict, in C-level loops where the kind has them; it may raise
        where the predicate would (call the predicate on each record then,
        for its verdicts and errors). A caller that reads the same columns
        for several checks reads each once. ``None`` for any other condition.

        Examples:
            >>> field_, test = compile_condition(field("n") >= 2).column_test()
            >>> field_, test([1, 2, 3])
            ('n', [False, True, True])
        """
        condition = self.condition
        if not isinstance(condition, _Leaf):
            return None
        self.bind(as_of)  # the same checks of as_of
        return condition.field, condition._column(as_of)

    def explain(self, record: object, *, as_of: datetime | None = None) -> Explanation:
        """Explain the verdict for one record."""
        return _explain_child(self.condition, record, as_of)


@functools.lru_cache(maxsize=32)
def _bound(condition: Any, as_of: datetime | None, zone: object) -> Predicate:
    del zone  # part of the cache key only
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


def positions_of(
    conditions: Sequence[Condition], *, as_of: datetime | None = None
) -> Callable[[Sequence[Any]], list[list[int]]]:
    """For a chunk of records, where each condition holds: its records' positions.

    The function returned takes a list of records and gives, for each
    condition in order, the ascending positions of the records it holds for:
    the same verdicts (and errors) as each condition's
    [`bind`][crmcore.conditions.CompiledCondition.bind] on each record.
    Equality and ``in`` tests of the same field are decided together, by
    one look-up of the field's value in a table of their values; other
    conditions by their [`masker`][crmcore.conditions.CompiledCondition.masker].
    Scoring models use it to test all their rules over a chunk at once.

    Examples:
        >>> where = positions_of([field("kind") == "demo", field("kind") == "visit",
        ...                       field("kind").is_in({"visit", "call"})])
        >>> where([{"kind": "visit"}, {"kind": "demo"}, {"kind": "call"}, {}])
        [[1], [0], [0, 2]]
    """
    compiled = [compile_condition(c) for c in conditions]
    tables, rest = _tables(conditions)
    masks = [(index, compiled[index].masker(as_of)) for index in rest]
    exact = [c.masker(as_of) for c in compiled]
    readers = {key: column_getter(key) for key, _, _ in tables}

    def positions(records: Sequence[Any]) -> list[list[int]]:
        if type(records) is not list and type(records) is not tuple:
            records = list(iterate(records))
        found: list[list[int]] = [[] for _ in compiled]
        size = range(len(records))
        for key, members, table in tables:
            try:
                hits = list(map(table.get, readers[key](records)))
            except TypeError:  # an unhashable value: the exact tests decide
                for index in members:
                    found[index] = list(compress(size, exact[index](records)))
                continue
            for position in compress(size, hits):
                for index in hits[position] or ():
                    found[index].append(position)
        for index, mask in masks:
            found[index] = list(compress(size, mask(records)))
        return found

    return positions


def _table_key(condition: object) -> str | None:
    """The field of an equality or ``in`` test that a value table decides exactly."""
    if type(condition) is Eq:
        value = condition.value
        if isinstance(value, (datetime, Money)):  # their own exact tests
            return None
        return condition.field
    if type(condition) is IsIn:
        return condition.field
    return None


def weights_of(
    weighted: Sequence[tuple[Condition, int | Decimal]],
    *,
    as_of: datetime | None = None,
) -> Callable[[Sequence[Any]], list[Any]]:
    """For a chunk of records, each record's sum of the weights of what holds.

    The function returned takes a list of records and gives, for each, the
    sum of the weights of the conditions it satisfies (``0`` when none): the
    same verdicts as each condition's predicate, and an error wherever one
    would raise (conditions are tested one at a time over the chunk, so of
    several errors the first raised may differ from a record-by-record
    loop's). Equality and
    ``in`` tests of the same field are decided by one look-up of the field's
    value in a table of their summed weights, other conditions by their
    [`masker`][crmcore.conditions.CompiledCondition.masker], all in C-level
    loops. Scoring models add their record rules' points with it.

    Examples:
        >>> fit = weights_of([(field("industry") == "saas", 20),
        ...                   (field("industry") == "retail", -5),
        ...                   (field("employees") >= 100, 10)])
        >>> fit([{"industry": "saas", "employees": 500},
        ...      {"industry": "retail", "employees": 5}])
        [30, -5]
    """
    conditions = [condition for condition, _ in weighted]
    weights = [weight for _, weight in weighted]
    tables, rest = _tables(conditions)
    summed = []
    for key, members, table in tables:
        by_value = {
            value: sum(weights[index] for index in indices)
            for value, indices in table.items()
        }
        summed.append((key, members, by_value))
    exact = [compile_condition(c).masker(as_of) for c in conditions]
    leaves, others = [], []
    for index in rest:
        condition: Any = conditions[index]
        if isinstance(condition, _Leaf):
            fast = condition._fast(as_of)
            leaves.append((weights[index], condition.field, fast, exact[index]))
        else:
            others.append((weights[index], exact[index]))
    plus, times, truth = operator.add, operator.mul, operator.truth
    readers = {key: column_getter(key) for key, _, _ in summed}
    readers.update((key, column_getter(key)) for _, key, _, _ in leaves)

    def add(records: Sequence[Any]) -> list[Any]:
        if type(records) is not list and type(records) is not tuple:
            records = list(iterate(records))
        size = range(len(records))
        sums: list[Any] = [0] * len(records)
        columns: dict[str, list[object]] = {}

        def column(key: str) -> list[object]:
            found = columns.get(key)
            if found is None:
                found = columns[key] = readers[key](records)
            return found

        for key, members, by_value in summed:
            try:
                sums = list(map(plus, sums, map(by_value.get, column(key), repeat(0))))
                continue
            except TypeError:  # an unhashable value: the exact tests decide
                pass
            for index in members:
                weight = weights[index]
                for position in compress(size, exact[index](records)):
                    sums[position] += weight
        for weight, key, fast, mask in leaves:
            try:
                held = map(truth, map(fast, column(key)))
                sums = list(map(plus, sums, map(times, held, repeat(weight))))
                continue
            except Exception:  # the exact test decides (or raises)
                pass
            for position in compress(size, mask(records)):
                sums[position] += weight
        for weight, mask in others:
            # A weight of 0 adds nothing, but its condition still raises
            # where it would.
            for position in compress(size, mask(records)):
                sums[position] += weight
        return sums

    return add


def _tables(
    conditions: Sequence[Condition],
) -> tuple[list[tuple[str, list[int], dict[Any, list[int]]]], list[int]]:
    """Equality and ``in`` tests grouped by field into value tables; the rest."""
    by_field: dict[str, list[int]] = {}
    for index, each in enumerate(conditions):
        key = _table_key(each)
        if key is not None:
            by_field.setdefault(key, []).append(index)
    tables = []
    for key, members in by_field.items():
        if len(members) < 2:
            continue
        table: dict[Any, list[int]] = {}
        for index in members:
            condition: Any = conditions[index]
            values = (
                {condition.value} if type(condition) is Eq else set(condition.values)
            )
            for value in values:
                table.setdefault(value, []).append(index)
        tables.append((key, members, table))
    tabled = {index for _, members, _ in tables for index in members}
    return tables, [i for i in range(len(conditions)) if i not in tabled]
