# %% [markdown]
# # Which numbers prove the strategy works? KPIs on the sample CRM
#
# A notebook-style walk through crmcore's KPI catalogue. Run it as a script
# (`python examples/kpi_notebook.py`) or open it as a notebook (jupytext):
# every `# %%` is a cell. In a notebook, a cell ending in a result, a
# grouped result, a cohort table or the report shows an HTML table.

# %%
from __future__ import annotations

import sys
import tempfile
from decimal import Decimal
from pathlib import Path

from crmcore import Interval, add_calendar
from crmcore.errors import MissingExtraError
from crmcore.kpis import (
    Goal,
    by_period,
    cohort_retention,
    goal_status,
    kpi_report,
    win_rate,
    wrong_direction,
)
from crmcore.sample import PAID_CHANNELS, generate_sample, sample_pipeline
from crmcore.stage_analytics import stage_analytics

data = generate_sample(20_000, seed=7)
last_year = Interval(add_calendar(data.as_of, months=-12), data.as_of)

# %% [markdown]
# ## 1. The headline KPIs of the last twelve months, in one call

# %%
report = kpi_report(
    last_year,
    deals=data.opportunities,
    leads=data.leads,
    subscriptions=data.subscriptions,
    spend=data.marketing_spend(),
    pipeline=sample_pipeline(),
    channels=data.acquisition_channels(),
    paid_channels=PAID_CHANNELS,
    margin=Decimal("0.8"),
)
print(report)
rows = report.to_rows()  # pandas.DataFrame(rows) takes them as they are

# %% [markdown]
# ## 2. Win rate per month, a goal and a wrong-direction alert

# %%
monthly = win_rate(data.opportunities, per=by_period("month"))
# Open deals have no close date: they form the group None, shown, not dropped.
print(f"open deals (no month): {monthly[None].reason}")
closed = {month: result for month, result in monthly.items() if month is not None}
for month, result in closed.items():
    print(f"{month}  {result.value * 100:5.1f} %  of {result.denominator:,} closed")
goal = Goal(
    "win_rate",
    baseline=Decimal("0.25"),
    target=Decimal("0.35"),
    start=last_year.start,
    deadline=add_calendar(data.as_of, months=6),
)
observed = [(month.end, result) for month, result in closed.items()]
status = goal_status(goal, observed, as_of=data.as_of)
print(f"goal: {status.status}, current {status.current:.3f}, target {goal.target}")
alert = wrong_direction(list(closed.values()), desired="up", metric="win_rate")
print(alert or "no wrong-direction alert on the monthly win rate")

# %% [markdown]
# ## 3. Cohort retention, by quarter of the first payment

# %%
table = cohort_retention(
    data.subscriptions, start=data.start, as_of=data.as_of, unit="quarter"
)
logo = table.matrix("logo")
for row, cells in zip(table.rows, logo, strict=True):
    shown = " ".join("  -  " if c is None else f"{c * 100:4.0f}%" for c in cells)
    print(f"{row.cohort.label}  {row.customers:5,}  {shown}")
average = " ".join(
    "  -  " if c is None else f"{c * 100:4.0f}%" for c in table.average("logo")
)
print(f"weighted average  {average}")

# %% [markdown]
# ## 4. The funnel, from the stage history

# %%
funnel = stage_analytics(sample_pipeline(), data.stage_changes, as_of=data.as_of)
stages = [(s.stage, s.deals) for s in funnel.stages] + [("won", funnel.won)]
for stage, reached in stages:
    print(f"{stage:<12} {reached:7,}")

# %% [markdown]
# ## 5. Charts, when matplotlib is installed (the `plots` extra)
#
# `crmcore.plots` draws each result on its own figure and returns it. Run
# `python examples/kpi_notebook.py --images docs/images` to write the PNGs
# the documentation shows.

# %%
try:
    from crmcore import plots
    from crmcore.kpis import mrr_movements

    charts = {
        "funnel": plots.funnel(funnel),
        "cohort-heatmap": plots.cohort_heatmap(table),
        "mrr-bridge": plots.mrr_bridge(mrr_movements(data.subscriptions, last_year)),
        "win-rate-trend": plots.kpi_trend(monthly, goal=goal),
    }
except MissingExtraError:  # the example must run without matplotlib
    print("matplotlib is not installed: skipping the charts")
else:
    wanted = sys.argv[sys.argv.index("--images") + 1] if "--images" in sys.argv else ""
    out = Path(wanted) if wanted else Path(tempfile.mkdtemp(prefix="crmcore-kpis-"))
    out.mkdir(parents=True, exist_ok=True)
    for name, figure in charts.items():
        figure.savefig(out / f"{name}.png", dpi=80)
    print(f"wrote {len(charts)} charts to {out}")
