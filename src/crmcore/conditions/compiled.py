"""Compiling conditions once and evaluating them over many records."""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Iterable, Iterator
from datetime import datetime
from typing import Any, cast

import attrs

from crmcore.access import iterate
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
from crmcore.conditions.kinds import _explain_child
from crmcore.errors import DataTypeError

__all__ = ["CompiledCondition", "compile_condition", "explain", "matches"]


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
        """[`mask`][crmcore.conditions.CompiledCondition.mask] bound to one
        ``as_of``: call it on each chunk of records."""
        column = _column_mask(self.condition, as_of, self.bind(as_of))

        def mask(records: Iterable[Any]) -> list[bool]:
            if type(records) is not list and type(records) is not tuple:
                records = list(iterate(records))
            return column(records)  # type: ignore[arg-type]

        return mask

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
