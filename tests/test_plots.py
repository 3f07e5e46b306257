"""Charts: each draws what its result says, on a new figure or given axes."""

import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from crmcore.calendar import Interval, period_of
from crmcore.errors import DataError, DataTypeError, MissingExtraError
from crmcore.kpis import (
    Goal,
    by_period,
    cohort_retention,
    mrr_movements,
    win_rate,
)
from crmcore.money import Money
from crmcore.records import Subscription
from crmcore.sample import generate_sample, sample_pipeline
from crmcore.stage_analytics import stage_analytics

matplotlib = pytest.importorskip("matplotlib")
plots = pytest.importorskip("crmcore.plots")


@pytest.fixture(scope="module")
def data():
    return generate_sample(1_500, seed=3)


def day(month, d, year=2026):
    return datetime(year, month, d, tzinfo=UTC)


def test_mrr_bridge_is_a_waterfall_worked_by_hand():
    # The revenue guide's example: start 380, +40 new, +60 reactivation,
    # +50 expansion, -80 contraction, -80 churn, end 370.
    subs = [
        Subscription("a", Money(100, "EUR"), day(1, 1, 2025)),
        Subscription("a", Money(50, "EUR"), day(2, 1)),
        Subscription("b", Money(200, "EUR"), day(6, 1, 2025), end=day(3, 1)),
        Subscription("b", Money(120, "EUR"), day(3, 1)),
        Subscription("c", Money(80, "EUR"), day(9, 1, 2025), end=day(2, 15)),
        Subscription("d", Money(60, "EUR"), day(1, 1, 2025), end=day(6, 1, 2025)),
        Subscription("d", Money(60, "EUR"), day(3, 10)),
        Subscription("e", Money(40, "EUR"), day(1, 20)),
    ]
    figure = plots.mrr_bridge(mrr_movements(subs, period_of(day(1, 1), "quarter")))
    ax = figure.axes[0]
    bars = [(round(p.get_y()), round(p.get_height())) for p in ax.patches]
    assert bars == [(0, 380), (380, 40), (420, 60), (480, 50), (450, 80), (370, 80),
                    (0, 370)]  # fmt: skip
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["Start", "New", "Reactivation", "Expansion", "Contraction",
                      "Churn", "End"]  # fmt: skip
    assert ax.get_title() == "MRR bridge 2026-Q1: net new MRR -10 EUR"
    spring = Interval(day(3, 1), day(4, 1))
    title = plots.mrr_bridge(mrr_movements(subs, spring)).axes[0].get_title()
    assert title.startswith("MRR bridge 2026-03-01 to 2026-04-01: net new MRR")
    with pytest.raises(
        DataTypeError, match="result: expected the result of MrrMovements"
    ):
        plots.mrr_bridge(win_rate([]))


def test_funnel_counts_every_stage_and_won(data):
    report = stage_analytics(sample_pipeline(), data.stage_changes, as_of=data.as_of)
    figure = plots.funnel(report)
    ax = figure.axes[0]
    widths = [p.get_width() for p in ax.patches]
    assert widths == [s.deals for s in report.stages] + [report.won]
    names = {
        tick: t.get_text()
        for tick, t in zip(ax.get_yticks(), ax.get_yticklabels(), strict=True)
    }
    assert names[max(names)] == "prospecting" and names[min(names)] == "won"
    assert str(data.as_of.date()) in ax.get_title()
    with pytest.raises(DataTypeError, match="report: expected a StageReport"):
        plots.funnel([1, 2])


def test_cohort_heatmap_shows_the_matrix_with_gaps(data):
    table = cohort_retention(
        data.subscriptions, start=data.start, as_of=data.as_of, unit="quarter"
    )
    figure = plots.cohort_heatmap(table)
    ax = figure.axes[0]
    image = ax.get_images()[0].get_array()
    matrix = table.matrix()
    for y, row in enumerate(matrix):
        for x, cell in enumerate(row):
            assert image.mask[y, x] if cell is None else image[y, x] == float(cell)
    shown = [t.get_text() for t in ax.texts]
    assert len(shown) == sum(c is not None for row in matrix for c in row)
    assert "Logo retention by cohort" in ax.get_title()
    revenue = plots.cohort_heatmap(table, basis="revenue")
    assert "Revenue retention" in revenue.axes[0].get_title()
    with pytest.raises(DataError, match="basis: expected 'logo' or 'revenue'"):
        plots.cohort_heatmap(table, basis="value")
    with pytest.raises(DataTypeError, match="table: expected a CohortTable"):
        plots.cohort_heatmap({})


def test_kpi_trend_has_a_gap_for_undefined_periods_and_a_goal_line(data):
    monthly = win_rate(data.opportunities, per=by_period("month"))
    goal = Goal(
        "win_rate",
        baseline=Decimal("0.25"),
        target=Decimal("0.35"),
        start=data.start,
        deadline=data.as_of,
    )
    figure = plots.kpi_trend(monthly, goal=goal)
    ax = figure.axes[0]
    line, progress, target = ax.get_lines()[:3]
    periods = [k for k in monthly if k is not None]
    assert len(line.get_xdata()) == len(periods)
    expected = [float(monthly[k].value) * 100 for k in periods]
    assert list(line.get_ydata()) == pytest.approx(expected)
    assert list(target.get_ydata()) == [35.0, 35.0]
    assert list(progress.get_ydata()) == [25.0, 35.0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[0] == "Win rate" and "records without a date are not shown" in legend
    assert ax.get_ylabel() == "Win rate (%)"
    # An undefined period is a gap (NaN), never a zero.
    month = period_of(day(1, 1), "month")
    gap = plots.kpi_trend([(month, win_rate([], period=month))], goal=Decimal("0.3"))
    assert [str(v) for v in gap.axes[0].get_lines()[0].get_ydata()] == ["nan"]
    with pytest.raises(DataTypeError, match="a Period key"):
        plots.kpi_trend({"ana": win_rate([])})
    with pytest.raises(DataTypeError, match="KPI results by period"):
        plots.kpi_trend({month: 3})
    with pytest.raises(DataTypeError, match="goal: expected a number or a Goal"):
        plots.kpi_trend(monthly, goal="high")
    assert plots.kpi_trend({}).axes[0].get_title() == "KPI: no periods"


def test_charts_draw_on_given_axes(data):
    from matplotlib.figure import Figure

    figure = Figure()
    left, right = figure.subplots(1, 2)
    report = stage_analytics(sample_pipeline(), data.stage_changes, as_of=data.as_of)
    assert plots.funnel(report, ax=left) is figure
    table = cohort_retention(data.subscriptions, start=data.start, as_of=data.as_of)
    assert plots.cohort_heatmap(table, ax=right) is figure
    with pytest.raises(DataTypeError, match="ax: expected matplotlib Axes"):
        plots.funnel(report, ax="left")


def test_plots_need_the_extra_and_never_load_pyplot(monkeypatch):
    code = (
        "import sys, crmcore, crmcore.plots, crmcore.frames; "
        "assert 'matplotlib' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(MissingExtraError, match=r"crmcore\[plots\]"):
        plots.kpi_trend({})
