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

from array import array
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from crmcore.calendar import days_from_microseconds
from crmcore.errors import DataTypeError
from crmcore.kpis._core import (
    GroupKey,
    Kpi,
    KpiResult,
    Where,
    Window,
    check_instant,
    check_window,
    quotient,
    run_kpi,
    undefined,
)
from crmcore.kpis._deal_facts import (
    _FORECAST,
    _LOST,
    _OPEN,
    _UNWEIGHTED,
    _WEIGHTED,
    _WON,
    DealFacts,
    cycle_stats,
)
from crmcore.money import Money, divide, exact_arithmetic
from crmcore.pipelines import Pipeline
from crmcore.validators import check_one_of, names

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


# ---------------------------------------------------------------------------
# The KPIs
# ---------------------------------------------------------------------------
def _exclusions(value: object) -> frozenset[str]:
    return frozenset(
        names(
            value,
            "exclude_reasons",
            plural="a collection of lost reasons",
            item="a lost reason (a string)",
        )
    )


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
        if "exclude_reasons" in options:  # only the KPIs that take the option
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
        measure: ``"count"`` (default) or ``"value"`` (won amount / closed
            amount).
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
        >>> str(WinRate(measure="value").update(deals).result().value)
        '0.5'
    """

    name = "win_rate"

    def __init__(
        self,
        period: Window | None = None,
        *,
        measure: Literal["count", "value"] = "count",
        exclude_reasons: Iterable[str] = (),
        where: Where | None = None,
    ) -> None:
        check_one_of(measure, "measure", ("count", "value"))
        self._build(
            {
                "period": period,
                "measure": measure,
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
            "measure": self._options["measure"],
        }
        if self._options["measure"] == "count":
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

    def __init__(
        self, period: Window | None = None, *, where: Where | None = None
    ) -> None:
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
        where: Where | None = None,
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
        ordered = facts.ordered
        if self._options["basis"] == "closed":
            ordered = ordered and not (values and facts.lost_cycles)
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
        mean, median, p90 = cycle_stats(values, ordered=ordered)
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

    def __init__(
        self, *, as_of: datetime | None = None, where: Where | None = None
    ) -> None:
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
        where: Where | None = None,
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
        components = {
            "deals": facts.weighted_deals + facts.unweighted,
            "open_value": Money(vec[_FORECAST], currency),
            "unweighted_deals": facts.unweighted,
            "unweighted_value": Money(vec[_UNWEIGHTED], currency),
            "by_category": by_category,
        }
        if not facts.weighted_deals:
            # Open deals, but not one with a probability: no forecast, not 0.
            return undefined(
                self.name,
                "money",
                "no open deal has a win probability (its own, or its stage's "
                "in the pipeline)",
                components=components,
                **details,
            )
        return KpiResult(
            self.name,
            Money(weighted, currency),
            "money",
            components=components,
            **details,
        )


@exact_arithmetic()
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
        open_deals.components.get("deals")
        if isinstance(open_deals, KpiResult)
        else open_deals
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
        where: Where | None = None,
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
        WinRate(period, measure="value", exclude_reasons=exclude),
        AverageDealSize(period),
        SalesCycle(period, exclude_reasons=exclude),
    ):
        key = kpi.name if kpi.options.get("measure") != "value" else "win_rate_by_value"
        results[key] = kpi.result_from(facts)
    open_kpi = OpenPipeline(as_of=options.get("as_of") or _end(period))
    results["open_pipeline"] = open_kpi.result_from(facts)
    return results


def _end(period: Window | None) -> datetime | None:
    return None if period is None else period.end


# ---------------------------------------------------------------------------
# One-call functions
# ---------------------------------------------------------------------------
def win_rate(
    deals: Iterable[Any],
    period: Window | None = None,
    *,
    measure: Literal["count", "value"] = "count",
    exclude_reasons: Iterable[str] = (),
    where: Where | None = None,
    per: GroupKey | None = None,
) -> Any:
    """[`WinRate`][crmcore.kpis.WinRate] over any iterable of deals.

    Returns a [`KpiResult`][crmcore.kpis.KpiResult], or a
    [`GroupedResult`][crmcore.kpis.GroupedResult] with ``per``.
    """
    return run_kpi(
        WinRate(period, measure=measure, exclude_reasons=exclude_reasons, where=where),
        deals,
        per,
    )


def average_deal_size(
    deals: Iterable[Any],
    period: Window | None = None,
    *,
    where: Where | None = None,
    per: GroupKey | None = None,
) -> Any:
    """[`AverageDealSize`][crmcore.kpis.AverageDealSize] over any iterable of deals."""
    return run_kpi(AverageDealSize(period, where=where), deals, per)


def sales_cycle(
    deals: Iterable[Any],
    period: Window | None = None,
    *,
    basis: Literal["won", "closed"] = "won",
    exclude_reasons: Iterable[str] = (),
    where: Where | None = None,
    per: GroupKey | None = None,
) -> Any:
    """[`SalesCycle`][crmcore.kpis.SalesCycle] over any iterable of deals."""
    return run_kpi(
        SalesCycle(period, basis=basis, exclude_reasons=exclude_reasons, where=where),
        deals,
        per,
    )


def open_pipeline(
    deals: Iterable[Any],
    *,
    as_of: datetime | None = None,
    where: Where | None = None,
    per: GroupKey | None = None,
) -> Any:
    """[`OpenPipeline`][crmcore.kpis.OpenPipeline] over any iterable of deals."""
    return run_kpi(OpenPipeline(as_of=as_of, where=where), deals, per)


def weighted_pipeline(
    deals: Iterable[Any],
    pipeline: Pipeline | None = None,
    *,
    as_of: datetime | None = None,
    where: Where | None = None,
    per: GroupKey | None = None,
) -> Any:
    """[`WeightedPipeline`][crmcore.kpis.WeightedPipeline] over any deals."""
    return run_kpi(WeightedPipeline(pipeline, as_of=as_of, where=where), deals, per)


def pipeline_velocity(
    deals: Iterable[Any],
    period: Window | None = None,
    *,
    as_of: datetime | None = None,
    exclude_reasons: Iterable[str] = (),
    where: Where | None = None,
    per: GroupKey | None = None,
) -> Any:
    """[`PipelineVelocity`][crmcore.kpis.PipelineVelocity] over any deals."""
    return run_kpi(
        PipelineVelocity(
            period, as_of=as_of, exclude_reasons=exclude_reasons, where=where
        ),
        deals,
        per,
    )
