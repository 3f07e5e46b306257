"""KPI benchmarks: the KPI report at scale, against hand-written code and pandas.

Run with ``python benchmarks/bench_kpis.py [--size N] [--rows M]``.

* The KPI report (sales, leads, recurring revenue, unit economics) over the
  sample of N opportunities (default 1,000,000, which has 50,000 accounts
  and 24 months of MRR): time and peak memory, and the ratio to a
  hand-written single-pass loop computing the same figures, exactly, in the
  same run (target: within 1.5x).
* The same figures with pandas, starting from the same Python records: the
  conversion to DataFrames is included (pandas computes in floats).
* Streaming M opportunities (default 10,000,000) from a generator through
  the report's deal figures: peak memory (target: under 100 MB).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
import tracemalloc
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from _timing import best_of

from crmcore.calendar import Interval, add_calendar
from crmcore.kpis import HeadlineKpis, KpiReport, kpi_report
from crmcore.sample import (
    DEFAULT_START,
    PAID_CHANNELS,
    SampleData,
    generate_sample,
    iter_opportunities,
    sample_pipeline,
)

US = timedelta(microseconds=1)
ZERO = Decimal(0)
MARGIN = Decimal("0.8")
SPEND: list[dict[str, Any]] = []
CHANNELS: dict[str, str] = {}
PROBABILITIES = {
    s.key: s.win_probability for s in sample_pipeline().stages if s.kind == "open"
}


def report(data: SampleData, period: Interval) -> KpiReport:
    return kpi_report(
        period,
        deals=data.opportunities,
        leads=data.leads,
        subscriptions=data.subscriptions,
        spend=SPEND,
        pipeline=sample_pipeline(),
        channels=CHANNELS,
        paid_channels=PAID_CHANNELS,
        margin=MARGIN,
    )


# ---------------------------------------------------------------------------
# The hand-written baseline: one pass per data set, exact Decimal arithmetic.
# ---------------------------------------------------------------------------
def hand_deals(deals: Iterable[Any], t0: datetime, t1: datetime) -> dict[str, Any]:
    won = lost = open_n = 0
    won_amt = lost_amt = open_amt = weighted = ZERO
    cycles: list[int] = []
    probabilities = PROBABILITIES
    for d in deals:
        created = d.created_at
        if d.outcome == "open":
            if created <= t1:
                open_n += 1
                open_amt += d.amount
                weighted += d.amount * probabilities[d.stage]
            continue
        closed = d.closed_at
        if t0 <= closed < t1:
            if d.outcome == "won":
                won += 1
                won_amt += d.amount
                cycles.append((closed - created) // US)
            else:
                lost += 1
                lost_amt += d.amount
        if created <= t1 < closed:
            open_n += 1
            open_amt += d.amount
    cycles.sort()
    n = len(cycles)
    mean = Decimal(sum(cycles)) / n / 86_400_000_000
    win_rate = Decimal(won) / (won + lost)
    size = won_amt / won
    return {
        "win_rate": win_rate,
        "win_rate_by_value": won_amt / (won_amt + lost_amt),
        "average_deal_size": size,
        "sales_cycle": mean,
        "median_days": Decimal(
            cycles[n // 2]
            if n % 2
            else Decimal(cycles[n // 2 - 1] + cycles[n // 2]) / 2
        )
        / 86_400_000_000,
        "p90_days": Decimal(cycles[-(-9 * n // 10) - 1]) / 86_400_000_000,
        "open_pipeline": open_amt,
        "weighted_pipeline": weighted,
        "pipeline_velocity": open_n * size * win_rate / mean,
    }


def hand_leads(leads: Iterable[Any], t0: datetime, t1: datetime) -> dict[str, Any]:
    created_in = converted = in_period = 0
    for lead in leads:
        reached = lead.converted_at
        if reached is not None and reached > t1:
            reached = None
        if t0 <= lead.created_at < t1:
            created_in += 1
            converted += reached is not None
        if reached is not None and t0 <= reached < t1:
            in_period += 1
    return {
        "lead_conversion": Decimal(converted) / created_in,
        "lead_conversion_period": Decimal(in_period) / created_in,
    }


def hand_revenue(
    subscriptions: Iterable[Any], instants: Sequence[datetime]
) -> dict[str, Any]:
    t0, t1, month, year = instants
    points = sorted(set(instants))
    index = {t: i for i, t in enumerate(points)}
    customers: dict[str, list[Any]] = {}
    for s in subscriptions:
        amount = s.mrr.amount
        entry = customers.get(s.customer_id)
        if entry is None:
            entry = customers[s.customer_id] = [None, [ZERO] * len(points)]
        if not amount:
            continue
        if entry[0] is None or s.start < entry[0]:
            entry[0] = s.start
        last = len(points) if s.end is None else bisect_left(points, s.end)
        values = entry[1]
        for k in range(bisect_left(points, s.start), last):
            values[k] += amount

    def bridge(a: int, b: int, start: datetime, end: datetime) -> dict[str, Any]:
        f = dict.fromkeys(
            ("start", "end", "new", "re", "exp", "con", "churn", "kept"), ZERO
        )
        c = dict.fromkeys(("s", "e", "retained", "churned", "joined", "newc"), 0)
        for paid, values in customers.values():
            before, after = values[a], values[b]
            f["start"] += before
            f["end"] += after
            c["joined"] += paid is not None and start <= paid < end
            if before:
                c["s"] += 1
                f["kept"] += min(before, after)
                if not after:
                    f["churn"] += before
                    c["churned"] += 1
                else:
                    c["retained"] += 1
                    if after > before:
                        f["exp"] += after - before
                    else:
                        f["con"] += before - after
            elif after:
                if paid < start:
                    f["re"] += after
                else:
                    f["new"] += after
            c["e"] += bool(after)
        return {**f, **c}

    i0, i1 = index[t0], index[t1]
    period = bridge(i0, i1, t0, t1)
    last_month = bridge(index[month], i1, month, t1)
    trailing = bridge(index[year], i1, year, t1)
    mrr = period["end"]
    customers_now = period["e"]
    return {
        "mrr": mrr,
        "arpa": mrr / customers_now,
        "net_new_mrr": period["end"] - period["start"],
        "quick_ratio": (period["new"] + period["re"] + period["exp"])
        / (period["con"] + period["churn"]),
        "new_customers": Decimal(period["joined"]),
        "customer_retention": Decimal(period["retained"]) / period["s"],
        "logo_churn": Decimal(period["churned"]) / period["s"],
        "monthly_logo_churn": Decimal(last_month["churned"]) / last_month["s"],
        "gross_revenue_churn": (period["churn"] + period["con"]) / period["start"],
        # Net of expansion only: 1 - NRR on the same base.
        "net_revenue_churn": (period["churn"] + period["con"] - period["exp"])
        / period["start"],
        "net_revenue_retention": (
            trailing["start"] + trailing["exp"] - trailing["con"] - trailing["churn"]
        )
        / trailing["start"],
        "gross_revenue_retention": trailing["kept"] / trailing["start"],
    }


def hand_report(data: SampleData, period: Interval) -> dict[str, Any]:
    t0, t1 = period.start, period.end
    figures = hand_deals(data.opportunities, t0, t1)
    figures.update(hand_leads(data.leads, t0, t1))
    instants = (t0, t1, add_calendar(t1, months=-1), add_calendar(t1, months=-12))
    figures.update(hand_revenue(data.subscriptions, instants))
    spend = ZERO
    for row in SPEND:
        if t0 <= row["at"] < t1:
            spend += row["amount"]
    cac = spend / figures["new_customers"]
    ltv = figures["arpa"] * MARGIN / figures["monthly_logo_churn"]
    figures.update(
        {
            "marketing_spend": spend,
            "cac": cac,
            "cac_payback": cac / (figures["arpa"] * MARGIN),
            "ltv": ltv,
            "ltv_to_cac": ltv / cac,
        }
    )
    return figures


# ---------------------------------------------------------------------------
# pandas, from the same Python records (conversion included), in floats.
# ---------------------------------------------------------------------------
def pandas_report(data: SampleData, period: Interval) -> dict[str, float]:
    import pandas as pd  # noqa: PLC0415 - optional, imported only when timed

    t0 = pd.Timestamp(period.start)
    t1 = pd.Timestamp(period.end)
    deals = pd.DataFrame(
        {
            "outcome": [d.outcome for d in data.opportunities],
            "stage": [d.stage for d in data.opportunities],
            "amount": [float(d.amount) for d in data.opportunities],
            "created_at": pd.to_datetime(
                [d.created_at for d in data.opportunities], utc=True
            ),
            "closed_at": pd.to_datetime(
                [d.closed_at for d in data.opportunities], utc=True
            ),
        }
    )
    closed = deals[(deals.closed_at >= t0) & (deals.closed_at < t1)]
    won = closed[closed.outcome == "won"]
    lost = closed[closed.outcome == "lost"]
    cycle = (won.closed_at - won.created_at).dt.total_seconds() / 86_400
    is_open = deals.outcome == "open"
    probabilities = deals.stage.map(
        {k: float(v or 0) for k, v in PROBABILITIES.items()}
    )
    win_rate = len(won) / (len(won) + len(lost))
    size = won.amount.mean()
    figures = {
        "win_rate": win_rate,
        "win_rate_by_value": won.amount.sum() / (won.amount.sum() + lost.amount.sum()),
        "average_deal_size": size,
        "sales_cycle": cycle.mean(),
        "median_days": cycle.median(),
        "p90_days": cycle.quantile(0.9, interpolation="higher"),
        "open_pipeline": deals.amount[is_open].sum(),
        "weighted_pipeline": (deals.amount * probabilities)[is_open].sum(),
    }
    figures["pipeline_velocity"] = (
        is_open.sum() * size * win_rate / figures["sales_cycle"]
    )
    leads = pd.DataFrame(
        {
            "created_at": pd.to_datetime([x.created_at for x in data.leads], utc=True),
            "converted_at": pd.to_datetime(
                [x.converted_at for x in data.leads], utc=True
            ),
        }
    )
    cohort = leads[(leads.created_at >= t0) & (leads.created_at < t1)]
    figures["lead_conversion"] = (cohort.converted_at <= t1).mean()
    figures["lead_conversion_period"] = (
        (leads.converted_at >= t0) & (leads.converted_at < t1)
    ).sum() / len(cohort)
    subs = pd.DataFrame(
        {
            "customer": [s.customer_id for s in data.subscriptions],
            "mrr": [float(s.mrr.amount) for s in data.subscriptions],
            "start": pd.to_datetime([s.start for s in data.subscriptions], utc=True),
            "end": pd.to_datetime([s.end for s in data.subscriptions], utc=True),
        }
    )
    paid = subs[subs.mrr > 0].groupby("customer").start.min()

    def mrr_at(t: Any) -> Any:
        active = (subs.start <= t) & (subs.end.isna() | (subs.end > t))
        return subs[active].groupby("customer").mrr.sum()

    month = pd.Timestamp(add_calendar(period.end, months=-1))
    year = pd.Timestamp(add_calendar(period.end, months=-12))
    table = pd.DataFrame(
        {"a": mrr_at(t0), "b": mrr_at(t1), "m": mrr_at(month), "y": mrr_at(year)}
    ).fillna(0.0)
    table["paid"] = paid
    a, b = table.a, table.b
    churned = (a > 0) & (b == 0)
    expansion = (b - a)[(a > 0) & (b > a)].sum()
    contraction = (a - b)[(a > 0) & (b > 0) & (b < a)].sum()
    churn = a[churned].sum()
    fresh = (a == 0) & (b > 0)
    new = b[fresh & (table.paid >= t0)].sum()
    react = b[fresh & (table.paid < t0)].sum()
    starting = (a > 0).sum()
    figures.update(
        {
            "mrr": b.sum(),
            "arpa": b.sum() / (b > 0).sum(),
            "net_new_mrr": b.sum() - a.sum(),
            "quick_ratio": (new + react + expansion) / (contraction + churn),
            "new_customers": float(((paid >= t0) & (paid < t1)).sum()),
            "customer_retention": ((a > 0) & (b > 0)).sum() / starting,
            "logo_churn": churned.sum() / starting,
            "monthly_logo_churn": ((table.m > 0) & (b == 0)).sum()
            / (table.m > 0).sum(),
            "gross_revenue_churn": (churn + contraction) / a.sum(),
            "net_revenue_churn": (churn + contraction - expansion) / a.sum(),
        }
    )
    y = table.y
    figures["net_revenue_retention"] = b[y > 0].sum() / y.sum()
    figures["gross_revenue_retention"] = (
        pd.concat([y, b], axis=1).min(axis=1)[y > 0].sum() / y.sum()
    )
    spend = pd.DataFrame(SPEND)
    spend["amount"] = spend.amount.astype(float)
    spent = spend.amount[(spend["at"] >= t0) & (spend["at"] < t1)].sum()
    arpa = figures["arpa"]
    cac = spent / figures["new_customers"]
    ltv = arpa * 0.8 / figures["monthly_logo_churn"]
    figures.update(
        {
            "marketing_spend": spent,
            "cac": cac,
            "cac_payback": cac / (arpa * 0.8),
            "ltv": ltv,
            "ltv_to_cac": ltv / cac,
        }
    )
    return {k: float(v) for k, v in figures.items()}


def crmcore_figures(result: KpiReport) -> dict[str, Decimal]:
    figures: dict[str, Decimal] = dict(result.to_dict())
    cycle = result["sales_cycle"].components
    figures["median_days"] = cycle["median_days"]
    figures["p90_days"] = cycle["p90_days"]
    return figures


def check_same(
    ours: dict[str, Decimal], theirs: dict[str, Any], *, tolerance: float
) -> None:
    for key, expected in theirs.items():
        got = ours[key]
        if tolerance:
            ok = abs(float(got) - float(expected)) <= tolerance * max(
                1.0, abs(float(expected))
            )
        else:
            ok = got == expected or abs(got - expected) < Decimal("1e-20")
        if not ok:
            raise SystemExit(f"{key}: crmcore {got} but the baseline {expected}")


def stream(rows: int) -> None:
    """Child process: the report's deal figures over a generator; print stats."""
    # The second year of the 24 months iter_opportunities simulates.
    period = Interval(
        add_calendar(DEFAULT_START, months=12), add_calendar(DEFAULT_START, months=24)
    )
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    acc = HeadlineKpis(period, pipeline=sample_pipeline())
    start = time.perf_counter()
    acc.update(deals=(deal for deal, _ in iter_opportunities(rows, seed=1)))
    closed = acc.result()["win_rate"].denominator
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{seconds} {before / 1024} {after / 1024} {closed}")


def stream_peak(rows: int) -> tuple[float, float, float, int]:
    """Seconds, MB before, peak MB and closed deals of the streaming child."""
    out = subprocess.run(
        [sys.executable, __file__, "--stream", str(rows)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return float(out[0]), float(out[1]), float(out[2]), int(out[3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--stream", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stream is not None:
        stream(args.stream)
        return
    print(f"crmcore KPI benchmarks (python {sys.version.split()[0]})")

    seconds, before, peak, closed = stream_peak(args.rows)
    print(
        f"streaming {args.rows:,} opportunities (generated on the fly) through the "
        f"report's deal figures: {seconds:.1f} s, peak RSS {peak:.1f} MB for the "
        f"whole process ({before:.1f} MB before streaming; target < 100 MB); "
        f"{closed:,} deals closed in the period"
    )

    start = time.perf_counter()
    data = generate_sample(args.size, seed=0)
    customers = len({s.customer_id for s in data.subscriptions})
    print(
        f"sample: {args.size:,} opportunities, {len(data.leads):,} leads, "
        f"{customers:,} customers, {len(data.subscriptions):,} subscriptions "
        f"over 24 months ({time.perf_counter() - start:.1f} s to generate)"
    )
    period = Interval(add_calendar(data.as_of, months=-12), data.as_of)
    # Spend rows and channels are inputs, made once outside the timings.
    SPEND[:] = data.marketing_spend()
    CHANNELS.update(data.acquisition_channels())

    result = report(data, period)
    check_same(crmcore_figures(result), hand_report(data, period), tolerance=0)
    print("the hand-written loop computes the same figures, exactly")

    tracemalloc.start()
    report(data, period)
    _, peak_bytes = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    ours = best_of(lambda: report(data, period), repeat=3)
    hand = best_of(lambda: hand_report(data, period), repeat=3)
    print(
        f"{'KPI report (27 figures, 4 data sets)':<48} crmcore {ours:7.3f} s  "
        f"peak {peak_bytes / 2**20:6.1f} MB  hand-written {hand:7.3f} s  "
        f"ratio {ours / hand:5.2f}x (target 1.5x at 1,000,000 deals)"
    )
    try:
        import pandas  # noqa: F401, PLC0415 - optional comparison
    except ImportError:
        print("pandas is not installed: the pandas comparison is skipped")
        return
    check_same(crmcore_figures(result), pandas_report(data, period), tolerance=1e-9)
    theirs = best_of(lambda: pandas_report(data, period), repeat=3)
    print(
        f"{'KPI report vs pandas (conversion included)':<48} crmcore {ours:7.3f} s  "
        f"pandas {theirs:7.3f} s  ratio {ours / theirs:5.2f}x"
    )


if __name__ == "__main__":
    main()
