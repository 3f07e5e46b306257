"""Goals, wrong-direction alerts and the review cadence.

From the seeds: choose the three to five KPIs that matter, review operational
ones monthly and strategic ones quarterly, and when a KPI keeps moving the
wrong way, change a process.

* A [`Goal`][crmcore.kpis.Goal] is SMART: a metric, a baseline, a target, a
  start and a deadline. Progress = (current − baseline) / (target −
  baseline); expected progress = elapsed / total time. Its status comes from
  a series of observed values: ``achieved``, ``on_track``, ``at_risk``
  (behind by at most ``tolerance``), ``off_track``, ``missed`` (deadline
  passed) or ``no_data``. The projection extends the least-squares trend of
  the observations to the deadline.
* [`wrong_direction`][crmcore.kpis.wrong_direction] raises an alert when a
  KPI moved against its desired direction for N consecutive periods.
* [`reviews_due`][crmcore.kpis.reviews_due] lists the KPI reviews due as of
  a date, by cadence.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, Literal

import attrs

from crmcore import validators as _v
from crmcore.access import iterate
from crmcore.calendar import (
    MICROSECOND,
    Period,
    PeriodUnit,
    period_of,
    period_unit,
    require_aware,
)
from crmcore.errors import DataError, DataTypeError
from crmcore.kpis._core import (
    KpiResult,
    fraction,
    html_table,
)
from crmcore.money import Money, divide, exact_arithmetic, to_decimal
from crmcore.validators import check_one_of

__all__ = [
    "Alert",
    "Goal",
    "GoalStatus",
    "KpiReview",
    "ReviewCadence",
    "ReviewDue",
    "goal_status",
    "reviews_due",
    "wrong_direction",
]

_ZERO: Final = Decimal(0)


def _number(value: object, field: str) -> Decimal:
    if isinstance(value, KpiResult):
        if value.value is None:
            raise DataError(field, value, "a defined KPI value", hint=value.reason)
        value = value.value
    if isinstance(value, Money):
        return value.amount
    return to_decimal(value, field)


def _decimal(value: object) -> Decimal:
    return _number(value, "value")


_name = _v.name()
_aware = _v.aware_instant()


def _tolerance(value: object) -> Decimal:
    return fraction(value, "tolerance")


@attrs.frozen
class Goal:
    """A SMART goal for one metric.

    Attributes:
        metric: The KPI's name, e.g. ``"win_rate"``.
        baseline: The value when the goal was set.
        target: The value to reach by the deadline (above the baseline for
            metrics that should rise, below for those that should fall).
        start: When the goal was set.
        deadline: When the target must be reached.
        tolerance: How far behind the expected progress still counts as
            ``at_risk`` rather than ``off_track`` (a fraction of the way).

    Examples:
        >>> from datetime import datetime, timezone
        >>> goal = Goal("win_rate", Decimal("0.20"), Decimal("0.30"),
        ...             datetime(2026, 1, 1, tzinfo=timezone.utc),
        ...             datetime(2027, 1, 1, tzinfo=timezone.utc))
        >>> goal.direction
        'up'
    """

    metric: str = attrs.field(validator=_name)
    baseline: Decimal = attrs.field(converter=_decimal)
    target: Decimal = attrs.field(converter=_decimal)
    start: datetime = attrs.field(validator=_aware)
    deadline: datetime = attrs.field(validator=_aware)
    tolerance: Decimal = attrs.field(
        default=Decimal("0.1"), converter=_tolerance, kw_only=True
    )

    def __attrs_post_init__(self) -> None:
        if self.target == self.baseline:
            raise DataError(
                "target", self.target, "a value different from the baseline"
            )
        if self.deadline <= self.start:
            raise DataError(
                "deadline",
                self.deadline,
                f"an instant after start ({self.start.isoformat()})",
            )

    @property
    def direction(self) -> Literal["up", "down"]:
        """``up`` when the target is above the baseline, else ``down``."""
        return "up" if self.target > self.baseline else "down"

    def progress(self, value: object) -> Decimal:
        """(value − baseline) / (target − baseline): 0 at baseline, 1 at target."""
        return divide(
            _number(value, "value") - self.baseline, self.target - self.baseline
        )

    def expected_progress(self, as_of: datetime) -> Decimal:
        """Elapsed / total time, clipped to [0, 1]."""
        require_aware(as_of, "as_of")
        total = self.deadline - self.start
        elapsed = min(max(as_of - self.start, total * 0), total)
        return divide(elapsed // MICROSECOND, total // MICROSECOND)


@attrs.frozen
class GoalStatus:
    """Where a goal stands as of an instant.

    Attributes:
        goal: The goal.
        as_of: The instant assessed.
        status: ``achieved``, ``on_track``, ``at_risk``, ``off_track``,
            ``missed`` or ``no_data``.
        current: The latest observed value at or before ``as_of``.
        progress: Progress of ``current`` (``None`` without data).
        expected_progress: Share of the time elapsed.
        projected: The trend's value at the deadline (``None`` with fewer
            than two observations at distinct instants).
        observations: The observations used, in time order.
    """

    goal: Goal
    as_of: datetime
    status: str
    current: Decimal | None
    progress: Decimal | None
    expected_progress: Decimal
    projected: Decimal | None
    observations: tuple[tuple[datetime, Decimal], ...]

    @property
    def projected_to_reach(self) -> bool | None:
        """Whether the trend reaches the target by the deadline."""
        if self.projected is None:
            return None
        if self.goal.direction == "up":
            return self.projected >= self.goal.target
        return self.projected <= self.goal.target

    def to_dict(self) -> dict[str, Any]:
        """A plain row."""
        return {
            "metric": self.goal.metric,
            "as_of": self.as_of,
            "status": self.status,
            "baseline": self.goal.baseline,
            "target": self.goal.target,
            "current": self.current,
            "progress": self.progress,
            "expected_progress": self.expected_progress,
            "projected": self.projected,
            "deadline": self.goal.deadline,
        }

    def _repr_html_(self) -> str:
        return html_table(["", ""], list(self.to_dict().items()))


def _observation(item: object) -> tuple[datetime, Decimal]:
    if isinstance(item, KpiResult):
        instant = (
            item.as_of
            if item.as_of is not None
            else (item.period.end if item.period is not None else None)
        )
        if instant is None:
            raise DataError(
                "observations", item, "a KpiResult with an as_of or a period"
            )
        return instant, _number(item, "observations")
    if isinstance(item, tuple) and len(item) == 2:
        return require_aware(item[0], "observations"), _number(item[1], "observations")
    raise DataTypeError("observations", item, "(instant, value) pairs or KpiResults")


def _trend(points: Sequence[tuple[datetime, Decimal]], at: datetime) -> Decimal | None:
    """Least-squares line through the points, evaluated at ``at`` (exact)."""
    origin = points[0][0]
    xs = [Decimal((t - origin) // MICROSECOND) for t, _ in points]
    ys = [v for _, v in points]
    n = len(points)
    mean_x = divide(sum(xs, _ZERO), n)
    mean_y = divide(sum(ys, _ZERO), n)
    sxx = sum(((x - mean_x) ** 2 for x in xs), _ZERO)
    if not sxx:
        return None
    sxy = sum(((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)), _ZERO)
    slope = divide(sxy, sxx)
    return mean_y + slope * (Decimal((at - origin) // MICROSECOND) - mean_x)


@exact_arithmetic()
def goal_status(
    goal: Goal, observations: Iterable[Any], *, as_of: datetime
) -> GoalStatus:
    """Assess a goal from observed values.

    Args:
        goal: The goal.
        observations: ``(instant, value)`` pairs or KPI results (placed at
            their ``as_of`` or the end of their period), in any order; those
            after ``as_of`` are ignored.
        as_of: The instant to assess at.

    Examples:
        >>> from datetime import datetime, timezone
        >>> utc = timezone.utc
        >>> goal = Goal("win_rate", Decimal("0.20"), Decimal("0.30"),
        ...             datetime(2026, 1, 1, tzinfo=utc),
        ...             datetime(2027, 1, 1, tzinfo=utc))
        >>> seen = [(datetime(2026, 4, 1, tzinfo=utc), Decimal("0.23")),
        ...         (datetime(2026, 7, 1, tzinfo=utc), Decimal("0.26"))]
        >>> goal_status(goal, seen, as_of=datetime(2026, 7, 2, tzinfo=utc)).status
        'on_track'
    """
    if not isinstance(goal, Goal):
        raise DataTypeError("goal", goal, "a Goal")
    require_aware(as_of, "as_of")
    points = sorted(
        (p for p in map(_observation, observations) if p[0] <= as_of),
        key=lambda p: p[0],
    )
    expected = goal.expected_progress(as_of)
    if not points:
        return GoalStatus(goal, as_of, "no_data", None, None, expected, None, ())
    current = points[-1][1]
    progress = goal.progress(current)
    if progress >= 1:
        status = "achieved"
    elif as_of >= goal.deadline:
        status = "missed"
    elif progress >= expected:
        status = "on_track"
    elif progress >= expected - goal.tolerance:
        status = "at_risk"
    else:
        status = "off_track"
    projected = _trend(points, goal.deadline) if len(points) > 1 else None
    return GoalStatus(
        goal, as_of, status, current, progress, expected, projected, tuple(points)
    )


@attrs.frozen
class Alert:
    """A KPI moved against its desired direction for several periods in a row.

    Attributes:
        metric: The KPI's name.
        desired: ``up`` or ``down``.
        periods: How many consecutive moves went the wrong way.
        values: The values of the run, oldest first (one more than ``periods``).
        labels: Their labels (periods or instants), when known.
    """

    metric: str
    desired: str
    periods: int
    values: tuple[Decimal, ...]
    labels: tuple[str, ...]

    def __str__(self) -> str:
        shown = " → ".join(str(v) for v in self.values)
        moved = "down" if self.desired == "up" else "up"
        return f"{self.metric} moved {moved} for {self.periods} periods: {shown}"


def _series_item(item: object) -> tuple[str, Decimal | None]:
    if isinstance(item, KpiResult):
        label = (
            str(item.period.label)
            if isinstance(item.period, Period)
            else (item.as_of.isoformat() if item.as_of is not None else "")
        )
        return label, None if item.value is None else _number(item, "series")
    if isinstance(item, tuple) and len(item) == 2:
        label, value = item
        return str(getattr(label, "label", label)), None if value is None else _number(
            value, "series"
        )
    return "", None if item is None else _number(item, "series")


@exact_arithmetic()
def wrong_direction(
    series: Iterable[Any],
    *,
    desired: Literal["up", "down"],
    periods: int = 3,
    metric: str = "kpi",
) -> Alert | None:
    """Alert when the last ``periods`` moves of a series all went the wrong way.

    Args:
        series: Values oldest first: numbers, ``(label, value)`` pairs or KPI
            results (e.g. a grouped result's values). An undefined value
            breaks the run; an unchanged value is not a wrong move.
        desired: The direction the KPI should move.
        periods: Consecutive wrong moves needed (N).
        metric: The KPI's name for the alert.

    Examples:
        >>> wrong_direction([Decimal(30), Decimal(28), Decimal(27), Decimal(25)],
        ...                 desired="up", metric="win_rate").periods
        3
        >>> wrong_direction([30, 28, 29, 25], desired="up") is None
        True
    """
    check_one_of(desired, "desired", ("up", "down"))
    if isinstance(periods, bool) or not isinstance(periods, int) or periods < 1:
        raise DataError("periods", periods, "a positive number of periods")
    items = [_series_item(item) for item in series]
    if len(items) <= periods:
        return None
    tail = items[-periods - 1 :]
    for (_, before), (_, after) in itertools.pairwise(tail):
        if before is None or after is None:
            return None
        if not (after < before if desired == "up" else after > before):
            return None
    return Alert(
        metric,
        desired,
        periods,
        tuple(v for _, v in tail),  # type: ignore[misc]
        tuple(label for label, _ in tail),
    )


_kind = _v.one_of("operational", "strategic")


@attrs.frozen
class KpiReview:
    """A KPI that gets reviewed, with its kind and owner.

    Attributes:
        metric: The KPI's name.
        kind: ``operational`` (reviewed monthly by default) or ``strategic``
            (quarterly).
        owner: Who runs the review.
    """

    metric: str = attrs.field(validator=_name)
    kind: str = attrs.field(default="operational", validator=_kind)
    owner: str | None = attrs.field(default=None, kw_only=True)


def _unit(value: object) -> PeriodUnit | str:
    period_unit(value)
    return value  # type: ignore[return-value]


@attrs.frozen
class ReviewCadence:
    """How often each kind of KPI is reviewed.

    Attributes:
        operational: Period unit of operational reviews (``"month"``).
        strategic: Period unit of strategic reviews (``"quarter"``).
        tz: The zone whose calendar defines the periods.
    """

    operational: PeriodUnit | str = attrs.field(default="month", converter=_unit)
    strategic: PeriodUnit | str = attrs.field(default="quarter", converter=_unit)
    tz: str = "UTC"


@attrs.frozen
class ReviewDue:
    """A review that is due.

    Attributes:
        review: The KPI and its kind.
        period: The current review period it is due in.
        last_reviewed: When it was last reviewed, if ever.
    """

    review: KpiReview
    period: Period
    last_reviewed: datetime | None


@exact_arithmetic()
def reviews_due(
    reviews: Iterable[KpiReview],
    *,
    as_of: datetime,
    last_reviewed: Mapping[str, datetime] | None = None,
    cadence: ReviewCadence | None = None,
) -> tuple[ReviewDue, ...]:
    """The reviews not yet held in their current period, as of an instant.

    Examples:
        >>> from datetime import datetime, timezone
        >>> utc = timezone.utc
        >>> due = reviews_due([KpiReview("win_rate"), KpiReview("nrr", "strategic")],
        ...                   as_of=datetime(2026, 5, 20, tzinfo=utc),
        ...                   last_reviewed={"nrr": datetime(2026, 4, 3, tzinfo=utc)})
        >>> [(d.review.metric, d.period.label) for d in due]
        [('win_rate', '2026-05')]
    """
    require_aware(as_of, "as_of")
    cadence = ReviewCadence() if cadence is None else cadence
    if not isinstance(cadence, ReviewCadence):
        raise DataTypeError("cadence", cadence, "a ReviewCadence or None")
    if last_reviewed is not None and not isinstance(last_reviewed, Mapping):
        raise DataTypeError(
            "last_reviewed", last_reviewed, "a mapping of metric to instant, or None"
        )
    seen = dict(last_reviewed or {})
    due = []
    for review in iterate(reviews, "reviews"):
        if not isinstance(review, KpiReview):
            raise DataTypeError("reviews", review, "a KpiReview")
        unit = (
            cadence.operational if review.kind == "operational" else cadence.strategic
        )
        period = period_of(as_of, unit, tz=cadence.tz)
        last = seen.get(review.metric)
        if last is not None:
            require_aware(last, f"last_reviewed[{review.metric!r}]")
        if last is None or last < period.start:
            due.append(ReviewDue(review, period, last))
    return tuple(due)
