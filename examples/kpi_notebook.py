# %% [markdown]
# # Which numbers prove the strategy works? KPIs on the sample CRM
#
# A notebook-style walk through crmcore's KPI catalogue. Run it as a script
# (`python examples/kpi_notebook.py`) or open it as a notebook (jupytext):
# every `# %%` is a cell. In a notebook, a cell ending in a result, a
# grouped result, a cohort table or the report shows an HTML table.

# %%
from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path

from crmcore import Interval, add_calendar
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
# ## 5. Charts, when matplotlib is installed

# %%
try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:  # the example must run without it
    print("matplotlib is not installed: skipping the charts")
else:
    out = Path(tempfile.mkdtemp(prefix="crmcore-kpis-"))
    figure, (heat, bars) = plt.subplots(1, 2, figsize=(12, 4.5))
    values = [[float("nan") if c is None else float(c) for c in r] for r in logo]
    image = heat.imshow(values, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    heat.set_yticks(range(len(table.rows)), [r.cohort.label for r in table.rows])
    heat.set_xlabel("quarters since the first payment")
    heat.set_title("Logo retention by cohort")
    figure.colorbar(image, ax=heat, format=lambda v, _: f"{v:.0%}")
    names = [stage for stage, _ in stages]
    bars.barh(names[::-1], [reached for _, reached in stages][::-1])
    bars.set_title("Funnel: deals that reached each stage")
    figure.tight_layout()
    path = out / "kpis.png"
    figure.savefig(path)
    print(f"wrote {path}")
