"""The KPI report: every headline KPI of a period from one pass per data set.

[`kpi_report`][crmcore.kpis.kpi_report] takes deals, leads, subscriptions and
marketing spend (any of them; each is read once) and returns a frozen
[`KpiReport`][crmcore.kpis.KpiReport] of [`KpiResult`][crmcore.kpis.KpiResult]
values in four sections: sales, leads, revenue and unit economics. The
accumulator behind it, [`HeadlineKpis`][crmcore.kpis.HeadlineKpis], merges
like every KPI, so a report over partitions is exactly the single-pass report.

The report window is the period, cut at ``as_of`` when ``as_of`` falls inside
it (a period-to-date report). Snapshot figures (open and weighted pipeline,
MRR, ARPA) are taken at the end of that window; NRR and GRR look back
``retention_months`` from it; LTV uses the ARPA there and the logo churn of
the month before it.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final, Literal, Self

import attrs

from crmcore.access import Columns, iterate
from crmcore.calendar import Interval, add_calendar
from crmcore.errors import DataError, DataTypeError
from crmcore.kpis._core import (
    KpiResult,
    Window,
    _plain,
    check_instant,
    check_window,
    fraction,
    html_table,
    kpi_label,
)
from crmcore.kpis._deal_facts import DealFacts
from crmcore.kpis.deals import (
    WeightedPipeline,
    _deal_results,
    _exclusions,
    _pipeline,
    velocity_from,
)
from crmcore.kpis.economics import (
    MarketingSpend,
    SpendFacts,
    acquisition_cost,
    cac_payback,
    lifetime_value,
    ltv_to_cac,
)
from crmcore.kpis.leads import LeadConversion, LeadFacts, _window_arg
from crmcore.kpis.revenue import (
    Arpa,
    CustomerFacts,
    CustomerRetention,
    GrossRevenueRetention,
    LogoChurn,
    Mrr,
    MrrMovements,
    NetRevenueRetention,
    NewCustomers,
    QuickRatio,
    RevenueChurn,
)
from crmcore.money import Money, exact_arithmetic
from crmcore.pipelines import Pipeline
from crmcore.records import FrozenMap
from crmcore.validators import names

__all__ = ["REPORT_KPIS", "HeadlineKpis", "KpiReport", "kpi_report"]

_TITLES: Final = {
    "sales": "Sales",
    "leads": "Leads",
    "revenue": "Recurring revenue",
    "economics": "Unit economics",
}
_KINDS: Final = ("deals", "leads", "subscriptions", "spend")

REPORT_KPIS: Final[Mapping[str, tuple[str, ...]]] = FrozenMap(
    sales=(
        "win_rate",
        "win_rate_by_value",
        "average_deal_size",
        "sales_cycle",
        "open_pipeline",
        "weighted_pipeline",
        "pipeline_velocity",
    ),
    leads=("lead_conversion", "lead_conversion_period"),
    revenue=(
        "mrr",
        "arpa",
        "net_new_mrr",
        "quick_ratio",
        "new_customers",
        "customer_retention",
        "logo_churn",
        "monthly_logo_churn",
        "gross_revenue_churn",
        "net_revenue_churn",
        "net_revenue_retention",
        "gross_revenue_retention",
    ),
    economics=(
        "marketing_spend",
        "cac",
        "paid_cac",
        "cac_payback",
        "ltv",
        "ltv_to_cac",
    ),
)
"""The keys of [`kpi_report`][crmcore.kpis.kpi_report]'s results, by section:
every KPI a playbook's goals and reviews can name."""


def _shown(result: KpiResult) -> str:
    """A result's value as a person reads it."""
    value = result.value
    if value is None:
        return f"undefined ({result.reason})"
    if isinstance(value, Money):
        suffix = "/day" if result.unit == "money_per_day" else ""
        return f"{value.rounded().amount:,} {value.currency}{suffix}"
    if result.unit == "ratio":
        return f"{value * 100:.1f} %"
    if result.unit == "days":
        return f"{value:.1f} days"
    if result.unit == "months":
        return f"{value:.1f} months"
    if result.unit == "multiple":
        return f"{value:.2f}x"
    return f"{value:,}"


def _detail(result: KpiResult) -> str:
    """Numerator and denominator, when the result has both."""
    numerator, denominator = result.numerator, result.denominator
    if numerator is None or denominator is None or result.unit == "days":
        return ""
    parts = []
    for part in (numerator, denominator):
        if isinstance(part, Money):
            parts.append(f"{part.rounded().amount:,} {part.currency}")
        else:
            parts.append(f"{part:,}")
    return " / ".join(parts)


def _paid(values: object) -> tuple[str, ...]:
    return names(
        values, "paid_channels", plural="a collection of channels", item="a channel"
    )


@attrs.frozen
class KpiReport:
    """The headline KPIs of a period, by section; made by
    [`kpi_report`][crmcore.kpis.kpi_report].

    Attributes:
        period: The period asked for.
        as_of: The instant the report describes (default: the period's end).
        window: The window the figures cover: the period, cut at ``as_of``.
        sections: Section name to the KPI keys in it, in display order.
        results: Every result by key.
    """  # noqa: D205

    period: Window
    as_of: datetime
    window: Window
    sections: Mapping[str, tuple[str, ...]]
    results: Mapping[str, KpiResult]

    def __getitem__(self, key: str) -> KpiResult:
        """One result by key, e.g. ``report["win_rate"]``."""
        found: KpiResult | None = self.results.get(key)
        if found is None:
            raise DataError(
                "key", key, f"a KPI in the report: {', '.join(self.results)}"
            )
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def __contains__(self, key: object) -> bool:
        return key in self.results

    def to_rows(self) -> list[dict[str, Any]]:
        """One plain row per KPI with its section: ``pandas.DataFrame(rows)``."""
        return [
            {
                "section": section,
                "key": key,
                "label": kpi_label(key).label,
                "definition": kpi_label(key).definition,
                **self.results[key].to_dict(),
            }
            for section, keys in self.sections.items()
            for key in keys
        ]

    def to_dict(self) -> dict[str, Any]:
        """Key to plain value (``None`` when undefined), in display order."""
        return {key: _plain(result.value) for key, result in self.results.items()}

    def lines(self) -> list[str]:
        """The report as aligned text lines, one section after another."""
        lines: list[str] = []
        for section, keys in self.sections.items():
            rows = [(kpi_label(key).label, self[key]) for key in keys]
            width = max(len(label) for label, _ in rows)
            shown = max((len(_shown(r)) for _, r in rows if r.defined), default=0)
            lines += ["", _TITLES[section]]
            for name, r in rows:
                head = f"  {name.ljust(width)}  "
                lines.append(
                    f"{head}{_shown(r).rjust(shown)}  {_detail(r)}".rstrip()
                    if r.defined
                    else f"{head}{_shown(r)}"
                )
        return lines[1:]

    def __str__(self) -> str:
        head = f"KPI report {_plain(self.window)} (as of {self.as_of.isoformat()})"
        return "\n".join([head, *self.lines()])

    def _repr_html_(self) -> str:
        return html_table(
            ["section", "kpi", "value", "numerator / denominator", "definition"],
            (
                (
                    _TITLES[section],
                    kpi_label(key).label,
                    _shown(self[key]),
                    _detail(self[key]),
                    kpi_label(key).definition,
                )
                for section, keys in self.sections.items()
                for key in keys
            ),
        )


def _positive_months(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise DataError(field, value, "a positive number of months")
    return value


class HeadlineKpis:
    """The accumulator behind [`kpi_report`][crmcore.kpis.kpi_report].

    Feed it with ``update(deals=..., leads=..., subscriptions=...,
    spend=...)`` as often as you like; ``merge`` and ``empty`` work as for
    every KPI, so partitions (by time, by shard) merge to exactly the
    single-pass report. A section appears once its data set has been fed,
    even with no records (its figures are then undefined, with the reason).

    Args:
        period: The report's period (a Period or an Interval).
        as_of: The instant the report describes; inside the period it cuts
            the window (period to date). Default: the period's end.
        pipeline: Stage probabilities and forecast categories for the
            weighted pipeline.
        exclude_reasons: Lost reasons left out of win rate and cycle.
        lead_window: Count a lead's conversion only within this time of its
            creation (cohort conversion); ``None``: any time up to ``as_of``.
        retention_months: The trailing window of NRR and GRR (default 12).
        channels: Acquisition channel per customer id (for paid CAC).
        paid_channels: The channels that count as paid (for paid CAC).
        margin: Gross margin as a fraction, for CAC payback and LTV.
        max_lifetime_months: Cap LTV's expected lifetime (makes zero churn
            defined).
    """

    def __init__(
        self,
        period: Window,
        *,
        as_of: datetime | None = None,
        pipeline: Pipeline | None = None,
        exclude_reasons: Iterable[str] = (),
        lead_window: timedelta | None = None,
        retention_months: int = 12,
        channels: Mapping[Any, str] | None = None,
        paid_channels: Collection[str] | None = None,
        margin: Decimal | int = 1,
        max_lifetime_months: int | None = None,
    ) -> None:
        window = check_window(period)
        if window is None:
            raise DataError("period", period, "a Period or an Interval (the window)")
        at = check_instant(as_of, "as_of") or window.end
        if at <= window.start:
            raise DataError("as_of", as_of, f"an instant after {window.start}")
        cut: Window = window if at >= window.end else Interval(window.start, at)
        if channels is not None and not isinstance(channels, Mapping):
            raise DataTypeError(
                "channels", channels, "a mapping of customer id to channel"
            )
        if paid_channels is not None and channels is None:
            raise DataError(
                "paid_channels", paid_channels, "channels= as well, to know who is paid"
            )
        months = _positive_months(retention_months, "retention_months")
        if max_lifetime_months is not None:
            _positive_months(max_lifetime_months, "max_lifetime_months")
        self._options: dict[str, Any] = {
            "period": period,
            "as_of": at,
            "window": cut,
            "pipeline": _pipeline(pipeline),
            "exclude_reasons": _exclusions(exclude_reasons),
            "lead_window": _window_arg(lead_window),
            "retention_months": months,
            "channels": channels,
            "paid_channels": None
            if paid_channels is None
            else frozenset(_paid(paid_channels)),
            "margin": fraction(margin, "margin"),
            "max_lifetime_months": max_lifetime_months,
        }
        end = cut.end
        self._instants = (
            cut.start,
            end,
            add_calendar(end, months=-1),
            add_calendar(end, months=-months),
        )
        self._deals = DealFacts(
            cut,
            end,
            self._options["exclude_reasons"],
            self._options["pipeline"],
            cycles=True,
            forecast=True,
            track_open=True,
        )
        self._leads = LeadFacts(
            (cut.start, cut.end), self._options["lead_window"], at, "converted_at"
        )
        self._customers = CustomerFacts(self._instants)
        self._spend = SpendFacts((cut.start, cut.end))
        self._fed: frozenset[str] = frozenset()

    @property
    def options(self) -> Mapping[str, Any]:
        """The options this report was built with (``window`` included)."""
        return FrozenMap(self._options)

    @exact_arithmetic()
    def update(
        self,
        *,
        deals: Iterable[Any] | None = None,
        leads: Iterable[Any] | None = None,
        subscriptions: Iterable[Any] | None = None,
        spend: Iterable[Any] | None = None,
    ) -> Self:
        """Count records of any of the four kinds; return ``self``.

        Each may be any iterable of records or a
        [`Columns`][crmcore.records.Columns] batch.
        """
        fed = set(self._fed)
        for kind, records, facts in (
            ("deals", deals, self._deals),
            ("leads", leads, self._leads),
            ("subscriptions", subscriptions, self._customers),
            ("spend", spend, self._spend),
        ):
            if records is not None:
                columnar = getattr(facts, "update_columns", None)
                if type(records) is Columns and columnar is not None:
                    columnar(records)
                else:
                    facts.update(iterate(records, kind))
                fed.add(kind)
        self._fed = frozenset(fed)
        return self

    def merge(self, other: Self) -> Self:
        """A new report accumulator holding both; neither input changes.

        Raises:
            DataError: When ``other`` is not a HeadlineKpis with the same options.
        """
        if not isinstance(other, HeadlineKpis) or other._options != self._options:
            raise DataError(
                "other", other, "a HeadlineKpis accumulator with the same options"
            )
        merged = copy.copy(self)
        merged._deals = self._deals.merged(other._deals)
        merged._leads = self._leads.merged(other._leads)
        merged._customers = self._customers.merged(other._customers)
        merged._spend = self._spend.merged(other._spend)
        merged._fed = self._fed | other._fed
        return merged

    def empty(self) -> Self:
        """A new, empty report accumulator with the same options."""
        fresh = copy.copy(self)
        fresh._deals = self._deals.cleared()
        fresh._leads = self._leads.cleared()
        fresh._customers = self._customers.cleared()
        fresh._spend = self._spend.cleared()
        fresh._fed = frozenset()
        return fresh

    # -- results ---------------------------------------------------------
    def _sales(self) -> dict[str, KpiResult]:
        o = self._options
        cut = o["window"]
        options = {"period": cut, "exclude_reasons": o["exclude_reasons"]}
        results = _deal_results(self._deals, options)
        forecast = WeightedPipeline(o["pipeline"], as_of=cut.end)
        results["weighted_pipeline"] = forecast.result_from(self._deals)
        results["pipeline_velocity"] = velocity_from(
            results["open_pipeline"],
            results["average_deal_size"],
            results["win_rate"],
            results["sales_cycle"],
        )
        return results

    def _lead_results(self) -> dict[str, KpiResult]:
        o = self._options
        results = {}
        methods: tuple[tuple[str, Literal["cohort", "period"]], ...] = (
            ("lead_conversion", "cohort"),
            ("lead_conversion_period", "period"),
        )
        for key, method in methods:
            kpi = LeadConversion(
                o["window"], method=method, window=o["lead_window"], as_of=o["as_of"]
            )
            results[key] = kpi.result_from(self._leads)
        return results

    def _revenue(self) -> dict[str, KpiResult]:
        cut = self._options["window"]
        end = cut.end
        kpis = {
            "mrr": Mrr(as_of=end),
            "arpa": Arpa(as_of=end),
            "net_new_mrr": MrrMovements(cut),
            "quick_ratio": QuickRatio(cut),
            "new_customers": NewCustomers(cut, channels=self._options["channels"]),
            "customer_retention": CustomerRetention(cut),
            "logo_churn": LogoChurn(cut),
            "monthly_logo_churn": LogoChurn(Interval(self._instants[2], end)),
            "gross_revenue_churn": RevenueChurn(cut),
            "net_revenue_churn": RevenueChurn(cut, kind="net"),
            "net_revenue_retention": NetRevenueRetention(
                as_of=end, months=self._options["retention_months"]
            ),
            "gross_revenue_retention": GrossRevenueRetention(
                as_of=end, months=self._options["retention_months"]
            ),
        }
        return {key: kpi.result_from(self._customers) for key, kpi in kpis.items()}

    def _economics(self, revenue: Mapping[str, KpiResult]) -> dict[str, KpiResult]:
        o = self._options
        spend = MarketingSpend(o["window"])
        results = {"marketing_spend": spend.result_from(self._spend)}
        new = revenue["new_customers"]
        results["cac"] = acquisition_cost(results["marketing_spend"], new)
        if o["paid_channels"] is not None:
            results["paid_cac"] = acquisition_cost(
                results["marketing_spend"], new, paid_channels=o["paid_channels"]
            )
        results["cac_payback"] = cac_payback(
            results["cac"], revenue["arpa"], margin=o["margin"]
        )
        results["ltv"] = lifetime_value(
            revenue["arpa"],
            revenue["monthly_logo_churn"],
            margin=o["margin"],
            max_months=o["max_lifetime_months"],
        )
        results["ltv_to_cac"] = ltv_to_cac(results["ltv"], results["cac"])
        return results

    @exact_arithmetic()
    def result(self) -> KpiReport:
        """The report over everything counted so far."""
        fed = self._fed
        sections: dict[str, tuple[str, ...]] = {}
        results: dict[str, KpiResult] = {}

        def put(section: str, found: dict[str, KpiResult]) -> None:
            sections[section] = tuple(found)
            results.update(found)

        if "deals" in fed:
            put("sales", self._sales())
        if "leads" in fed:
            put("leads", self._lead_results())
        if "subscriptions" in fed:
            revenue = self._revenue()
            put("revenue", revenue)
            if "spend" in fed:
                put("economics", self._economics(revenue))
        o = self._options
        return KpiReport(
            o["period"],
            o["as_of"],
            o["window"],
            FrozenMap(sections),
            FrozenMap(results),
        )

    def __repr__(self) -> str:
        fed = ", ".join(k for k in _KINDS if k in self._fed) or "nothing yet"
        return f"HeadlineKpis({_plain(self._options['window'])}, fed: {fed})"


def kpi_report(
    period: Window,
    *,
    deals: Iterable[Any] | None = None,
    leads: Iterable[Any] | None = None,
    subscriptions: Iterable[Any] | None = None,
    spend: Iterable[Any] | None = None,
    as_of: datetime | None = None,
    pipeline: Pipeline | None = None,
    exclude_reasons: Iterable[str] = (),
    lead_window: timedelta | None = None,
    retention_months: int = 12,
    channels: Mapping[Any, str] | None = None,
    paid_channels: Collection[str] | None = None,
    margin: Decimal | int = 1,
    max_lifetime_months: int | None = None,
) -> KpiReport:
    """The headline KPIs of a period, each data set read once.

    Give any of ``deals``, ``leads``, ``subscriptions`` and ``spend`` (any
    iterables, generators included); the report has a section for each
    (unit economics needs subscriptions and spend). The options are those
    of [`HeadlineKpis`][crmcore.kpis.HeadlineKpis].

    Examples:
        >>> from crmcore.calendar import period_of
        >>> from crmcore.sample import generate_sample, sample_pipeline
        >>> data = generate_sample(400)
        >>> year = period_of(data.as_of - timedelta(days=1), "year")
        >>> report = kpi_report(year, deals=data.opportunities,
        ...                     pipeline=sample_pipeline())
        >>> list(report.sections)
        ['sales']
        >>> report["win_rate"].denominator == sum(
        ...     d.outcome != "open" and year.contains(d.closed_at)
        ...     for d in data.opportunities)
        True
    """
    return (
        HeadlineKpis(
            period,
            as_of=as_of,
            pipeline=pipeline,
            exclude_reasons=exclude_reasons,
            lead_window=lead_window,
            retention_months=retention_months,
            channels=channels,
            paid_channels=paid_channels,
            margin=margin,
            max_lifetime_months=max_lifetime_months,
        )
        .update(deals=deals, leads=leads, subscriptions=subscriptions, spend=spend)
        .result()
    )
