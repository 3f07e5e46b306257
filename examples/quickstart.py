"""A first tour of crmcore: records, exact money, periods and JSON round trips.

Run it with ``python examples/quickstart.py``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from crmcore import (
    Money,
    Opportunity,
    fiscal_year,
    from_json,
    generate_sample,
    period_of,
    sum_money,
    to_json,
)


def main() -> None:
    # 1. A record, validated on construction.
    deal = Opportunity(
        id="o-1",
        account_id="a-1",
        amount="48000",
        currency="EUR",
        created_at=datetime(2026, 2, 28, 17, tzinfo=UTC),
        stage="proposal",
        fields={"region": "EMEA"},
    )
    print(f"deal {deal.id}: {deal.value} in stage {deal.stage}")

    # 2. Periods follow the local calendar: 17:00 UTC on Feb 28 is already
    #    02:00 on March 1 in Tokyo, so the month depends on the zone.
    print("month in UTC:  ", period_of(deal.created_at, "month").label)
    print("month in Tokyo:", period_of(deal.created_at, "month", tz="Asia/Tokyo").label)
    print(
        "fiscal year (April start):", period_of(deal.created_at, fiscal_year(4)).label
    )

    # 3. JSON round trip: Decimal as string, datetime with offset.
    text = to_json(deal)
    assert from_json(text, Opportunity) == deal
    print("as JSON:", text[:80], "...")

    # 4. Won revenue per quarter on the sample CRM, summed exactly.
    data = generate_sample(5_000, seed=1)
    by_quarter: dict[str, list[Money]] = defaultdict(list)
    for opportunity in data.opportunities:
        if opportunity.outcome == "won" and opportunity.closed_at is not None:
            quarter = period_of(opportunity.closed_at, "quarter").label
            by_quarter[quarter].append(opportunity.value)
    print("\nwon revenue by quarter")
    for quarter in sorted(by_quarter):
        total = sum_money(by_quarter[quarter], currency=data.currency)
        print(
            f"  {quarter}  {len(by_quarter[quarter]):>4} deals  {total.amount:>14,} EUR"
        )


if __name__ == "__main__":
    main()
