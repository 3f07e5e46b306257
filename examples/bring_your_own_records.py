"""Use crmcore on records you already have: dict rows, dataclasses, ORM models.

No conversion into crmcore's classes is needed: field access reads dotted paths
from any of them, and bad values get errors that name the field.

Run it with ``python examples/bring_your_own_records.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from crmcore import MISSING, DataError, Money, field_getter, sum_money


@dataclass
class DealModel:
    """Stands in for a Django or SQLAlchemy model."""

    pk: int
    value: Decimal
    currency: str
    account: dict[str, str] | None


def main() -> None:
    rows: list[object] = [
        {
            "pk": 1,
            "value": Decimal("1200.00"),
            "currency": "EUR",
            "account": {"industry": "saas"},
        },
        DealModel(2, Decimal("800.50"), "EUR", {"industry": "retail"}),
        DealModel(3, Decimal("99.99"), "EUR", None),
    ]
    industry = field_getter("account.industry")  # compiled once
    value = field_getter("value")
    currency = field_getter("currency")

    for row in rows:
        found = industry(row)
        print(
            f"{value(row)!s:>8}  industry: {'(missing)' if found is MISSING else found}"
        )

    total = sum_money(Money(value(r), currency(r)) for r in rows)  # type: ignore[arg-type]
    print("total:", total)

    # Bad input gets an error that names the field, the value and the fix.
    try:
        Money(0.1, "EUR")  # type: ignore[arg-type]  # floats are not money
    except DataError as error:
        print("rejected:", error)


if __name__ == "__main__":
    main()
