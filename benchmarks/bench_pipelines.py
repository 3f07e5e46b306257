"""Pipeline benchmarks: stage exits of 1,000,000 deals, and stage analytics.

Run with ``python benchmarks/bench_pipelines.py [--rows N]``.

* Exit check of a stage with 8 criteria over N deals: the compiled
  ``exit_condition`` against the hand-written function a user would write, in
  the same run (target: within 2x); the full explained ``evaluate()`` decision
  per deal is timed too, on a tenth of the deals.
* Stage analytics over the histories of N sample deals: time.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from _timing import compare

from crmcore import compile_condition
from crmcore.conditions import field
from crmcore.pipelines import (
    MustHold,
    Pipeline,
    RequiredFields,
    StageDefinition,
    TransitionPolicy,
    evaluate,
    exit_condition,
)
from crmcore.sample import iter_opportunities, sample_pipeline
from crmcore.stage_analytics import StageAnalytics

AS_OF = datetime(2026, 3, 1, tzinfo=UTC)
CUTOFF = datetime(2026, 1, 1, tzinfo=UTC)

PIPELINE = Pipeline(
    "bench",
    (
        StageDefinition(
            "proposal",
            "Proposal sent",
            exit_criteria=(
                RequiredFields(("budget",)),
                RequiredFields(("decision_maker",)),
                RequiredFields(("timeline",)),
                RequiredFields(("need",)),
                MustHold(field("amount") >= Decimal(1000)),
                MustHold(field("currency") == "EUR"),
                MustHold(field("industry").is_in({"saas", "fintech", "retail"})),
                MustHold(field("close_date").after(CUTOFF)),
            ),
        ),
        StageDefinition("negotiation", "Negotiation"),
        StageDefinition("won", "Won", kind="won"),
    ),
    policy=TransitionPolicy(),
)


def make_deals(count: int) -> list[dict[str, Any]]:
    rng = random.Random(5)
    return [
        {
            "id": f"d{i}",
            "stage": "proposal",
            "budget": None if rng.random() < 0.05 else 10_000,
            "decision_maker": "CFO",
            "timeline": "Q2",
            "need": "" if rng.random() < 0.05 else "reporting",
            "amount": Decimal(rng.randrange(100, 50_000)),
            "currency": "EUR",
            "industry": rng.choice(("saas", "fintech", "retail", "media")),
            "close_date": datetime(2026, rng.randrange(1, 13), 1, tzinfo=UTC),
        }
        for i in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--size", type=int, default=0, help="ignored (run.py passes it)"
    )
    args = parser.parse_args()
    print(f"crmcore pipeline benchmarks (python {sys.version.split()[0]})")
    deals = make_deals(args.rows)
    gate = compile_condition(exit_condition(PIPELINE, "proposal"))
    may_leave = gate.bind(AS_OF)

    def by_hand(d: dict[str, Any]) -> bool:
        def present(value: Any) -> bool:
            return value is not None and (
                not isinstance(value, str) or bool(value.strip())
            )

        return (
            present(d.get("budget"))
            and present(d.get("decision_maker"))
            and present(d.get("timeline"))
            and present(d.get("need"))
            and d["amount"] >= 1000
            and d["currency"] == "EUR"
            and d["industry"] in {"saas", "fintech", "retail"}
            and d["close_date"] >= CUTOFF
        )

    expected = [d for d in deals if by_hand(d)]
    assert [d for d in deals if may_leave(d)] == expected
    assert list(gate.filter(deals, as_of=AS_OF)) == expected
    print(f"{len(expected):,} of {len(deals):,} deals may leave the stage")
    compare(
        f"exit check, 8 criteria, {len(deals):,} deals",
        lambda: sum(1 for d in deals if may_leave(d)),
        lambda: sum(1 for d in deals if by_hand(d)),
        items=len(deals),
    )
    compare(
        f"exit filter, 8 criteria, {len(deals):,} deals",
        lambda: list(gate.filter(deals, as_of=AS_OF)),
        lambda: [d for d in deals if by_hand(d)],
        items=len(deals),
    )
    tenth = deals[: max(1, len(deals) // 10)]
    compare(
        f"explained evaluate() decisions, {len(tenth):,} deals",
        lambda: [evaluate(PIPELINE, d, "negotiation", as_of=AS_OF) for d in tenth],
        lambda: [by_hand(d) for d in tenth],
        items=len(tenth),
        repeat=1,
    )

    histories = [history for _, history in iter_opportunities(args.rows, seed=1)]
    start = time.perf_counter()
    report = (
        StageAnalytics.of(sample_pipeline(), as_of=AS_OF).update(histories).result()
    )
    elapsed = time.perf_counter() - start
    changes = sum(len(h) for h in histories)
    print(
        f"stage analytics: {report.deals:,} histories ({changes:,} changes) "
        f"in {elapsed:.2f} s ({changes / elapsed:,.0f} changes/s)"
    )


if __name__ == "__main__":
    main()
