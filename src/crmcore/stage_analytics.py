"""Stage analytics from stage histories: time in stage, conversion, funnel, stuck deals.

[`StageAnalytics`][crmcore.stage_analytics.StageAnalytics] is a mergeable
accumulator (``add`` one record's history, ``merge`` two partial results,
``result``): the same code runs over one generator in constant memory per
record, or over partitions merged afterwards, with identical results.
[`stage_analytics`][crmcore.stage_analytics.stage_analytics] runs it over a
flat stream of stage changes grouped by record.

Definitions (all as of ``as_of``; changes after it are ignored):

* **Visits.** Each change enters a stage; the visit lasts until the next
  change. A deal that loops back enters a stage twice: two visits, both
  counted. The last visit of an open deal is still running.
* **Time in stage**: mean, median and p90 (nearest rank) of the *completed*
  visits, in fractional days of elapsed time, or of business time when a
  [`BusinessCalendar`][crmcore.business_time.BusinessCalendar] is given.
* **Conversion, reached-beyond** (default, robust to skipped stages): deals
  that reached any later stage (won counts as after every open stage) /
  deals that reached the stage.
* **Conversion, next-stage**: deals whose next move after first entering the
  stage went to the next stage in order (won after the last open stage) /
  deals that entered the stage.
* **Backward moves**: moves to an earlier open stage. **Skips**: moves past
  the next stage in order (to won included).
* **Stuck**: open deals whose current visit is longer than the stage's
  ``rotting_days``.

Examples:
    >>> from datetime import datetime, timedelta, timezone
    >>> from crmcore.pipelines import Pipeline, StageDefinition, TransitionPolicy
    >>> from crmcore.records import StageChange
    >>> pipeline = Pipeline("p", (StageDefinition("a", "A"), StageDefinition("b", "B"),
    ...     StageDefinition("won", "Won", kind="won")))
    >>> t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    >>> changes = [StageChange("d1", None, "a", t0),
    ...            StageChange("d1", "a", "b", t0 + timedelta(days=2)),
    ...            StageChange("d1", "b", "won", t0 + timedelta(days=5))]
    >>> report = stage_analytics(pipeline, changes, as_of=t0 + timedelta(days=30))
    >>> report.stage("a").mean_days, report.stage("b").mean_days, report.won
    (Decimal('2'), Decimal('3'), 1)
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Hashable, Iterable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

import attrs

from crmcore import validators as _v
from crmcore.access import iterate
from crmcore.business_time import BusinessCalendar
from crmcore.calendar import MICROSECOND, days_from_microseconds
from crmcore.errors import DataError, DataTypeError, NaiveDatetimeError
from crmcore.money import divide, exact_arithmetic
from crmcore.pipelines import Pipeline
from crmcore.records import field_getter

__all__ = [
    "StageAnalytics",
    "StageReport",
    "StageStats",
    "StuckDeal",
    "group_histories",
    "stage_analytics",
]


_record_id = field_getter("record_id")
_to_stage = field_getter("to_stage")
_from_stage = field_getter("from_stage")
_at = field_getter("at")


@attrs.frozen
class StuckDeal:
    """An open deal that has stayed in its stage past the stage's rotting days."""

    record_id: object
    stage: str
    entered_at: datetime
    days_in_stage: Decimal
    rotting_days: int


@attrs.frozen
class StageStats:
    """Figures for one stage.

    Attributes:
        stage: The stage key.
        visits: Times any deal entered the stage (loops count again).
        deals: Deals that reached the stage at least once.
        completed: Visits that ended (the deal moved on).
        current: Deals in the stage as of ``as_of``.
        mean_days: Mean days of the completed visits (``None``: none completed).
        median_days: Median days (``None``: none completed).
        p90_days: 90th percentile, nearest rank (``None``: none completed).
        conversion: Reached-beyond conversion (``None``: no deal reached it).
        next_stage_conversion: Next-stage conversion (``None``: no deal entered it).
    """

    stage: str
    visits: int
    deals: int
    completed: int
    current: int
    mean_days: Decimal | None
    median_days: Decimal | None
    p90_days: Decimal | None
    conversion: Decimal | None
    next_stage_conversion: Decimal | None


@attrs.frozen
class StageReport:
    """The result of [`StageAnalytics`][crmcore.stage_analytics.StageAnalytics].

    Attributes:
        as_of: The moment the report describes.
        deals: Deals (histories) seen.
        stages: One [`StageStats`][crmcore.stage_analytics.StageStats] per open
            stage, in order.
        won: Deals whose last stage is a won stage.
        lost: Deals whose last stage is a lost stage.
        backward_moves: Moves to an earlier open stage.
        skips: Moves past the next stage in order.
        stuck: Open deals past their stage's rotting threshold, longest first.
    """

    as_of: datetime
    deals: int
    stages: tuple[StageStats, ...]
    won: int
    lost: int
    backward_moves: int
    skips: int
    stuck: tuple[StuckDeal, ...]

    def stage(self, key: str) -> StageStats:
        """The figures of one stage."""
        for stats in self.stages:
            if stats.stage == key:
                return stats
        raise DataError(
            "stage", key, f"one of {', '.join(s.stage for s in self.stages)}"
        )

    @property
    def funnel(self) -> tuple[tuple[str, int], ...]:
        """Deals that reached each open stage, then won: the funnel."""
        return (*((s.stage, s.deals) for s in self.stages), ("won", self.won))

    def to_rows(self) -> list[dict[str, Any]]:
        """One plain row per stage, for ``pandas.DataFrame(report.to_rows())``."""
        return [attrs.asdict(stats) for stats in self.stages]

    def _repr_html_(self) -> str:
        header = "".join(f"<th>{name}</th>" for name in attrs.fields_dict(StageStats))
        rows = "".join(
            "<tr>"
            + "".join(f"<td>{html.escape(str(v))}</td>" for v in attrs.astuple(s))
            + "</tr>"
            for s in self.stages
        )
        return f"<table><thead><tr>{header}</tr></thead><tbody>{rows}</tbody></table>"


def _nearest_rank(ordered: Sequence[int], share: Decimal) -> int:
    # ceil(share * n) in integers: exact, whatever the decimal context.
    numerator, denominator = share.as_integer_ratio()
    rank = -(-numerator * len(ordered) // denominator)
    return ordered[max(rank, 1) - 1]


def _ratio(numerator: int, denominator: int) -> Decimal | None:
    return None if denominator == 0 else divide(numerator, denominator)


_COUNT: Final = _v.non_negative_int()
_COUNTER: Final = _v.instance_of(Counter, "a Counter of stage keys")


@attrs.define
class StageAnalytics:
    """Mergeable accumulator of stage histories: ``add``, ``merge``, ``result``.

    Build the empty accumulator with [`of`][crmcore.stage_analytics.StageAnalytics.of].
    """

    pipeline: Pipeline = attrs.field(validator=_v.instance_of(Pipeline, "a Pipeline"))
    as_of: datetime = attrs.field(validator=_v.aware_instant())
    deals: int = attrs.field(default=0, validator=_COUNT)
    durations: dict[str, list[int]] = attrs.field(
        factory=dict, validator=_v.instance_of(dict, "a dict of stage durations")
    )
    visits: Counter[str] = attrs.field(factory=Counter, validator=_COUNTER)
    reached: Counter[str] = attrs.field(factory=Counter, validator=_COUNTER)
    beyond: Counter[str] = attrs.field(factory=Counter, validator=_COUNTER)
    advanced: Counter[str] = attrs.field(factory=Counter, validator=_COUNTER)
    current: Counter[str] = attrs.field(factory=Counter, validator=_COUNTER)
    won: int = attrs.field(default=0, validator=_COUNT)
    lost: int = attrs.field(default=0, validator=_COUNT)
    backward_moves: int = attrs.field(default=0, validator=_COUNT)
    skips: int = attrs.field(default=0, validator=_COUNT)
    stuck: list[StuckDeal] = attrs.field(
        factory=list, validator=_v.instance_of(list, "a list of StuckDeal")
    )
    calendar: BusinessCalendar | None = attrs.field(
        default=None,
        kw_only=True,
        validator=_v.optional(_v.instance_of(BusinessCalendar, "a BusinessCalendar")),
    )
    _positions: dict[str, int] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        opens = len(self.pipeline.open_stages)
        self._positions = {
            stage.key: self.pipeline.position(stage.key)
            if stage.kind == "open"
            else (opens if stage.kind == "won" else -1)
            for stage in self.pipeline.stages
        }

    @classmethod
    def of(
        cls,
        pipeline: Pipeline,
        *,
        as_of: datetime,
        calendar: BusinessCalendar | None = None,
    ) -> StageAnalytics:
        """The empty accumulator (the identity of ``merge``).

        With a ``calendar``, time in stage (and the stuck check against
        ``rotting_days``) is measured in business days of that calendar.
        """
        return cls(pipeline, as_of, calendar=calendar)

    def empty(self) -> StageAnalytics:
        """A new, empty accumulator of the same pipeline, ``as_of`` and calendar."""
        return StageAnalytics(self.pipeline, self.as_of, calendar=self.calendar)

    def _elapsed(self, start: datetime, end: datetime) -> int:
        """Microseconds from start to end: elapsed, or business time with a calendar."""
        if self.calendar is None:
            return (end - start) // MICROSECOND
        return self.calendar.business_time(start, end) // MICROSECOND

    def _position(self, stage: object) -> int:
        """Open stages 0..k-1 in order, won k, lost -1; unknown stages are an error."""
        position = self._positions.get(stage) if isinstance(stage, str) else None
        if position is None:
            self.pipeline.stage(stage)  # raises DataError naming the known stages
        return position  # type: ignore[return-value]

    def add(self, history: Iterable[Any]) -> None:
        """Count one record's stage history (its changes, in any order)."""
        as_of = self.as_of
        changes: list[tuple[datetime, int, int, str, object]] = []
        for change in iterate(history, "history"):
            at = _at(change)
            if not isinstance(at, datetime):
                raise DataTypeError("at", at, "a timezone-aware datetime")
            if at.tzinfo is None:
                raise NaiveDatetimeError("at", at)
            if at <= as_of:
                stage = _to_stage(change)
                position = self._position(stage)
                # Same-instant changes: creation first, then pipeline order, so
                # the result never depends on the order of the input.
                creation = 0 if _from_stage(change) is None else 1
                changes.append((at, creation, position, str(stage), _record_id(change)))
        if not changes:
            return
        changes.sort(key=lambda item: item[:3])
        self.deals += 1
        opens = len(self.pipeline.open_stages)
        first_entry: dict[str, int] = {}
        previous_at: datetime | None = None
        previous_stage = ""
        previous = 0
        for index, (at, _, position, stage, _) in enumerate(changes):
            self.visits[stage] += 1
            first_entry.setdefault(stage, index)
            if previous_at is not None:
                if 0 <= previous < opens:
                    self.durations.setdefault(previous_stage, []).append(
                        self._elapsed(previous_at, at)
                    )
                if 0 <= position < previous < opens:
                    self.backward_moves += 1
                elif previous >= 0 and position > previous + 1:
                    self.skips += 1
            previous_at, previous_stage, previous = at, stage, position
        furthest = max(change[2] for change in changes)
        for stage, index in first_entry.items():
            position = changes[index][2]
            if not 0 <= position < opens:
                continue
            self.reached[stage] += 1
            if furthest > position:
                self.beyond[stage] += 1
            if index + 1 < len(changes) and changes[index + 1][2] == position + 1:
                self.advanced[stage] += 1
        self._finish(changes[-1], opens)

    def _finish(self, last: tuple[datetime, int, int, str, object], opens: int) -> None:
        """Count where the record ended: won, lost, or in a stage (maybe stuck)."""
        last_at, _, last_position, last_stage, record_id = last
        as_of = self.as_of
        if last_position == opens:
            self.won += 1
        elif last_position < 0:
            self.lost += 1
        else:
            self.current[last_stage] += 1
            rotting = self.pipeline.stage(last_stage).rotting_days
            age = self._elapsed(last_at, as_of)
            if rotting is not None and age > rotting * 86_400_000_000:
                self.stuck.append(
                    StuckDeal(
                        record_id,
                        last_stage,
                        last_at,
                        days_from_microseconds(age),
                        rotting,
                    )
                )

    def update(self, histories: Iterable[Iterable[Any]]) -> StageAnalytics:
        """Count every history of an iterable (one per record); return ``self``."""
        for history in iterate(histories, "histories"):
            self.add(history)
        return self

    def merge(self, other: StageAnalytics) -> StageAnalytics:
        """A new accumulator holding both (same pipeline, ``as_of`` and calendar)."""
        mine = (self.pipeline, self.as_of, self.calendar)
        if (other.pipeline, other.as_of, other.calendar) != mine:
            raise DataError(
                "other",
                other,
                "StageAnalytics of the same pipeline, as_of and calendar",
            )
        durations = {k: list(v) for k, v in self.durations.items()}
        for key, values in other.durations.items():
            durations.setdefault(key, []).extend(values)
        return StageAnalytics(
            self.pipeline,
            self.as_of,
            self.deals + other.deals,
            durations,
            self.visits + other.visits,
            self.reached + other.reached,
            self.beyond + other.beyond,
            self.advanced + other.advanced,
            self.current + other.current,
            self.won + other.won,
            self.lost + other.lost,
            self.backward_moves + other.backward_moves,
            self.skips + other.skips,
            [*self.stuck, *other.stuck],
            calendar=self.calendar,
        )

    @exact_arithmetic()
    def result(self) -> StageReport:
        """The report (independent of the order histories were added in)."""
        stats = []
        for stage in self.pipeline.open_stages:
            key = stage.key
            ordered = sorted(self.durations.get(key, []))
            count = len(ordered)
            if count:
                # One division from exact integer microseconds per figure:
                # rounding is monotone, so median <= p90 always holds.
                mean: Decimal | None = days_from_microseconds(sum(ordered), count)
                middle = count // 2
                median: Decimal | None = (
                    days_from_microseconds(ordered[middle])
                    if count % 2
                    else days_from_microseconds(
                        ordered[middle - 1] + ordered[middle], 2
                    )
                )
                p90: Decimal | None = days_from_microseconds(
                    _nearest_rank(ordered, Decimal("0.9"))
                )
            else:
                mean = median = p90 = None
            stats.append(
                StageStats(
                    stage=key,
                    visits=self.visits[key],
                    deals=self.reached[key],
                    completed=count,
                    current=self.current[key],
                    mean_days=mean,
                    median_days=median,
                    p90_days=p90,
                    conversion=_ratio(self.beyond[key], self.reached[key]),
                    next_stage_conversion=_ratio(self.advanced[key], self.reached[key]),
                )
            )
        # Longest first, then by every other field: histories may repeat an
        # id, and the order must not depend on the order they came in.
        stuck = sorted(
            sorted(
                self.stuck,
                key=lambda s: (str(s.record_id), s.stage, s.entered_at, s.rotting_days),
            ),
            key=lambda s: s.days_in_stage,
            reverse=True,
        )
        return StageReport(
            as_of=self.as_of,
            deals=self.deals,
            stages=tuple(stats),
            won=self.won,
            lost=self.lost,
            backward_moves=self.backward_moves,
            skips=self.skips,
            stuck=tuple(stuck),
        )


def group_histories(changes: Iterable[Any]) -> Iterator[list[Any]]:
    """Group a stream of stage changes into one list per record, lazily.

    The stream must keep each record's changes together (as exports sorted by
    record do, and as crmcore's sample data does); a record whose changes
    reappear after another record's raises an error instead of being counted
    twice.

    Raises:
        DataError: When a record's changes are not contiguous.
    """
    seen: set[object] = set()
    group: list[Any] = []
    current: object = None
    for change in iterate(changes, "changes"):
        record_id = _record_id(change)
        if not isinstance(record_id, Hashable):
            raise DataTypeError("record_id", record_id, "a hashable record id")
        if group and record_id != current:
            seen.add(current)
            yield group
            group = []
        if not group:
            if record_id in seen:
                raise DataError(
                    "record_id",
                    record_id,
                    "all changes of one record next to each other (sort by record)",
                )
            current = record_id
        group.append(change)
    if group:
        yield group


def stage_analytics(
    pipeline: Pipeline,
    changes: Iterable[Any],
    *,
    as_of: datetime,
    calendar: BusinessCalendar | None = None,
) -> StageReport:
    """Stage analytics over a flat stream of stage changes, grouped by record.

    See the module docs for the definitions; see
    [`group_histories`][crmcore.stage_analytics.group_histories] for the order
    the stream must have.
    """
    return (
        StageAnalytics.of(pipeline, as_of=as_of, calendar=calendar)
        .update(group_histories(changes))
        .result()
    )
