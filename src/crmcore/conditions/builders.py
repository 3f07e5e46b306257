"""Building conditions from field paths: ``field("employees") >= 50``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal

import attrs

from crmcore.conditions.base import Condition, _check_path
from crmcore.conditions.combinators import Count
from crmcore.conditions.leaves import (
    After,
    Before,
    Between,
    Contains,
    EndsWith,
    Eq,
    Exists,
    Ge,
    Gt,
    IsIn,
    IsMissing,
    Le,
    Lt,
    Ne,
    NotIn,
    OlderThan,
    StartsWith,
    WithinLast,
)
from crmcore.conditions.values import PATH, ConditionValue, Duration

__all__ = ["FieldRef", "field"]


@attrs.frozen(eq=False)
class FieldRef:
    """A field path to build conditions from: ``field("employees") >= 50``.

    Comparison operators return conditions (not booleans), so ``==`` on a
    ``FieldRef`` builds an [`Eq`][crmcore.conditions.Eq].

    Examples:
        >>> to_text((field("employees") >= 50) & ~field("country").is_in({"US"}))
        'employees >= 50 and not (country in {"US"})'
    """

    path: str = attrs.field(validator=_check_path, metadata=PATH)

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
