"""RFM benchmarks: the BTYD summary of 1,000,000 transactions from 50,000 customers.

Run with ``python benchmarks/bench_rfm.py [--rows N]``. Prints the time of
crmcore's summary (target: under 3 s in pure Python) and its ratio to a
hand-written single-pass loop computing the same figures in this process.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from _timing import compare

from crmcore.rfm import btyd_summary, rfm_scores

END = datetime(2026, 1, 1, tzinfo=UTC)


def make_log(rows: int, customers: int) -> list[dict[str, Any]]:
    rng = random.Random(3)
    start = END - timedelta(days=730)
    return [
        {
            "customer_id": f"c{rng.randrange(customers):05d}",
            "at": start + timedelta(seconds=rng.randrange(730 * 86_400)),
            "amount": Decimal(rng.randrange(100, 50_000)).scaleb(-2),
        }
        for _ in range(rows)
    ]


def by_hand(log: list[dict[str, Any]]) -> dict[str, tuple[int, int, int, Decimal]]:
    """What a user would write: day buckets, then the lifetimes formulas."""
    end_day = END.toordinal()
    buckets: dict[str, dict[int, Decimal]] = {}
    for row in log:
        day = row["at"].toordinal()  # UTC data: the date is the UTC date
        if day > end_day:
            continue
        days = buckets.setdefault(row["customer_id"], {})
        days[day] = days.get(day, Decimal(0)) + row["amount"]
    result = {}
    for customer, days in buckets.items():
        ordered = sorted(days)
        repeat = ordered[1:]
        money = (
            sum((days[d] for d in repeat), Decimal(0)) / len(repeat)
            if repeat
            else Decimal(0)
        )
        result[customer] = (
            len(repeat),
            ordered[-1] - ordered[0],
            end_day - ordered[0],
            money,
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--size", type=int, default=0, help="ignored (run.py passes it)"
    )
    args = parser.parse_args()
    customers = max(1, args.rows // 20)
    print(f"crmcore RFM benchmarks (python {sys.version.split()[0]})")
    log = make_log(args.rows, customers)
    start = time.perf_counter()
    summary = btyd_summary(log, observation_end=END, amount="amount")
    elapsed = time.perf_counter() - start
    print(
        f"btyd_summary: {args.rows:,} transactions, {len(summary):,} customers "
        f"in {elapsed:.2f} s (target < 3 s for 1,000,000)"
    )
    expected = by_hand(log)
    assert all(
        (row.frequency, int(row.recency), int(row.T), row.monetary_value)
        == expected[key]
        for key, row in summary.items()
        if isinstance(key, str)
    )
    compare(
        f"btyd_summary over {args.rows:,} transactions",
        lambda: btyd_summary(log, observation_end=END, amount="amount"),
        lambda: by_hand(log),
        items=args.rows,
        repeat=2,
    )
    start = time.perf_counter()
    scores = rfm_scores(log, as_of=END)
    print(
        f"rfm_scores: {len(scores):,} customers in {time.perf_counter() - start:.2f} s"
    )


if __name__ == "__main__":
    main()
