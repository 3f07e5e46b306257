"""Foundation benchmarks: import, sample data, money sums, field access, periods.

Run with ``python benchmarks/bench_foundation.py [--size N]``. Each line prints
crmcore's time, the hand-written baseline's time measured in the same run,
and their ratio. Nothing here asserts: benchmarks inform, tests decide.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from _timing import best_of, compare

from crmcore import Money, field_getter, generate_sample, period_of, sum_money


def bench_import() -> None:
    def run(code: str) -> float:
        return best_of(
            lambda: subprocess.run([sys.executable, "-c", code], check=True), repeat=7
        )

    bare = run("pass")
    with_crmcore = run("import crmcore")
    print(
        f"{'import crmcore (new interpreter, best of 7)':<48} {with_crmcore:.3f} s "
        f"(interpreter alone {bare:.3f} s, import itself {with_crmcore - bare:.3f} s; "
        "target < 0.3 s)"
    )


def bench_sample(size: int) -> None:
    start = time.perf_counter()
    data = generate_sample(size, seed=0)
    elapsed = time.perf_counter() - start
    records = sum(len(rows) for rows in data.collections().values())
    print(
        f"{f'generate_sample({size:,})':<48} {elapsed:.1f} s for {records:,} records "
        f"(target for 1,000,000 deals: < 60 s)"
    )


def bench_money(size: int) -> None:
    amounts = [Money(Decimal(i % 10_000).scaleb(-2), "EUR") for i in range(size)]

    def baseline() -> Decimal:
        total = Decimal(0)
        for m in amounts:
            if m.currency != "EUR":
                raise ValueError(m.currency)
            total += m.amount
        return total

    compare(
        f"sum_money over {size:,} amounts",
        lambda: sum_money(amounts, currency="EUR"),
        baseline,
        items=size,
    )


def bench_field_access(size: int) -> None:
    rows: list[dict[str, Any]] = [
        {"id": i, "fields": {"region": "EMEA" if i % 3 else "APAC"}}
        for i in range(size)
    ]
    region = field_getter("fields.region")
    compare(
        f"field_getter('fields.region') on {size:,} dicts",
        lambda: [region(r) for r in rows],
        lambda: [r.get("fields", {}).get("region") for r in rows],
        items=size,
    )


def bench_periods(size: int) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    base = datetime(2024, 1, 1, tzinfo=UTC)
    instants = [base + timedelta(minutes=37 * i) for i in range(size)]
    compare(
        f"period_of(month, Europe/Berlin) on {size:,} instants",
        lambda: [period_of(t, "month", tz="Europe/Berlin") for t in instants],
        lambda: [t.astimezone(berlin).date().replace(day=1) for t in instants],
        items=size,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--size", type=int, default=1_000_000, help="sample size (deals)"
    )
    parser.add_argument(
        "--rows", type=int, default=300_000, help="rows for the micro benchmarks"
    )
    args = parser.parse_args()
    print(f"crmcore foundation benchmarks (python {sys.version.split()[0]})")
    bench_import()
    bench_money(args.rows)
    bench_field_access(args.rows)
    bench_periods(args.rows)
    bench_sample(args.size)


if __name__ == "__main__":
    main()
