"""Charts of crmcore results: funnel, cohort heatmap, MRR bridge, KPI trend.

Install the extra: ``pip install "crmcore[plots]"`` (matplotlib). Only this
module imports matplotlib, when a chart is drawn; ``import crmcore`` never
does. Each function draws one result on a new figure (or on the ``ax`` you
give) and returns the matplotlib ``Figure``: save it, show it in a notebook
or place it in a dashboard. The figures are built with matplotlib's
object-oriented API, so drawing never touches pyplot's global state.

Every chart shows what the result says and nothing else: labels are the
KPIs' human labels ([`KPI_LABELS`][crmcore.kpis.KPI_LABELS]), undefined
values are gaps (never zeros), and each title states the window.

Examples:
    >>> from crmcore.kpis import mrr_movements
    >>> from crmcore.sample import generate_sample
    >>> from crmcore.calendar import period_of
    >>> data = generate_sample(500)
    >>> year = period_of(data.start, "year")
    >>> figure = mrr_bridge(mrr_movements(data.subscriptions, year))
    >>> [text.get_text() for text in figure.axes[0].get_xticklabels()][:3]
    ['Start', 'New', 'Reactivation']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, Final, Literal

from crmcore.calendar import Interval, Period
from crmcore.errors import DataError, DataTypeError, import_extra
from crmcore.kpis import GroupedResult, KpiResult, kpi_label
from crmcore.money import Money

__all__ = ["cohort_heatmap", "funnel", "kpi_trend", "mrr_bridge"]

_EXTRA: Final = "plots"
_GAIN: Final = "#2e7d32"
_LOSS: Final = "#c62828"
_TOTAL: Final = "#37474f"
_LINE: Final = "#1565c0"
_BRIDGE: Final = (
    ("new", "New", 1),
    ("reactivation", "Reactivation", 1),
    ("expansion", "Expansion", 1),
    ("contraction", "Contraction", -1),
    ("churn", "Churn", -1),
)


def _axes(ax: Any, size: tuple[float, float]) -> tuple[Any, Any]:
    """The figure and axes to draw on: ``ax``'s, or a new figure's."""
    if ax is not None:
        figure = getattr(ax, "figure", None)
        if figure is None or not hasattr(ax, "bar"):
            raise DataTypeError("ax", ax, "matplotlib Axes (or None for a new figure)")
        return figure, ax
    Figure = import_extra("matplotlib.figure", _EXTRA).Figure  # noqa: N806 - a class
    figure = Figure(figsize=size, layout="constrained")
    return figure, figure.add_subplot()


def _number(value: object) -> float | None:
    """A plotted number: Money by its amount; undefined as None (a gap)."""
    if isinstance(value, Money):
        value = value.amount
    if value is None:
        return None
    return float(value)  # type: ignore[arg-type] # results hold Decimals


def _window(period: Period | Interval) -> str:
    if isinstance(period, Period):
        return period.label
    return f"{period.start.date()} to {period.end.date()}"


def funnel(report: Any, *, ax: Any = None) -> Any:
    """The funnel of a stage report: deals that reached each stage, and won.

    Each bar is labelled with its count and its share of the deals that
    reached the first stage; won is the last bar, in green.

    Args:
        report: A [`StageReport`][crmcore.stage_analytics.StageReport]
            (from [`stage_analytics`][crmcore.stage_analytics.stage_analytics]).
        ax: Axes to draw on; default a new figure.

    Raises:
        DataTypeError: For something that is not a stage report.
    """
    stages = getattr(report, "stages", None)
    won = getattr(report, "won", None)
    if stages is None or type(won) is not int:
        raise DataTypeError("report", report, "a StageReport (stage_analytics)")
    names = [stage.stage for stage in stages] + ["won"]
    counts = [stage.deals for stage in stages] + [won]
    figure, axes = _axes(ax, (7.0, 0.6 * len(names) + 1.5))
    positions = list(range(len(names)))[::-1]
    axes.barh(positions, counts, color=[_LINE] * len(stages) + [_GAIN])
    axes.set_yticks(positions, names)
    first = counts[0] or 1
    for position, count in zip(positions, counts, strict=True):
        axes.annotate(
            f"{count:,} ({count / first:.0%})",
            (count, position),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
        )
    axes.set_xlabel("deals")
    axes.set_xlim(0, max(counts, default=0) * 1.25 or 1)
    axes.set_title(
        f"Funnel: deals that reached each stage (as of {report.as_of.date()})"
    )
    return figure


def cohort_heatmap(
    table: Any,
    *,
    basis: Literal["logo", "revenue"] = "logo",
    ax: Any = None,
) -> Any:
    """Retention by cohort and age as a heatmap, each cell labelled.

    Args:
        table: A [`CohortTable`][crmcore.kpis.CohortTable].
        basis: ``"logo"`` (customers) or ``"revenue"`` (MRR, may exceed 100 %).
        ax: Axes to draw on; default a new figure.

    Raises:
        DataTypeError: For something that is not a cohort table.
        DataError: For another basis.
    """
    matrix = getattr(table, "matrix", None)
    rows = getattr(table, "rows", None)
    if matrix is None or rows is None:
        raise DataTypeError("table", table, "a CohortTable (cohort_retention)")
    if basis not in ("logo", "revenue"):
        raise DataError("basis", basis, "'logo' or 'revenue'")
    values = [[_number(cell) for cell in row] for row in matrix(basis)]
    cells = [[float("nan") if v is None else v for v in row] for row in values]
    figure, axes = _axes(ax, (1.0 + 0.7 * max(table.ages, 1), 1.0 + 0.45 * len(rows)))
    top = max((v for row in values for v in row if v is not None), default=1.0)
    image = axes.imshow(
        cells or [[float("nan")]],
        cmap="Blues",
        vmin=0,
        vmax=max(1.0, top),
        aspect="auto",
    )
    for y, row in enumerate(values):
        for x, value in enumerate(row):
            if value is not None:
                axes.text(
                    x,
                    y,
                    f"{value:.0%}",
                    ha="center",
                    va="center",
                    color="white" if value > 0.6 * max(1.0, top) else "black",
                    fontsize=8,
                )
    axes.set_yticks(
        range(len(rows)), [f"{r.cohort.label} ({r.customers:,})" for r in rows]
    )
    axes.set_xticks(range(table.ages))
    unit = getattr(table.unit, "kind", str(table.unit)).replace("_", " ")
    axes.set_xlabel(f"{unit}s since the first payment")
    what = "Logo" if basis == "logo" else "Revenue"
    axes.set_title(f"{what} retention by cohort (as of {table.as_of.date()})")
    figure.colorbar(image, ax=axes, format=_percent_format())
    return figure


def _percent_format() -> Any:
    ticker = import_extra("matplotlib.ticker", _EXTRA)
    return ticker.PercentFormatter(1.0)


def mrr_bridge(result: KpiResult, *, ax: Any = None) -> Any:
    """The MRR bridge of a period as a waterfall: start, each movement, end.

    Gains rise in green from the running total, losses fall in red; the
    start and end bars are totals. The title names the net new MRR.

    Args:
        result: The result of [`MrrMovements`][crmcore.kpis.MrrMovements]
            (``mrr_movements(...)``, the report's ``net_new_mrr``).
        ax: Axes to draw on; default a new figure.

    Raises:
        DataTypeError: For another result.
    """
    if not isinstance(result, KpiResult) or result.kpi != "net_new_mrr":
        raise DataTypeError("result", result, "the result of MrrMovements")
    parts = result.components
    start = _number(parts.get("start_mrr")) or 0.0
    end = _number(parts.get("end_mrr")) or 0.0
    labels = ["Start"]
    bottoms = [0.0]
    heights = [start]
    colours = [_TOTAL]
    running = start
    for key, label, sign in _BRIDGE:
        amount = (_number(parts.get(key)) or 0.0) * sign
        labels.append(label)
        bottoms.append(running if amount >= 0 else running + amount)
        heights.append(abs(amount))
        colours.append(_GAIN if amount >= 0 else _LOSS)
        running += amount
    labels.append("End")
    bottoms.append(0.0)
    heights.append(end)
    colours.append(_TOTAL)
    figure, axes = _axes(ax, (8.0, 4.0))
    axes.bar(labels, heights, bottom=bottoms, color=colours)
    currency = result.currency or ""
    for x, (bottom, height) in enumerate(zip(bottoms, heights, strict=True)):
        axes.annotate(
            f"{height:,.0f}",
            (x, bottom + height),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            fontsize=8,
        )
    ticker = import_extra("matplotlib.ticker", _EXTRA)
    axes.yaxis.set_major_formatter(ticker.StrMethodFormatter("{x:,.0f}"))
    axes.set_ylabel(f"MRR ({currency})" if currency else "MRR")
    net = _number(result.value) or 0.0
    window = _window(result.period)  # type: ignore[arg-type] # a bridge has one
    axes.set_title(f"MRR bridge {window}: net new MRR {net:+,.0f} {currency}".strip())
    return figure


def kpi_trend(
    results: GroupedResult | Mapping[Any, KpiResult] | Iterable[tuple[Any, KpiResult]],
    *,
    goal: Any = None,
    ax: Any = None,
) -> Any:
    """A KPI per period as a line, with its goal as a dashed line.

    Undefined periods are gaps; the group ``None`` (records without a date)
    is left out of a time axis and said in the legend. Ratios are shown in
    percent.

    Args:
        results: A KPI by period: a grouped result (``per=by_period(...)``),
            a mapping or ``(period, result)`` pairs.
        goal: A number, or a [`Goal`][crmcore.kpis.Goal] (its target, and
            the straight line from baseline to target between its dates).
        ax: Axes to draw on; default a new figure.

    Raises:
        DataTypeError: For results that are not KPI results by period.
    """
    pairs = list(
        results.items() if isinstance(results, GroupedResult | Mapping) else results
    )
    periods = []
    values = []
    left_out = 0
    name = None
    unit = None
    for key, result in pairs:
        if not isinstance(result, KpiResult):
            raise DataTypeError("results", result, "KPI results by period")
        if key is None:
            left_out += 1
            continue
        if not isinstance(key, Period):
            raise DataTypeError("results", key, "a Period key (per=by_period(...))")
        name, unit = result.kpi, result.unit
        periods.append(key)
        values.append(_number(result.value))
    figure, axes = _axes(ax, (8.0, 4.0))
    scale = 100.0 if unit == "ratio" else 1.0
    xs = [p.start for p in periods]
    ys = [float("nan") if v is None else v * scale for v in values]
    label = kpi_label(name).label if name else "KPI"
    axes.plot(xs, ys, marker="o", color=_LINE, label=label)
    if goal is not None:
        target = getattr(goal, "target", goal)
        baseline = getattr(goal, "baseline", None)
        if isinstance(target, bool) or not isinstance(target, Decimal | int | float):
            raise DataTypeError("goal", goal, "a number or a Goal")
        level = float(target)
        if baseline is not None:
            axes.plot(
                [goal.start, goal.deadline],
                [float(baseline) * scale, level * scale],
                linestyle=":",
                color=_GAIN,
                label="expected progress",
            )
        axes.axhline(level * scale, linestyle="--", color=_GAIN, label="goal")
    if left_out:
        axes.plot([], [], " ", label="records without a date are not shown")
    axes.set_ylabel(f"{label} (%)" if unit == "ratio" else label)
    if periods:
        axes.set_title(f"{label}, {periods[0].label} to {periods[-1].label}")
    else:
        axes.set_title(f"{label}: no periods")
    axes.legend(loc="best", fontsize=8)
    figure.autofmt_xdate()
    return figure
