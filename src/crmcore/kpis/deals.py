"""Sales KPIs over opportunities: win rate, deal size, sales cycle, pipeline.

All of them read the same few fields of any opportunity-like record (an
[`Opportunity`][crmcore.records.Opportunity], a dict row, a Django model):
``outcome``, ``created_at``, ``closed_at``, ``amount``, ``currency`` and, for
the forecast, ``stage`` and ``probability``; ``lost_reason`` for exclusions.

Conventions (see ../shared/domain/KPI-DEFINITIONS.md and the docs):

* closed-deal KPIs (win rate, deal size, cycle) count deals *closed* in the
  period, ``[start, end)`` of ``closed_at``; open deals never count;
* "open at an instant" means created at or before it and not closed by it;
* the forecast (weighted pipeline) uses the deals' current stages.
"""

from __future__ import annotations

import heapq
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from itertools import islice
from typing import Any, Final, Literal

from crmcore.calendar import MICROSECOND, days_from_microseconds
from crmcore.errors import DataError, DataTypeError
from crmcore.kpis._core import (
    EARLIEST,
    LATEST,
    GroupKey,
    Invalid,
    Kpi,
    KpiResult,
    Reader,
    Window,
    check_amount,
    check_aware,
    check_instant,
    check_window,
    divide,
    exact,
    grouped,
    one_currency,
    quotient,
    record_label,
    undefined,
)
from crmcore.money import Money, check_currency
from crmcore.pipelines import Pipeline
from crmcore.records import get_field
from crmcore.validators import check_one_of

__all__ = [
    "AverageDealSize",
    "OpenPipeline",
    "PipelineVelocity",
    "SalesCycle",
    "WeightedPipeline",
    "WinRate",
    "average_deal_size",
    "open_pipeline",
    "pipeline_velocity",
    "sales_cycle",
    "velocity_from",
    "weighted_pipeline",
    "win_rate",
]

_ZERO: Final = Decimal(0)
# Indexes of the per-currency sums (the hot loop keeps them in locals, in this
# order, and stores them as a list of seven).
_WON, _LOST, _EXCLUDED, _OPEN, _FORECAST, _WEIGHTED, _UNWEIGHTED = range(7)
_READER: Final = Reader(
    ("outcome", "created_at", "amount", "currency"),
    ("closed_at", "stage", "probability", "lost_reason"),
)
# The fields every deal needs; the others are read only where a figure uses them.
_REQUIRED: Final = Reader(
    ("outcome", "created_at", "amount", "currency"), ("closed_at",)
)
# Medians of more durations than this are found by merging sorted chunks, so
# the working memory stays small when streaming tens of millions of deals.
_CHUNK: Final = 1 << 18


def _optional(record: object, name: str) -> Any:
    """An optional field of a record without the attribute: ``None`` if absent."""
    return get_field(record, name, None)


def _switch(
    sums: dict[str, list[Decimal]], old: Any, new: Any, current: list[Decimal]
) -> list[Decimal]:
    """Store the current currency's sums and return those of the next one."""
    if old is not None:
        sums[old] = current
    found = sums.get(new)
    if found is None:
        check_currency(new)
        found = [_ZERO] * 7
    return found


def _reason(record: Any, mapping: bool) -> Any:
    """A deal's lost reason (``None`` if the record has none)."""
    if mapping:
        return record.get("lost_reason")
    try:
        return record.lost_reason
    except AttributeError:
        return _optional(record, "lost_reason")


class DealFacts:
    """The additive facts behind every deal KPI, gathered in one pass."""

    __slots__ = (
        "at",
        "categories",
        "closed",
        "cycles",
        "exclude",
        "forecast",
        "lost",
        "lost_cycles",
        "open_at",
        "reasons",
        "stages",
        "sums",
        "track_open",
        "unweighted",
        "weighted_deals",
        "window",
        "won",
    )

    def __init__(
        self,
        window: Window | None,
        at: datetime | None,
        exclude: frozenset[str],
        pipeline: Pipeline | None,
        *,
        cycles: bool,
        forecast: bool,
        track_open: bool,
        lost_cycles: bool = False,
        closed: Literal["all", "won", "none"] = "all",
    ) -> None:
        self.window = None if window is None else (window.start, window.end)
        # Which deals closed in the window a KPI reads: all (won and lost,
        # so the exclusions matter), only the won, or none (the pipelines
        # read open deals): what ``covers`` compares.
        self.closed = closed
        self.at = at
        self.exclude = exclude
        self.stages: dict[str, tuple[Decimal | None, str]] | None = (
            None
            if pipeline is None
            else {s.key: (s.win_probability, s.category) for s in pipeline.stages}
        )
        self.forecast = forecast
        self.track_open = track_open
        self.won = 0
        self.lost = 0
        self.reasons: Counter[str] = Counter()
        self.open_at = 0
        self.weighted_deals = 0
        self.unweighted = 0
        self.sums: dict[str, list[Decimal]] = {}
        self.categories: dict[tuple[str, str], Decimal] = {}
        self.cycles: array[int] | None = array("q") if cycles else None
        self.lost_cycles: array[int] | None = array("q") if lost_cycles else None

    # -- reading ---------------------------------------------------------
    def _check(self, row: tuple[Any, ...], record: object) -> None:
        """Raise the crmcore error that explains why ``row`` is not valid."""
        outcome, created, amount, currency, closed, stage, probability, _ = row
        if outcome not in ("open", "won", "lost"):
            raise DataError(
                f"outcome ({record_label(record)})", outcome, "'open', 'won' or 'lost'"
            )
        check_aware(created, "created_at", record)
        check_amount(amount, "amount", record)
        check_currency(currency, f"currency ({record_label(record)})")
        if outcome == "open":
            if closed is not None:
                raise DataError(
                    f"closed_at ({record_label(record)})",
                    closed,
                    "None while outcome is 'open'",
                )
        else:
            closed = check_aware(closed, "closed_at", record)
            # Only called when the fast path failed, so one check always fails.
            if closed < created:  # pragma: no branch
                raise DataError(
                    f"closed_at ({record_label(record)})",
                    closed,
                    "an instant at or after created_at",
                )
        if probability is not None:
            if isinstance(probability, bool) or not isinstance(
                probability, (Decimal, int)
            ):
                raise DataTypeError(
                    f"probability ({record_label(record)})",
                    probability,
                    "a Decimal between 0 and 1, or None",
                )
            if not 0 <= probability <= 1:
                raise DataError(
                    f"probability ({record_label(record)})",
                    probability,
                    "a probability between 0 and 1",
                )
        stages = self.stages if self.forecast and outcome == "open" else None
        # A forecast deal that failed the fast path and got here has an
        # unknown stage, so this test never falls through.
        if stages is not None and stage not in stages:  # pragma: no branch
            raise DataError(
                f"stage ({record_label(record)})",
                stage,
                f"a stage of the pipeline: {', '.join(stages)}",
            )

    def _weigh(
        self,
        record: Any,
        mapping: bool,
        value: Decimal,
    ) -> tuple[Decimal | None, str]:
        """A forecast deal's weighted value (None: unweighted) and category.

        Its own probability wins over its stage's default; raises for a
        probability outside [0, 1] or an unknown stage (the loop explains).
        """
        if mapping:
            probability = record.get("probability")
            stage = record.get("stage")
        else:
            try:
                probability = record.probability
                stage = record.stage
            except AttributeError:
                probability = _optional(record, "probability")
                stage = _optional(record, "stage")
        stages = self.stages
        if probability is not None:
            if type(probability) is not Decimal:
                probability = exact(probability)
            if not 0 <= probability <= 1:
                raise Invalid
            return value * probability, (
                "pipeline" if stages is None else stages[stage][1]
            )
        if stages is None:
            return None, "pipeline"
        default, category = stages[stage]
        return (None if default is None else value * default), category

    def update(self, records: Iterable[Any]) -> None:  # noqa: PLR0915 - one hot loop
        """Count records (the hot loop: one pass, no per-record allocation).

        Only the fields a record's figures need are read: ``stage`` and
        ``probability`` for deals in the forecast, ``lost_reason`` for lost
        deals when reasons are excluded. A naive datetime fails the first
        comparison with an aware one, so closed deals need no explicit check.
        """
        window = self.window
        # No window: every closed deal is in it (the sentinels compare with
        # any aware datetime). No ``at``: every open deal counts as open now.
        start, end = window if window is not None else (EARLIEST, LATEST)
        at = self.at
        open_at_any = at is None
        track_at = self.track_open and at is not None
        forecast_at = self.forecast and not open_at_any
        forecast_any = self.forecast and open_at_any
        exclude = self.exclude
        track_open = self.track_open
        cycles, lost_cycles = self.cycles, self.lost_cycles
        sums = self.sums
        categories = self.categories
        reasons = self.reasons
        won = lost = open_at = weighted_deals = unweighted = 0
        zero = _ZERO
        # The sums of the current currency live in locals, written back to
        # ``sums`` when the currency changes and at the end.
        currency_now: Any = None
        won_sum = lost_sum = excluded_sum = open_sum = zero
        forecast_sum = weighted_sum = unweighted_sum = zero
        us = MICROSECOND
        cls: type | None = None
        mapping = False
        slow = _REQUIRED.slow
        try:
            for record in records:
                # Fields are read inline (faster than any getter object); a
                # record missing a field goes through the explained slow path.
                if type(record) is not cls:
                    cls = type(record)
                    mapping = issubclass(cls, Mapping)
                try:
                    if mapping:
                        outcome = record["outcome"]
                        created = record["created_at"]
                        amount = record["amount"]
                        currency = record["currency"]
                        closed = record.get("closed_at")
                    else:
                        outcome = record.outcome
                        created = record.created_at
                        amount = record.amount
                        currency = record.currency
                        closed = record.closed_at
                except (AttributeError, KeyError, TypeError):
                    outcome, created, amount, currency, closed = slow(record)
                try:
                    # Exact, finite, non-negative amounts only (-0 is 0).
                    value = amount if type(amount) is Decimal else exact(amount)
                    if (value.is_signed() and value) or not value.is_finite():
                        raise Invalid
                    # Everything that can fail happens before any counting.
                    if outcome == "lost" or outcome == "won":  # noqa: PLR1714 - faster
                        # Raises TypeError for a naive datetime or a non-datetime.
                        if closed < created:
                            raise Invalid
                        in_window = start <= closed < end
                        is_open = track_at and created <= at < closed
                        if not (in_window or is_open):
                            continue
                        counted = False
                    else:
                        if outcome != "open" or closed is not None:
                            raise Invalid
                        if created.tzinfo is None:  # no comparison may catch it
                            raise Invalid
                        in_window = False
                        is_open = track_open and (open_at_any or created <= at)
                        counted = forecast_any or (forecast_at and created <= at)
                        if not (is_open or counted):
                            continue
                        if counted:
                            weight, category = self._weigh(record, mapping, value)
                    if currency != currency_now:
                        (
                            won_sum,
                            lost_sum,
                            excluded_sum,
                            open_sum,
                            forecast_sum,
                            weighted_sum,
                            unweighted_sum,
                        ) = _switch(
                            sums,
                            currency_now,
                            currency,
                            [
                                won_sum,
                                lost_sum,
                                excluded_sum,
                                open_sum,
                                forecast_sum,
                                weighted_sum,
                                unweighted_sum,
                            ],
                        )
                        currency_now = currency
                    if in_window:
                        if outcome == "won":
                            won += 1
                            won_sum += value
                            if cycles is not None:
                                cycles.append((closed - created) // us)
                        elif (
                            exclude and (reason := _reason(record, mapping)) in exclude
                        ):
                            reasons[reason] += 1
                            excluded_sum += value
                        else:
                            lost += 1
                            lost_sum += value
                            if lost_cycles is not None:
                                lost_cycles.append((closed - created) // us)
                    if is_open:
                        open_at += 1
                        open_sum += value
                    if counted:
                        forecast_sum += value
                        if weight is None:
                            unweighted += 1
                            unweighted_sum += value
                        else:
                            weighted_deals += 1
                            weighted_sum += weight
                            key = (currency, category)
                            categories[key] = categories.get(key, zero) + weight
                except Exception as error:
                    self._check(_READER.read(record), record)
                    raise error from None  # pragma: no cover - _check raises first
        finally:
            if currency_now is not None:
                sums[currency_now] = [
                    won_sum,
                    lost_sum,
                    excluded_sum,
                    open_sum,
                    forecast_sum,
                    weighted_sum,
                    unweighted_sum,
                ]
            self.won += won
            self.lost += lost
            self.open_at += open_at
            self.weighted_deals += weighted_deals
            self.unweighted += unweighted

    # -- merging ---------------------------------------------------------
    def covers(self, other: DealFacts) -> bool:
        """Whether these facts hold everything ``other`` would.

        Closed deals need the same window and exclusions; open deals and the
        forecast the same instant (and stages); and every optional fact
        ``other`` tracks (cycles, lost cycles, forecast, open deals) must be
        tracked here too.
        """
        if other.closed != "none" and self.window != other.window:
            return False
        if other.closed == "all" and self.exclude != other.exclude:
            return False
        if (other.track_open or other.forecast) and self.at != other.at:
            return False
        if other.forecast and not (self.forecast and self.stages == other.stages):
            return False
        return (
            (self.track_open or not other.track_open)
            and (self.cycles is not None or other.cycles is None)
            and (self.lost_cycles is not None or other.lost_cycles is None)
        )

    def cleared(self) -> DealFacts:
        """An empty copy with the same options."""
        fresh = DealFacts.__new__(DealFacts)
        fresh.window, fresh.at, fresh.exclude = self.window, self.at, self.exclude
        fresh.stages, fresh.forecast = self.stages, self.forecast
        fresh.track_open, fresh.closed = self.track_open, self.closed
        fresh.won = fresh.lost = fresh.open_at = 0
        fresh.weighted_deals = fresh.unweighted = 0
        fresh.reasons = Counter()
        fresh.sums = {}
        fresh.categories = {}
        fresh.cycles = None if self.cycles is None else array("q")
        fresh.lost_cycles = None if self.lost_cycles is None else array("q")
        return fresh

    def merged(self, other: DealFacts) -> DealFacts:
        """A new facts object holding both."""
        merged = self.cleared()
        for part in (self, other):
            merged.won += part.won
            merged.lost += part.lost
            merged.open_at += part.open_at
            merged.weighted_deals += part.weighted_deals
            merged.unweighted += part.unweighted
            merged.reasons.update(part.reasons)
            for currency, vec in part.sums.items():
                mine = merged.sums.setdefault(currency, [_ZERO] * 7)
                merged.sums[currency] = [a + b for a, b in zip(mine, vec, strict=True)]
            for key, amount in part.categories.items():
                merged.categories[key] = merged.categories.get(key, _ZERO) + amount
            if merged.cycles is not None:
                merged.cycles.extend(part.cycles)  # type: ignore[arg-type]
            if merged.lost_cycles is not None:
                merged.lost_cycles.extend(part.lost_cycles)  # type: ignore[arg-type]
        return merged

    # -- figures ---------------------------------------------------------
    def total(self, index: int, field: str) -> tuple[str | None, Decimal]:
        """The single currency of the deals counted and the exact sum of a figure."""
        currency = one_currency(self.sums, field)
        if currency is None:
            return None, _ZERO
        return currency, self.sums[currency][index]


def cycle_stats(
    values: array[int], chunk: int = _CHUNK
) -> tuple[Decimal, Decimal, Decimal]:
    """Mean, median and nearest-rank p90 in days of microsecond durations."""
    count = len(values)
    p90_rank = -(-count * 9 // 10)  # ceil(0.9 n), 1-based
    lower = (count - 1) // 2  # 0-based positions of the median pair
    upper = count // 2
    wanted = {lower, upper, p90_rank - 1}
    if count <= chunk:
        ordered = sorted(values)
        found = {position: ordered[position] for position in wanted}
    else:
        # Sort at most ``chunk`` at a time and merge the sorted runs lazily.
        runs = [
            array("q", sorted(values[i : i + chunk])) for i in range(0, count, chunk)
        ]
        found = {
            position: value
            for position, value in enumerate(
                islice(heapq.merge(*runs), max(wanted) + 1)
            )
            if position in wanted
        }
    mean = days_from_microseconds(divide(sum(values), count))
    median = days_from_microseconds(Decimal(found[lower] + found[upper]) / 2)
    return mean, median, days_from_microseconds(found[p90_rank - 1])


# ---------------------------------------------------------------------------
# The KPIs
# ---------------------------------------------------------------------------
def _exclusions(value: object) -> frozenset[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise DataTypeError("exclude_reasons", value, "a collection of lost reasons")
    reasons = frozenset(value)
    for reason in reasons:
        if not isinstance(reason, str):
            raise DataTypeError("exclude_reasons", reason, "a lost reason (a string)")
    return reasons


def _pipeline(value: object) -> Pipeline | None:
    if value is None or isinstance(value, Pipeline):
        return value
    raise DataTypeError("pipeline", value, "a Pipeline or None")


class _DealKpi(Kpi):
    anchors: tuple[str, ...] = ("closed_at",)
    _facts: DealFacts

    def _build(
        self,
        options: dict[str, Any],
        *,
        cycles: bool = False,
        lost_cycles: bool = False,
        forecast: bool = False,
        track_open: bool = False,
        at: datetime | None = None,
        closed: Literal["all", "won", "none"] = "all",
    ) -> None:
        period = check_window(options.get("period"))
        exclude = _exclusions(options.get("exclude_reasons", ()))
        options["exclude_reasons"] = exclude
        facts = DealFacts(
            period,
            at,
            exclude,
            _pipeline(options.get("pipeline")),
            cycles=cycles,
            forecast=forecast,
            track_open=track_open,
            lost_cycles=lost_cycles,
            closed=closed,
        )
        self._setup(options, facts)

    def _details(self) -> dict[str, Any]:
        return {"period": self.period}


class WinRate(_DealKpi):
    """Won / (won + lost) over deals closed in the period.

    Args:
        period: Count deals closed in this window (``None``: all closed deals).
        by: ``"count"`` (default) or ``"value"`` (won amount / closed amount).
        exclude_reasons: Lost reasons that leave the denominator (e.g.
            ``{"disqualified"}``); excluded deals are reported as components.
        where: Only records satisfying this condition or segment.

    Undefined when nothing closed (or everything closed was excluded), and by
    value when the closed deals are worth 0.

    Examples:
        >>> from datetime import datetime, timezone
        >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
        >>> closed = [("won", 300), ("lost", 100), ("lost", 200)]
        >>> deals = [dict(outcome=o, created_at=t, closed_at=t, amount=a,
        ...               currency="EUR") for o, a in closed]
        >>> rate = WinRate().update(deals).result()
        >>> rate.numerator, rate.denominator, str(rate)
        (1, 3, 'win_rate: 33.33 %')
        >>> str(WinRate(by="value").update(deals).result().value)
        '0.5'
    """

    name = "win_rate"

    def __init__(
        self,
        period: Window | None = None,
        *,
        by: Literal["count", "value"] = "count",
        exclude_reasons: Iterable[str] = (),
        where: Any = None,
    ) -> None:
        check_one_of(by, "by", ("count", "value"))
        self._build(
            {
                "period": period,
                "by": by,
                "exclude_reasons": exclude_reasons,
                "where": where,
            }
        )

    def result(self) -> KpiResult:
        """The win rate, with won, lost and excluded deals as components."""
        facts = self._facts
        won, lost = facts.won, facts.lost
        excluded = sum(facts.reasons.values())
        reason = "no deals closed in the period"
        if excluded:
            reason += f" (besides {excluded} excluded by lost reason)"
        components: dict[str, Any] = {
            "won": won,
            "lost": lost,
            "excluded": excluded,
            "by": self._options["by"],
        }
        if self._options["by"] == "count":
            return quotient(
                self.name,
                won,
                won + lost,
                reason=reason,
                components=components,
                **self._details(),
            )
        currency, won_value = facts.total(_WON, "amount")
        _, lost_value = facts.total(_LOST, "amount")
        if won + lost and not won_value + lost_value:
            reason = "the deals closed in the period have a total value of 0"
        return quotient(
            self.name,
            won_value,
            won_value + lost_value,
            reason=reason,
            currency=currency,
            components=components,
            **self._details(),
        )


class AverageDealSize(_DealKpi):
    """Mean amount of the deals won in the period (the "deal size").

    Examples:
        >>> from datetime import datetime, timezone
        >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
        >>> deals = [dict(outcome="won", created_at=t, closed_at=t, amount=a,
        ...               currency="EUR") for a in (100, 250)]
        >>> AverageDealSize().update(deals).result().value
        Money('175', 'EUR')
    """

    name = "average_deal_size"

    def __init__(self, period: Window | None = None, *, where: Any = None) -> None:
        self._build({"period": period, "where": where}, closed="won")

    def result(self) -> KpiResult:
        """Won value / won deals; undefined when nothing was won."""
        facts = self._facts
        currency, total = facts.total(_WON, "amount")
        if not facts.won or currency is None:
            return undefined(
                self.name,
                "money",
                "no deals won in the period",
                numerator=total,
                denominator=0,
                **self._details(),
            )
        return KpiResult(
            self.name,
            Money(divide(total, facts.won), currency),
            "money",
            numerator=Money(total, currency),
            denominator=facts.won,
            **self._details(),
        )


class SalesCycle(_DealKpi):
    """Days from ``created_at`` to ``closed_at`` of deals closed in the period.

    The value is the mean; ``median_days`` and ``p90_days`` (nearest rank) are
    components. Days are fractional, exact from the timedelta.

    Args:
        period: Deals closed in this window (``None``: all closed deals).
        basis: ``"won"`` (default) or ``"closed"`` (won and lost; deals with
            an excluded lost reason stay out).
        exclude_reasons: Lost reasons left out of the ``"closed"`` basis.
        where: Only records satisfying this condition or segment.

    Examples:
        >>> from datetime import datetime, timedelta, timezone
        >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
        >>> deals = [dict(outcome="won", created_at=t, closed_at=t + timedelta(days=d),
        ...               amount=1, currency="EUR") for d in (10, 20, 60)]
        >>> cycle = SalesCycle().update(deals).result()
        >>> cycle.value, cycle.components["median_days"], cycle.components["p90_days"]
        (Decimal('30'), Decimal('20'), Decimal('60'))
    """

    name = "sales_cycle"

    def __init__(
        self,
        period: Window | None = None,
        *,
        basis: Literal["won", "closed"] = "won",
        exclude_reasons: Iterable[str] = (),
        where: Any = None,
    ) -> None:
        check_one_of(basis, "basis", ("won", "closed"))
        self._build(
            {
                "period": period,
                "basis": basis,
                "exclude_reasons": exclude_reasons,
                "where": where,
            },
            cycles=True,
            lost_cycles=basis == "closed",
        )

    def result(self) -> KpiResult:
        """Mean days, with median, p90 and the number of deals."""
        facts = self._facts
        values: array[int] = facts.cycles  # type: ignore[assignment]
        if self._options["basis"] == "closed":
            values = values + facts.lost_cycles  # type: ignore[operator]
        components: dict[str, Any] = {
            "deals": len(values),
            "basis": self._options["basis"],
        }
        if not values:
            return undefined(
                self.name,
                "days",
                "no deals closed in the period"
                if self._options["basis"] == "closed"
                else "no deals won in the period",
                components={**components, "median_days": None, "p90_days": None},
                **self._details(),
            )
        mean, median, p90 = cycle_stats(values)
        return KpiResult(
            self.name,
            mean,
            "days",
            numerator=days_from_microseconds(sum(values)),
            denominator=len(values),
            components={**components, "median_days": median, "p90_days": p90},
            **self._details(),
        )


class OpenPipeline(_DealKpi):
    """The deals open at an instant: their total value, with the count.

    Args:
        as_of: The instant (``None``: deals whose outcome is ``open`` now).
        where: Only records satisfying this condition or segment.
    """

    name = "open_pipeline"
    anchors = ()

    def __init__(self, *, as_of: datetime | None = None, where: Any = None) -> None:
        at = check_instant(as_of, "as_of")
        self._build(
            {"as_of": at, "where": where}, at=at, track_open=True, closed="none"
        )

    def result(self) -> KpiResult:
        """Open value as Money; ``deals`` is the count."""
        facts = self._facts
        currency, total = facts.total(_OPEN, "amount")
        details = {
            "components": {"deals": facts.open_at},
            "as_of": self._options["as_of"],
        }
        if currency is None:
            return undefined(self.name, "money", "no deals at all", **details)
        return KpiResult(self.name, Money(total, currency), "money", **details)


class WeightedPipeline(_DealKpi):
    """Σ amount × probability over open deals: the forecast.

    The probability is the deal's own ``probability`` when set, else its
    stage's [`win_probability`][crmcore.pipelines.StageDefinition.win_probability].
    Deals with neither are *unweighted*: they stay out of the value and are
    reported in ``unweighted_deals`` and ``unweighted_value``.
    ``by_category`` splits the value by the stages' forecast categories.

    Args:
        pipeline: Stage probabilities and forecast categories.
        as_of: Leave out deals created after this instant.
        where: Only records satisfying this condition or segment.
    """

    name = "weighted_pipeline"
    anchors = ()

    def __init__(
        self,
        pipeline: Pipeline | None = None,
        *,
        as_of: datetime | None = None,
        where: Any = None,
    ) -> None:
        check_instant(as_of, "as_of")
        self._build(
            {"pipeline": pipeline, "as_of": as_of, "where": where},
            forecast=True,
            at=as_of,
            closed="none",
        )

    def result(self) -> KpiResult:
        """Weighted value, the open value and the split by forecast category."""
        facts = self._facts
        currency, weighted = facts.total(_WEIGHTED, "amount")
        details: dict[str, Any] = {"as_of": self._options["as_of"]}
        if currency is None:
            return undefined(
                self.name,
                "money",
                "no open deals",
                components={"deals": 0, "unweighted_deals": 0},
                **details,
            )
        vec = facts.sums[currency]
        by_category = {
            category: Money(amount, currency)
            for (cur, category), amount in sorted(facts.categories.items())
            if cur == currency
        }
        return KpiResult(
            self.name,
            Money(weighted, currency),
            "money",
            components={
                "deals": facts.weighted_deals + facts.unweighted,
                "open_value": Money(vec[_FORECAST], currency),
                "unweighted_deals": facts.unweighted,
                "unweighted_value": Money(vec[_UNWEIGHTED], currency),
                "by_category": by_category,
            },
            **details,
        )


def velocity_from(
    open_deals: KpiResult | int,
    deal_size: KpiResult,
    win_rate: KpiResult,
    cycle: KpiResult,
) -> KpiResult:
    """Pipeline velocity from its parts: open × deal size × win rate / cycle days.

    Args:
        open_deals: The number of open deals, or an
            [`OpenPipeline`][crmcore.kpis.OpenPipeline] result.
        deal_size: An [`AverageDealSize`][crmcore.kpis.AverageDealSize] result.
        win_rate: A [`WinRate`][crmcore.kpis.WinRate] result (by count).
        cycle: A [`SalesCycle`][crmcore.kpis.SalesCycle] result.

    Returns:
        Money per day; undefined when a part is undefined or the cycle is 0.

    Examples:
        >>> from crmcore.money import Money
        >>> size = KpiResult("average_deal_size", Money(10_000, "EUR"), "money")
        >>> rate = KpiResult("win_rate", Decimal("0.25"), "ratio")
        >>> cycle = KpiResult("sales_cycle", Decimal(50), "days")
        >>> velocity_from(40, size, rate, cycle).value
        Money('2000.00', 'EUR')
    """
    count = (
        open_deals if isinstance(open_deals, int) else open_deals.components["deals"]
    )
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise DataTypeError(
            "open_deals", open_deals, "a count or an OpenPipeline result"
        )
    parts = {"deal_size": deal_size, "win_rate": win_rate, "cycle": cycle}
    for name, part in parts.items():
        if not isinstance(part, KpiResult):
            raise DataTypeError(name, part, "a KpiResult")
    components: dict[str, Any] = {
        "open_deals": count,
        "deal_size": deal_size.value,
        "win_rate": win_rate.value,
        "cycle_days": cycle.value,
    }
    period = win_rate.period
    for name, part in parts.items():
        if part.value is None:
            return undefined(
                "pipeline_velocity",
                "money_per_day",
                f"{name} is undefined: {part.reason}",
                components=components,
                period=period,
            )
    size, rate, cycle_days = deal_size.value, win_rate.value, cycle.value
    if not isinstance(size, Money):
        raise DataTypeError("deal_size", deal_size.value, "a Money value")
    if not isinstance(rate, Decimal) or not isinstance(cycle_days, Decimal):
        raise DataTypeError("win_rate", rate, "a ratio and a cycle in days")
    if cycle_days == 0:
        return undefined(
            "pipeline_velocity",
            "money_per_day",
            "the average sales cycle is 0 days",
            components=components,
            period=period,
        )
    value = divide(size.amount * count * rate, cycle_days)
    return KpiResult(
        "pipeline_velocity",
        Money(value, size.currency),
        "money_per_day",
        components=components,
        period=period,
    )


class PipelineVelocity(_DealKpi):
    """Money per day the pipeline produces, built from its parts in one pass.

    open deals (at ``as_of``, default the end of the period) × average won
    deal size × win rate (by count) / average sales cycle (won deals, days).
    See [`velocity_from`][crmcore.kpis.velocity_from].
    """

    name = "pipeline_velocity"
    anchors = ()

    def __init__(
        self,
        period: Window | None = None,
        *,
        as_of: datetime | None = None,
        exclude_reasons: Iterable[str] = (),
        where: Any = None,
    ) -> None:
        at = check_instant(as_of, "as_of")
        window = check_window(period)
        if at is None and window is not None:
            at = window.end
        self._build(
            {
                "period": period,
                "as_of": as_of,
                "exclude_reasons": exclude_reasons,
                "where": where,
            },
            cycles=True,
            track_open=True,
            at=at,
        )

    def parts(self) -> dict[str, KpiResult]:
        """The four results velocity is built from."""
        return _deal_results(self._facts, self._options)

    def result(self) -> KpiResult:
        """The velocity; its parts are components."""
        parts = self.parts()
        return velocity_from(
            parts["open_pipeline"],
            parts["average_deal_size"],
            parts["win_rate"],
            parts["sales_cycle"],
        )


def _deal_results(facts: DealFacts, options: Mapping[str, Any]) -> dict[str, KpiResult]:
    """Every deal KPI from one set of facts (used by the report and velocity)."""
    period = options.get("period")
    exclude = options.get("exclude_reasons", frozenset())
    results: dict[str, KpiResult] = {}
    for kpi in (
        WinRate(period, exclude_reasons=exclude),
        WinRate(period, by="value", exclude_reasons=exclude),
        AverageDealSize(period),
        SalesCycle(period, exclude_reasons=exclude),
    ):
        key = kpi.name if kpi.options.get("by") != "value" else "win_rate_by_value"
        results[key] = kpi.result_from(facts)
    open_kpi = OpenPipeline(as_of=options.get("as_of") or _end(period))
    results["open_pipeline"] = open_kpi.result_from(facts)
    return results


def _end(period: Window | None) -> datetime | None:
    return None if period is None else period.end


# ---------------------------------------------------------------------------
# One-call functions
# ---------------------------------------------------------------------------
def _run(kpi: Kpi, records: Iterable[Any], per: GroupKey | None) -> Any:
    if per is None:
        return kpi.update(records).result()
    return grouped(kpi, records, per)


def win_rate(
    deals: Iterable[Any],
    period: Window | None = None,
    *,
    by: Literal["count", "value"] = "count",
    exclude_reasons: Iterable[str] = (),
    where: Any = None,
    per: GroupKey | None = None,
) -> Any:
    """[`WinRate`][crmcore.kpis.WinRate] over any iterable of deals.

    Returns a [`KpiResult`][crmcore.kpis.KpiResult], or a
    [`GroupedResult`][crmcore.kpis.GroupedResult] with ``per``.
    """
    return _run(
        WinRate(period, by=by, exclude_reasons=exclude_reasons, where=where), deals, per
    )


def average_deal_size(
    deals: Iterable[Any],
    period: Window | None = None,
    *,
    where: Any = None,
    per: GroupKey | None = None,
) -> Any:
    """[`AverageDealSize`][crmcore.kpis.AverageDealSize] over any iterable of deals."""
    return _run(AverageDealSize(period, where=where), deals, per)


def sales_cycle(
    deals: Iterable[Any],
    period: Window | None = None,
    *,
    basis: Literal["won", "closed"] = "won",
    exclude_reasons: Iterable[str] = (),
    where: Any = None,
    per: GroupKey | None = None,
) -> Any:
    """[`SalesCycle`][crmcore.kpis.SalesCycle] over any iterable of deals."""
    return _run(
        SalesCycle(period, basis=basis, exclude_reasons=exclude_reasons, where=where),
        deals,
        per,
    )


def open_pipeline(
    deals: Iterable[Any],
    *,
    as_of: datetime | None = None,
    where: Any = None,
    per: GroupKey | None = None,
) -> Any:
    """[`OpenPipeline`][crmcore.kpis.OpenPipeline] over any iterable of deals."""
    return _run(OpenPipeline(as_of=as_of, where=where), deals, per)


def weighted_pipeline(
    deals: Iterable[Any],
    pipeline: Pipeline | None = None,
    *,
    as_of: datetime | None = None,
    where: Any = None,
    per: GroupKey | None = None,
) -> Any:
    """[`WeightedPipeline`][crmcore.kpis.WeightedPipeline] over any deals."""
    return _run(WeightedPipeline(pipeline, as_of=as_of, where=where), deals, per)


def pipeline_velocity(
    deals: Iterable[Any],
    period: Window | None = None,
    *,
    as_of: datetime | None = None,
    exclude_reasons: Iterable[str] = (),
    where: Any = None,
    per: GroupKey | None = None,
) -> Any:
    """[`PipelineVelocity`][crmcore.kpis.PipelineVelocity] over any deals."""
    return _run(
        PipelineVelocity(
            period, as_of=as_of, exclude_reasons=exclude_reasons, where=where
        ),
        deals,
        per,
    )
