"""Grouping and DataFrame benchmarks: crmcore against itself, pandas and polars.

Run with ``python benchmarks/bench_frames.py [--size N]`` (default
1,000,000 sample deals). Each line is timed in the same process, the two
sides interleaved, best of three:

* a grouped KPI against the same KPI ungrouped (``per=`` costs at most 2x);
* a monthly win rate, the sales cycle and the weighted pipeline from a
  pandas frame and from a polars frame through ``crmcore.frames``, against
  the same figures computed by pandas and by polars on the same frame
  (target within 3x; pandas and polars compute in floats, crmcore exactly);
* the whole KPI report from frames against the same report from records.

The figures of both sides are compared before anything is timed. Needs
the pandas and polars extras (``pip install -e ".[test]"``).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import pandas as pd
import polars as pl
from _timing import compare

from crmcore.calendar import Interval, add_calendar
from crmcore.frames import kpi_frame, report_frame
from crmcore.kpis import (
    OpenPipeline,
    SalesCycle,
    WeightedPipeline,
    WinRate,
    by_period,
    grouped,
    kpi_report,
)
from crmcore.sample import SampleData, generate_sample, sample_pipeline

PROBABILITIES = {
    s.key: float(s.win_probability)
    for s in sample_pipeline().stages
    if s.win_probability is not None
}


def grouping(data: SampleData) -> None:
    deals = data.opportunities
    at = data.as_of
    compare(
        "open pipeline per stage vs ungrouped",
        lambda: grouped(OpenPipeline(as_of=at), deals, "stage"),
        lambda: OpenPipeline(as_of=at).update(deals).result(),
        items=len(deals),
    )
    compare(
        "win rate per month vs ungrouped",
        lambda: grouped(WinRate(), deals, by_period("month")),
        lambda: WinRate().update(deals).result(),
        items=len(deals),
    )
    compare(
        "sales cycle per owner vs ungrouped",
        lambda: grouped(SalesCycle(), deals, "owner"),
        lambda: SalesCycle().update(deals).result(),
        items=len(deals),
    )


def pandas_frame(data: SampleData) -> Any:
    deals = data.opportunities
    return pd.DataFrame(
        {
            "id": [d.id for d in deals],
            "outcome": [d.outcome for d in deals],
            "stage": [d.stage for d in deals],
            "owner": [d.owner for d in deals],
            "created_at": pd.to_datetime([d.created_at for d in deals], utc=True),
            "closed_at": pd.to_datetime([d.closed_at for d in deals], utc=True),
            "amount": [float(d.amount) for d in deals],
            "currency": [d.currency for d in deals],
        }
    )


def pandas_figures(frame: Any) -> dict[str, Any]:
    closed = frame[frame["outcome"] != "open"]
    months = closed["closed_at"].dt.tz_localize(None).dt.to_period("M")
    rates = (closed["outcome"] == "won").groupby(months).mean()
    won = closed[closed["outcome"] == "won"]
    cycle = (won["closed_at"] - won["created_at"]).dt.total_seconds() / 86_400
    open_deals = frame[frame["outcome"] == "open"]
    weighted = (open_deals["amount"] * open_deals["stage"].map(PROBABILITIES)).sum()
    return {
        "rates": [round(float(r), 9) for r in rates],
        "cycle": round(float(cycle.mean()), 6),
        "weighted": round(float(weighted), 2),
    }


def polars_figures(frame: Any) -> dict[str, Any]:
    closed = frame.filter(pl.col("outcome") != "open")
    rates = (
        closed.group_by(pl.col("closed_at").dt.truncate("1mo").alias("month"))
        .agg((pl.col("outcome") == "won").mean().alias("rate"))
        .sort("month")
    )
    won = closed.filter(pl.col("outcome") == "won")
    cycle = (won["closed_at"] - won["created_at"]).dt.total_microseconds().mean()
    weighted = (
        frame.filter(pl.col("outcome") == "open")
        .select(
            (pl.col("amount") * pl.col("stage").replace_strict(PROBABILITIES)).sum()
        )
        .item()
    )
    return {
        "rates": [round(float(r), 9) for r in rates["rate"]],
        "cycle": round(float(cycle) / 86_400_000_000, 6),
        "weighted": round(float(weighted), 2),
    }


def crmcore_figures(frame: Any, at: Any) -> dict[str, Any]:
    rates = kpi_frame(WinRate(), frame, per=by_period("month"))
    cycle = kpi_frame(SalesCycle(), frame, exact=True)
    weighted = kpi_frame(
        WeightedPipeline(sample_pipeline(), as_of=at), frame, exact=True
    )
    values = list(rates["value"])
    return {
        "rates": [round(float(r), 9) for r in values if r == r and r is not None],
        "cycle": round(float(cycle["value"][0]), 6),
        "weighted": round(float(weighted["value"][0]), 2),
    }


def frames(data: SampleData) -> None:
    at = data.as_of
    table = pandas_frame(data)
    ours, theirs = crmcore_figures(table, at), pandas_figures(table)
    assert ours == theirs, (ours, theirs)
    compare(
        "pandas frame: win rate/month, cycle, weighted",
        lambda: crmcore_figures(table, at),
        lambda: pandas_figures(table),
        items=len(table),
    )
    polars_table = pl.from_pandas(table)
    ours, theirs = crmcore_figures(polars_table, at), polars_figures(polars_table)
    assert ours == theirs, (ours, theirs)
    compare(
        "polars frame: win rate/month, cycle, weighted",
        lambda: crmcore_figures(polars_table, at),
        lambda: polars_figures(polars_table),
        items=len(polars_table),
    )


def report(data: SampleData) -> None:
    table = pandas_frame(data)
    period = Interval(add_calendar(data.as_of, months=-12), data.as_of)
    pipeline = sample_pipeline()
    from_frame = report_frame(period, deals=table, pipeline=pipeline, exact=True)
    from_records = kpi_report(period, deals=data.opportunities, pipeline=pipeline)
    assert list(from_frame["key"]) == list(from_records)
    assert [None if v != v else v for v in from_frame["value"]] == list(
        from_records.to_dict().values()
    )
    compare(
        "KPI report (sales) from a frame vs records",
        lambda: report_frame(period, deals=table, pipeline=pipeline),
        lambda: kpi_report(period, deals=data.opportunities, pipeline=pipeline),
        items=len(table),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--rows", type=int, default=0, help="unused here")
    args = parser.parse_args()
    data = generate_sample(args.size)
    print(f"{len(data.opportunities):,} sample deals")
    grouping(data)
    frames(data)
    report(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
