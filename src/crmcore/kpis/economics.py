"""Unit economics: marketing spend, CAC, CAC payback, LTV and LTV:CAC.

Spend rows are any records with ``at`` (aware), ``amount`` (Decimal or int),
``currency`` and ``channel``. The other KPIs here are *compositions*: they
take results (or plain values) and explain themselves with their inputs.

* **CAC** (blended) = spend in the period / new customers in the period;
  **paid CAC** = spend on paid channels / new customers from paid channels.
* **CAC payback** (months) = CAC / (ARPA × gross margin).
* **LTV** (simple) = ARPA × margin / monthly logo churn; with
  ``max_months`` the expected lifetime 1 / churn is capped (and LTV is
  defined at zero churn). **Discounted LTV** = m × r / (1 + d − r), or
  m × (1 + d) / (1 + d − r) counting the first payment.
* **LTV:CAC** = LTV / CAC.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from decimal import Decimal
from typing import Any, Final

from crmcore.access import Reader
from crmcore.errors import DataError, DataTypeError
from crmcore.kpis._core import (
    EARLIEST,
    LATEST,
    GroupKey,
    Invalid,
    Kpi,
    KpiResult,
    Where,
    Window,
    check_amount,
    check_aware,
    check_window,
    exact,
    fraction,
    grouped,
    one_currency,
    record_label,
    undefined,
)
from crmcore.money import Money, check_currency, divide, exact_arithmetic
from crmcore.validators import names

__all__ = [
    "MarketingSpend",
    "acquisition_cost",
    "cac_payback",
    "discounted_lifetime_value",
    "lifetime_value",
    "ltv_to_cac",
    "marketing_spend",
]

_ZERO: Final = Decimal(0)
_ONE: Final = Decimal(1)
_READER: Final = Reader(("at", "amount", "currency", "channel"))


class SpendFacts:
    """Spend per currency and channel inside a window."""

    __slots__ = ("rows", "sums", "window")

    def __init__(self, window: tuple[Any, Any] | None) -> None:
        self.window = window
        self.sums: dict[tuple[str, str], Decimal] = {}
        self.rows = 0

    def _check(self, row: tuple[Any, ...], record: object) -> None:
        """Raise the crmcore error that explains why ``row`` is not valid."""
        at, amount, currency, channel = row
        check_aware(at, "at", record)
        check_amount(amount, "amount", record)
        check_currency(currency, f"currency ({record_label(record)})")
        # Only called when the fast path failed, so one check always fails.
        if not isinstance(channel, str):  # pragma: no branch
            raise DataTypeError(
                f"channel ({record_label(record)})", channel, "a channel name"
            )

    def update(self, records: Iterable[Any]) -> None:
        """Count spend rows: every row is checked, those in the window summed."""
        start, end = self.window if self.window is not None else (EARLIEST, LATEST)
        sums = self.sums
        zero = _ZERO
        checked: set[str] = set()
        rows = 0
        try:
            for record in records:
                row = _READER.read(record)
                at, amount, currency, channel = row
                try:
                    value = amount if type(amount) is Decimal else exact(amount)
                    if (value.is_signed() and value) or not value.is_finite():
                        raise Invalid  # -0 is 0; negatives, NaN, infinities fail
                    if not isinstance(channel, str):
                        raise Invalid
                    if currency not in checked:
                        checked.add(check_currency(currency))
                    # Raises TypeError for a naive or non-datetime ``at``.
                    if start <= at < end:
                        key = (currency, channel)
                        sums[key] = sums.get(key, zero) + value
                        rows += 1
                except Exception as error:
                    self._check(row, record)
                    raise error from None  # pragma: no cover - _check raises first
        finally:
            self.rows += rows

    def covers(self, other: SpendFacts) -> bool:
        """Whether these facts hold everything ``other`` would (the same window)."""
        return self.window == other.window

    def cleared(self) -> SpendFacts:
        """An empty copy."""
        return SpendFacts(self.window)

    def merged(self, other: SpendFacts) -> SpendFacts:
        """A new facts object holding both."""
        merged = self.cleared()
        merged.rows = self.rows + other.rows
        for part in (self, other):
            for key, value in part.sums.items():
                merged.sums[key] = merged.sums.get(key, _ZERO) + value
        return merged


class MarketingSpend(Kpi):
    """Sales and marketing spend in a period, in total and by channel.

    Examples:
        >>> from datetime import datetime, timezone
        >>> t = datetime(2026, 1, 5, tzinfo=timezone.utc)
        >>> rows = [dict(at=t, amount=900, currency="EUR", channel="paid_search"),
        ...         dict(at=t, amount=100, currency="EUR", channel="events")]
        >>> spend = MarketingSpend().update(rows).result()
        >>> spend.value, spend.components["by_channel"]["events"]
        (Money('1000', 'EUR'), Money('100', 'EUR'))
    """

    name = "marketing_spend"
    anchors = ("at",)
    _facts: SpendFacts

    def __init__(
        self, period: Window | None = None, *, where: Where | None = None
    ) -> None:
        window = check_window(period)
        self._setup(
            {"period": period, "where": where},
            SpendFacts(None if window is None else (window.start, window.end)),
        )

    def result(self) -> KpiResult:
        """Total spend; ``by_channel`` splits it."""
        sums = self._facts.sums
        currency = one_currency({c for c, _ in sums}, "currency")
        if currency is None:
            return undefined(
                self.name, "money", "no spend in the period", period=self.period
            )
        by_channel = {
            channel: Money(value, currency)
            for (_, channel), value in sorted(sums.items())
        }
        return KpiResult(
            self.name,
            Money(sum(sums.values(), _ZERO), currency),
            "money",
            components={"by_channel": by_channel, "rows": self._facts.rows},
            period=self.period,
        )


def marketing_spend(
    rows: Iterable[Any],
    period: Window | None = None,
    *,
    where: Where | None = None,
    per: GroupKey | None = None,
) -> Any:
    """[`MarketingSpend`][crmcore.kpis.MarketingSpend] over any iterable of rows."""
    kpi = MarketingSpend(period, where=where)
    if per is None:
        return kpi.update(rows).result()
    return grouped(kpi, rows, per)


def _money_of(value: object, field: str) -> Money:
    if isinstance(value, KpiResult):
        value = value.value
    if not isinstance(value, Money):
        raise DataTypeError(field, value, "Money or a KpiResult holding Money")
    return value


def _undefined_input(value: object) -> str | None:
    if isinstance(value, KpiResult) and value.value is None:
        return f"{value.kpi} is undefined: {value.reason}"
    return None


@exact_arithmetic()
def acquisition_cost(
    spend: KpiResult | Money,
    new_customers: KpiResult | int,
    *,
    paid_channels: Collection[str] | None = None,
) -> KpiResult:
    """CAC: spend / new customers; with ``paid_channels``, paid CAC.

    Args:
        spend: A [`MarketingSpend`][crmcore.kpis.MarketingSpend] result (or
            Money for blended CAC).
        new_customers: A [`NewCustomers`][crmcore.kpis.NewCustomers] result
            (with channels for paid CAC) or a count.
        paid_channels: The channels that count as paid.

    Examples:
        >>> acquisition_cost(Money(12_000, "EUR"), 8).value
        Money('1500', 'EUR')
    """
    period = spend.period if isinstance(spend, KpiResult) else None
    reason = _undefined_input(spend) or _undefined_input(new_customers)
    if reason is not None:
        return undefined("cac", "money", reason, period=period)
    if paid_channels is None:
        total = _money_of(spend, "spend")
        count = (
            new_customers.value
            if isinstance(new_customers, KpiResult)
            else new_customers
        )
        name = "cac"
    else:
        if not isinstance(spend, KpiResult) or not isinstance(new_customers, KpiResult):
            raise DataTypeError(
                "spend", spend, "MarketingSpend and NewCustomers results for paid CAC"
            )
        paid = frozenset(
            names(
                paid_channels,
                "paid_channels",
                plural="a collection of channels",
                item="a channel",
            )
        )
        by_spend = spend.components["by_channel"]
        total = sum(
            (v for k, v in by_spend.items() if k in paid),
            Money.zero(_money_of(spend, "spend").currency),
        )
        by_customer = new_customers.components["by_channel"]
        if not by_customer and new_customers.value:
            raise DataError(
                "new_customers",
                new_customers,
                "a NewCustomers result computed with channels=",
            )
        count = sum(v for k, v in by_customer.items() if k in paid)
        name = "paid_cac"
    if isinstance(count, bool) or not isinstance(count, (int, Decimal)) or count < 0:
        raise DataTypeError("new_customers", new_customers, "a count of customers")
    if not count:
        return undefined(
            name,
            "money",
            "no new customers in the period",
            numerator=total,
            denominator=count,
            period=period,
        )
    return KpiResult(
        name,
        Money(divide(total.amount, count), total.currency),
        "money",
        numerator=total,
        denominator=count,
        period=period,
    )


@exact_arithmetic()
def cac_payback(
    cac: KpiResult | Money, arpa: KpiResult | Money, *, margin: Decimal | int = 1
) -> KpiResult:
    """Months to earn back CAC: CAC / (ARPA × gross margin).

    Examples:
        >>> cac, arpa = Money(1200, "EUR"), Money(200, "EUR")
        >>> cac_payback(cac, arpa, margin=Decimal("0.8")).value
        Decimal('7.5')
    """
    reason = _undefined_input(cac) or _undefined_input(arpa)
    share = fraction(margin, "margin")
    if reason is None:
        cost, revenue = _money_of(cac, "cac"), _money_of(arpa, "arpa")
        one_currency({cost.currency, revenue.currency}, "arpa")
        monthly = revenue.amount * share
        if monthly:
            return KpiResult(
                "cac_payback",
                divide(cost.amount, monthly),
                "months",
                numerator=cost,
                denominator=Money(monthly, revenue.currency),
                components={"margin": share},
            )
        reason = "ARPA × margin is 0"
    return undefined("cac_payback", "months", reason, components={"margin": share})


@exact_arithmetic()
def lifetime_value(
    arpa: KpiResult | Money,
    churn: KpiResult | Decimal,
    *,
    margin: Decimal | int = 1,
    max_months: int | None = None,
) -> KpiResult:
    """Simple LTV: ARPA × margin × expected lifetime (1 / monthly logo churn).

    Args:
        arpa: ARPA (monthly) as a result or Money.
        churn: Monthly logo churn as a [`LogoChurn`][crmcore.kpis.LogoChurn]
            result over one month, or a fraction.
        margin: Gross margin as a fraction (1: revenue LTV).
        max_months: Cap the expected lifetime; makes zero churn defined.

    Examples:
        >>> arpa, churn = Money(100, "EUR"), Decimal("0.02")
        >>> lifetime_value(arpa, churn, margin=Decimal("0.8")).value
        Money('4000.0', 'EUR')
    """
    share = fraction(margin, "margin")
    if max_months is not None and (
        isinstance(max_months, bool)
        or not isinstance(max_months, int)
        or max_months < 1
    ):
        raise DataError("max_months", max_months, "a positive number of months or None")
    components: dict[str, Any] = {"margin": share, "max_months": max_months}
    reason = _undefined_input(arpa) or _undefined_input(churn)
    if reason is not None:
        return undefined("ltv", "money", reason, components=components)
    revenue = _money_of(arpa, "arpa")
    rate = fraction(churn, "churn")
    components["churn"] = rate
    if rate:
        lifetime = divide(1, rate)
        if max_months is not None:
            lifetime = min(lifetime, Decimal(max_months))
    elif max_months is not None:
        lifetime = Decimal(max_months)
    else:
        return undefined(
            "ltv",
            "money",
            "churn is 0, so the lifetime is unbounded; give max_months",
            components=components,
        )
    components["lifetime_months"] = lifetime
    return KpiResult(
        "ltv",
        Money(revenue.amount * share * lifetime, revenue.currency),
        "money",
        components=components,
    )


@exact_arithmetic()
def discounted_lifetime_value(
    margin_per_period: KpiResult | Money,
    retention: KpiResult | Decimal,
    discount_rate: Decimal | int,
    *,
    count_first: bool = False,
) -> KpiResult:
    """Discounted LTV: m × r / (1 + d − r), or m × (1 + d) / (1 + d − r).

    Args:
        margin_per_period: Margin earned per customer per period (m).
        retention: Retention per period as a fraction (r).
        discount_rate: Discount rate per period as a fraction (d).
        count_first: Count the first payment too.

    Examples:
        >>> margin = Money(100, "EUR")
        >>> discounted_lifetime_value(margin, Decimal("0.9"), Decimal("0.1")).value
        Money('450', 'EUR')
    """
    reason = _undefined_input(margin_per_period) or _undefined_input(retention)
    rate = fraction(discount_rate, "discount_rate", upper=None)
    components: dict[str, Any] = {"discount_rate": rate, "count_first": count_first}
    if reason is not None:
        return undefined("discounted_ltv", "money", reason, components=components)
    margin = _money_of(margin_per_period, "margin_per_period")
    kept = fraction(retention, "retention")
    components["retention"] = kept
    denominator = 1 + rate - kept
    if not denominator:
        return undefined(
            "discounted_ltv",
            "money",
            "retention is 1 with no discount, so the value is unbounded",
            components=components,
        )
    factor = (1 + rate) if count_first else kept
    return KpiResult(
        "discounted_ltv",
        Money(divide(margin.amount * factor, denominator), margin.currency),
        "money",
        components=components,
    )


@exact_arithmetic()
def ltv_to_cac(ltv: KpiResult | Money, cac: KpiResult | Money) -> KpiResult:
    """LTV / CAC as a multiple (3 is the usual benchmark).

    Examples:
        >>> ltv_to_cac(Money(4500, "EUR"), Money(1500, "EUR")).value
        Decimal('3')
    """
    reason = _undefined_input(ltv) or _undefined_input(cac)
    if reason is None:
        value, cost = _money_of(ltv, "ltv"), _money_of(cac, "cac")
        one_currency({value.currency, cost.currency}, "cac")
        if cost.amount:
            return KpiResult(
                "ltv_to_cac",
                divide(value.amount, cost.amount),
                "multiple",
                numerator=value,
                denominator=cost,
            )
        reason = "CAC is 0"
    return undefined("ltv_to_cac", "multiple", reason)
