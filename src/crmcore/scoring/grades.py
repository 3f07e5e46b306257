"""Profile grades: a letter from A+ to F that criteria move by thirds.

A [`GradingProfile`][crmcore.scoring.GradingProfile] starts every record at
a base letter (``D`` by default, as Pardot does) and moves it by thirds of a
letter: each criterion moves it by ``matched`` thirds when its condition
holds and by ``unmatched`` thirds when it does not (one third: ``D`` to
``D+``; three thirds: ``D`` to ``C``). The thirds are added up first and the
result is held within F and A+ once, so the grade never depends on the
order of the criteria.

The thirteen grades, lowest first, are [`GRADES`][crmcore.scoring.GRADES]:
``F, D-, D, D+, C-, C, C+, B-, B, B+, A-, A, A+``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from itertools import islice
from typing import Any, Final

import attrs

from crmcore import validators as _v
from crmcore.access import iterate
from crmcore.conditions import (
    CONDITION_KINDS,
    Condition,
    compile_condition,
    to_text,
    weights_of,
)
from crmcore.conditions.values import CONDITION
from crmcore.errors import DataError, DataTypeError

__all__ = ["GRADES", "Grade", "GradeCriterion", "GradeStep", "GradingProfile"]

GRADES: Final = (
    "F",
    "D-",
    "D",
    "D+",
    "C-",
    "C",
    "C+",
    "B-",
    "B",
    "B+",
    "A-",
    "A",
    "A+",
)
"""The grades, lowest first: each is one third of a letter above the one before."""

_TOP: Final = len(GRADES) - 1
_CHUNK: Final = 2048
_name = _v.name()
_text = _v.text()
_condition = _v.kind_of(CONDITION_KINDS, "a condition")


def _thirds(_i: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not int or not -_TOP <= value <= _TOP:
        raise DataTypeError(
            attribute.name, value, f"a whole number of thirds from -{_TOP} to {_TOP}"
        )


def _grade(_i: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value not in GRADES:
        raise DataError(attribute.name, value, f"one of {', '.join(GRADES)}")


@attrs.frozen(cache_hash=True)
class GradeCriterion:
    """One criterion of a profile: thirds of a letter up or down.

    Attributes:
        name: The criterion's name.
        condition: What the record must meet.
        matched: Thirds moved when the condition holds (``3``: a whole letter up).
        unmatched: Thirds moved when it does not (``-1``: a third down).
        description: Why the criterion exists.
    """

    name: str = attrs.field(validator=_name)
    condition: Condition = attrs.field(validator=_condition, metadata=CONDITION)
    matched: int = attrs.field(default=1, validator=_thirds, kw_only=True)
    unmatched: int = attrs.field(default=0, validator=_thirds, kw_only=True)
    description: str = attrs.field(default="", validator=_text, kw_only=True)


@attrs.frozen
class GradeStep:
    """What one criterion did to a grade: held or not, and the thirds it moved."""

    criterion: str
    matched: bool
    thirds: int
    detail: str


@attrs.frozen
class Grade:
    """A record's grade, explained.

    Attributes:
        profile: The profile's name.
        grade: The letter, ``"F"`` to ``"A+"``.
        base: The letter every record starts at.
        thirds: The criteria's thirds added up (before holding within F and A+).
        steps: Each criterion: held or not, and the thirds it moved.
    """

    profile: str
    grade: str
    base: str
    thirds: int
    steps: tuple[GradeStep, ...]

    @property
    def clamped(self) -> bool:
        """Whether the thirds went past A+ or below F (the grade stops there)."""
        return not 0 <= GRADES.index(self.base) + self.thirds <= _TOP

    def __str__(self) -> str:
        lines = [
            f"{self.profile}: {self.grade} (from {self.base}, {self.thirds:+d} thirds)"
        ]
        for step in self.steps:
            mark = "✓" if step.matched else "✗"
            lines.append(
                f"  {mark} {step.criterion}: {step.thirds:+d}  ({step.detail})"
            )
        return "\n".join(lines)


def _criteria(values: object) -> tuple[GradeCriterion, ...]:
    criteria = _v.tuple_of(values, GradeCriterion, "criteria")
    _v.unique_keys(criteria, "criteria", "criterion", by="name")
    return criteria


@attrs.frozen(cache_hash=True)
class GradingProfile:
    """A profile grade: criteria that move a base letter by thirds.

    Examples:
        >>> from crmcore.conditions import field
        >>> profile = GradingProfile("buyer", (
        ...     GradeCriterion("decision_maker", field("title").is_in({"CEO", "CFO"}),
        ...                    matched=3),
        ...     GradeCriterion("target_industry", field("industry") == "saas",
        ...                    matched=2, unmatched=-1),
        ... ))
        >>> profile.grade({"title": "CEO", "industry": "retail"}).grade
        'C-'
        >>> profile.grade({"title": "CEO", "industry": "saas"}).grade
        'B-'
    """

    name: str = attrs.field(validator=_name)
    criteria: tuple[GradeCriterion, ...] = attrs.field(converter=_criteria)
    base: str = attrs.field(default="D", validator=_grade, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if not self.criteria:
            raise DataError("criteria", [], "at least one criterion")

    def _letter(self, thirds: int) -> str:
        return GRADES[max(0, min(_TOP, GRADES.index(self.base) + thirds))]

    def grade(self, record: object, *, as_of: datetime | None = None) -> Grade:
        """One record's grade, with every criterion's step."""
        steps = []
        total = 0
        for criterion in self.criteria:
            held = compile_condition(criterion.condition).matches(record, as_of=as_of)
            thirds = criterion.matched if held else criterion.unmatched
            total += thirds
            mark = "held" if held else "did not hold"
            steps.append(
                GradeStep(
                    criterion.name,
                    held,
                    thirds,
                    f"{to_text(criterion.condition)} {mark}",
                )
            )
        return Grade(self.name, self._letter(total), self.base, total, tuple(steps))

    def grader(self, *, as_of: datetime | None = None) -> Callable[[object], str]:
        """A compiled ``record -> grade`` function, for grading records one by one."""
        moves = [
            (
                compile_condition(c.condition).bind(as_of),
                c.matched,
                c.unmatched,
            )
            for c in self.criteria
        ]
        letter = self._letter

        def grade(record: object) -> str:
            return letter(
                sum(held if test(record) else missed for test, held, missed in moves)
            )

        return grade

    def grades(
        self, records: Iterable[Any], *, as_of: datetime | None = None
    ) -> list[str]:
        """The grade of every record, in order, tested a column at a time.

        The same grades (and errors) as [`grade`][crmcore.scoring.GradingProfile.grade].
        """
        return list(self._grades(records, as_of))

    def _grades(self, records: Iterable[Any], as_of: datetime | None) -> Iterator[str]:
        # thirds = Σ unmatched + Σ (matched − unmatched) over what holds.
        moved = weights_of(
            [(c.condition, c.matched - c.unmatched) for c in self.criteria], as_of=as_of
        )
        start = GRADES.index(self.base) + sum(c.unmatched for c in self.criteria)
        iterator = iterate(records)
        exact = self.grader(as_of=as_of)
        while chunk := list(islice(iterator, _CHUNK)):
            try:
                column = moved(chunk)
            except Exception:
                # ``grade`` tests every criterion on every record too, so it
                # raises as well: with its first error, in its order.
                yield from map(exact, chunk)
                raise  # pragma: no cover - the line above raised
            for thirds in column:
                yield GRADES[max(0, min(_TOP, start + thirds))]
