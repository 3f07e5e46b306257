"""The bases the built-in kinds share: operators, one-field leaves, nesting.

Registered vendor kinds need none of them: registration gives a kind the
operators of [`Combinable`][crmcore.conditions.Combinable], and the printer,
parser, converter and strategies read its attrs fields.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from crmcore.conditions.base import (
    MAX_DEPTH,
    MAX_NODES,
    Condition,
    Predicate,
    Test,
    _bind_child,
    _children,
    _leaf_predicate,
    _reader,
)
from crmcore.conditions.explanation import Explanation
from crmcore.conditions.text import to_text
from crmcore.errors import DataError

if TYPE_CHECKING:
    from crmcore.conditions.combinators import AllOf, AnyOf, Not

__all__ = ["Combinable"]


class Combinable:
    """The operators of every condition: ``a & b``, ``a | b``, ``~a``, ``str(a)``.

    The built-in kinds inherit them; registering a vendor kind gives it the
    ones it does not define itself, so inheriting is never needed (it only
    tells a type checker about them).

    Examples:
        >>> from crmcore.conditions import field
        >>> print((field("a") == 1) | ~(field("b") == 2))
        a == 1 or not (b == 2)
    """

    __slots__ = ()
    kind: ClassVar[str]

    def __and__(self, other: Condition) -> AllOf:
        from crmcore.conditions.combinators import all_of  # noqa: PLC0415 - cycle

        return all_of(self, other)

    def __or__(self, other: Condition) -> AnyOf:
        from crmcore.conditions.combinators import any_of  # noqa: PLC0415 - cycle

        return any_of(self, other)

    def __invert__(self) -> Not:
        from crmcore.conditions.combinators import Not  # noqa: PLC0415 - cycle

        return Not(self)

    def __str__(self) -> str:
        return to_text(self)


class _Leaf(Combinable):
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

    def _column(self, as_of: datetime | None) -> Callable[[list[object]], list[bool]]:
        """The test of a whole column of field values, in C-level loops.

        By default ``_fast`` mapped over the values; a kind with a quicker
        whole-column test (presence) overrides it, with the verdicts of
        ``_exact``.
        """
        test, truth = self._fast(as_of), operator.truth
        exact = self._exact(as_of)

        def column(values: list[object]) -> list[bool]:
            try:
                return list(map(truth, map(test, values)))
            except Exception:  # an unusual value: the exact verdicts and errors
                return list(map(truth, map(exact, values)))

        return column

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


@attrs.frozen(cache_hash=True)
class _Nested(Combinable):
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
