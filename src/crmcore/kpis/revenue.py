"""Recurring-revenue KPIs from subscriptions: MRR, movements, retention, churn.

Every KPI here reads subscription-like records (``customer_id``, ``mrr`` as
[`Money`][crmcore.money.Money], ``start``, ``end``; the subscription is
active on ``[start, end)``). A customer's MRR at an instant is the sum of
their active subscriptions; *active* means MRR > 0. Subscriptions of one
customer may arrive in any order and in different partitions: the facts are
kept per customer and merged exactly.

Conventions (../shared/domain/KPI-DEFINITIONS.md), between the start ``t0``
and the end ``t1`` of the period:

* movements per customer: **new** 0 → x and never paid before ``t0``;
  **reactivation** 0 → x having paid before; **expansion** x → y > x > 0;
  **contraction** x → y, 0 < y < x; **churn** x → 0. The bridge
  ``end = start + new + reactivation + expansion − contraction − churn``
  always holds.
* **retention (cohort)** = |active at t0 and at t1| / |active at t0|;
  **retention (classic)** = (E − N) / S; **logo churn** = churned / active
  at t0 (customers who joined and left inside the period are in neither).
* **NRR** = Σ MRR(t1) / Σ MRR(t0) and **GRR** = Σ min(MRR(t1), MRR(t0)) /
  Σ MRR(t0) over the customers active at t0 (12 months by default).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, Literal

from crmcore.access import Reader
from crmcore.calendar import Interval, add_calendar
from crmcore.errors import DataError, DataTypeError
from crmcore.kpis._core import (
    GroupKey,
    Invalid,
    Kpi,
    KpiResult,
    Where,
    Window,
    check_aware,
    check_instant,
    check_window,
    one_currency,
    quotient,
    record_label,
    run_kpi,
    undefined,
)
from crmcore.money import Money, check_currency, divide
from crmcore.validators import check_one_of

__all__ = [
    "Arpa",
    "CustomerRetention",
    "GrossRevenueRetention",
    "LogoChurn",
    "Mrr",
    "MrrMovements",
    "NetRevenueRetention",
    "NewCustomers",
    "QuickRatio",
    "RevenueChurn",
    "arpa",
    "customer_retention",
    "gross_revenue_retention",
    "logo_churn",
    "mrr",
    "mrr_movements",
    "net_revenue_retention",
    "new_customers",
    "quick_ratio",
    "revenue_churn",
]

_ZERO: Final = Decimal(0)
_READER: Final = Reader(("customer_id", "mrr", "start"), ("end",))


class CustomerFacts:
    """Per customer: first payment, and MRR at each observation instant."""

    __slots__ = (
        "bridges",
        "currencies",
        "customers",
        "index",
        "instants",
        "subscriptions",
    )

    def __init__(self, instants: Iterable[datetime]) -> None:
        self.instants = tuple(sorted(set(instants)))
        self.index = {t: i for i, t in enumerate(self.instants)}
        # customer -> [first paid instant or None, MRR at that instant, MRRs]
        self.customers: dict[Any, list[Any]] = {}
        self.currencies: set[str] = set()
        self.subscriptions = 0
        # Bridges computed since the last update (a report asks for several
        # KPIs of the same bridge).
        self.bridges: dict[tuple[datetime, datetime], dict[str, Any]] = {}

    def _check(self, row: tuple[Any, ...], record: object) -> None:
        customer, mrr, start, end = row
        try:
            hash(customer)
        except TypeError:
            raise DataTypeError(
                "customer_id", customer, "a hashable customer id"
            ) from None
        if not isinstance(mrr, Money):
            raise DataTypeError(
                f"mrr ({record_label(record)})", mrr, "Money, e.g. Money('99', 'EUR')"
            )
        if mrr.amount < 0:
            raise DataError(f"mrr ({record_label(record)})", mrr, "a non-negative MRR")
        start = check_aware(start, "start", record)
        # Only called when the fast path failed, so one check always fails.
        if (
            end is not None and check_aware(end, "end", record) <= start
        ):  # pragma: no branch
            raise DataError(
                f"end ({record_label(record)})", end, "an instant after start, or None"
            )

    def update(self, records: Iterable[Any]) -> None:  # noqa: PLR0915 - one hot loop
        """Count subscriptions."""
        instants = self.instants
        count = len(instants)
        customers = self.customers
        currencies = self.currencies
        zero = _ZERO
        seen = 0
        self.bridges.clear()
        try:
            reader = _READER
            cls: type | None = None
            get = reader.getter(object)
            for record in records:
                # The reading is inlined: a generator per record costs more.
                if type(record) is not cls:
                    cls = type(record)
                    get = reader.getter(cls)
                try:
                    row = get(record)
                except Exception:  # a missing field, a raising property: explained
                    row = reader.slow(record)
                customer, mrr, start, end = row
                try:
                    amount = mrr.amount + zero
                    currency = mrr.currency
                    if amount < zero or start.tzinfo is None:
                        raise Invalid
                    if end is None:
                        last = count
                    elif end.tzinfo is None or end <= start:
                        raise Invalid
                    else:
                        last = bisect_left(instants, end)
                    first = bisect_left(instants, start)
                    entry = customers.get(customer)
                    if entry is None:
                        entry = customers[customer] = [None, zero, [zero] * count]
                    if currency not in currencies:
                        currencies.add(check_currency(currency))
                except Exception as error:
                    self._check(row, record)
                    raise error from None  # pragma: no cover - _check raises first
                seen += 1
                if amount:
                    paid = entry[0]
                    if paid is None or start < paid:
                        entry[0], entry[1] = start, amount
                    elif start == paid:
                        entry[1] += amount
                    values = entry[2]
                    for k in range(first, last):
                        values[k] += amount
        finally:
            self.subscriptions += seen

    def cleared(self) -> CustomerFacts:
        """An empty copy observing the same instants."""
        return CustomerFacts(self.instants)

    def merged(self, other: CustomerFacts) -> CustomerFacts:
        """A new facts object holding both."""
        merged = self.cleared()
        merged.subscriptions = self.subscriptions + other.subscriptions
        merged.currencies = self.currencies | other.currencies
        customers = merged.customers
        for part in (self, other):
            for customer, (paid, first, values) in part.customers.items():
                entry = customers.get(customer)
                if entry is None:
                    customers[customer] = [paid, first, list(values)]
                    continue
                if paid is not None:
                    if entry[0] is None or paid < entry[0]:
                        entry[0], entry[1] = paid, first
                    elif paid == entry[0]:
                        entry[1] += first
                entry[2] = [a + b for a, b in zip(entry[2], values, strict=True)]
        return merged

    def currency(self) -> str | None:
        """The one currency of every subscription seen."""
        return one_currency(self.currencies, "mrr")

    def at(self, instant: datetime) -> tuple[Decimal, int]:
        """Total MRR and active customers at one observed instant."""
        for (_, end), found in self.bridges.items():
            if end == instant:  # a bridge computed since the last update has it
                return found["end_mrr"], found["active_end"]
        k = self.index[instant]
        total = _ZERO
        active = 0
        for _paid, _first, values in self.customers.values():
            value = values[k]
            if value:
                total += value
                active += 1
        return total, active

    def covers(self, other: CustomerFacts) -> bool:
        """Whether these facts observe every instant ``other`` observes."""
        return set(other.instants) <= set(self.instants)

    def bridge(self, start: datetime, end: datetime) -> dict[str, Any]:
        """Every additive figure between two observed instants."""
        found = self.bridges.get((start, end))
        if found is None:
            found = self.bridges[start, end] = self._bridge(start, end)
        return dict(found)

    def _bridge(self, start: datetime, end: datetime) -> dict[str, Any]:
        a, b = self.index[start], self.index[end]
        zero = _ZERO
        start_mrr = end_mrr = new = reactivation = zero
        expansion = contraction = churn = kept = zero
        active_start = active_end = retained = joined = joined_and_churned = 0
        new_customers = reactivated = expanded = contracted = churned = 0
        for paid, _first, values in self.customers.values():
            before, after = values[a], values[b]
            came = paid is not None and start <= paid < end
            joined += came
            if before:
                active_start += 1
                start_mrr += before
                if not after:
                    churn += before
                    churned += 1
                    continue
                active_end += 1
                end_mrr += after
                retained += 1
                if after > before:
                    kept += before
                    expansion += after - before
                    expanded += 1
                else:
                    kept += after
                    if after < before:
                        contraction += before - after
                        contracted += 1
            elif after:
                active_end += 1
                end_mrr += after
                if paid is not None and paid < start:
                    reactivation += after
                    reactivated += 1
                else:
                    new += after
                    new_customers += 1
            elif came:
                joined_and_churned += 1
        return {
            "start_mrr": start_mrr,
            "end_mrr": end_mrr,
            "new": new,
            "reactivation": reactivation,
            "expansion": expansion,
            "contraction": contraction,
            "churn": churn,
            "kept": kept,
            "active_start": active_start,
            "active_end": active_end,
            "retained": retained,
            "new_customers": new_customers,
            "reactivated_customers": reactivated,
            "expanded_customers": expanded,
            "contracted_customers": contracted,
            "churned_customers": churned,
            "joined": joined,
            "joined_and_churned": joined_and_churned,
        }


# ---------------------------------------------------------------------------
# The KPIs
# ---------------------------------------------------------------------------
def _window_required(period: object, field: str = "period") -> Window:
    window = check_window(period, field)
    if window is None:
        raise DataError(field, period, "a Period or an Interval (the KPI's window)")
    return window


class _RevenueKpi(Kpi):
    anchors = ()
    _facts: CustomerFacts

    def _window(
        self,
        period: Window | None,
        where: Where | None,
        *,
        window: Window | None = None,
        **options: Any,
    ) -> None:
        span = window if window is not None else _window_required(period)
        self._span = span
        self._start, self._end = span.start, span.end
        self._setup(
            {"period": period, **options, "where": where},
            CustomerFacts((self._start, self._end)),
        )

    @property
    def period(self) -> Window:
        """The window the KPI describes (a trailing one from ``as_of``)."""
        return self._span

    def _bridge(self) -> dict[str, Any]:
        return self._facts.bridge(self._start, self._end)

    def _money(self, amount: Decimal) -> Money | Decimal:
        currency = self._facts.currency()
        return amount if currency is None else Money(amount, currency)

    def _currency(self) -> str | None:
        return self._facts.currency()


class MrrMovements(_RevenueKpi):
    """The MRR bridge of a period: new, reactivation, expansion, contraction, churn.

    The value is the net change ``end_mrr − start_mrr``, named
    ``net_new_mrr`` (new + reactivation + expansion − contraction − churn);
    every movement and the customer counts are components.

    Examples:
        >>> from datetime import datetime, timezone
        >>> from crmcore.calendar import period_of
        >>> from crmcore.money import Money
        >>> from crmcore.records import Subscription
        >>> jan = period_of(datetime(2026, 1, 1, tzinfo=timezone.utc), "month")
        >>> def day(y, m, d):
        ...     return datetime(y, m, d, tzinfo=timezone.utc)
        >>> subs = [Subscription("a", Money(100, "EUR"), day(2025, 6, 1)),
        ...         Subscription("b", Money(50, "EUR"), day(2026, 1, 15))]
        >>> moves = MrrMovements(jan).update(subs).result()
        >>> moves.value, moves.components["new"]
        (Money('50', 'EUR'), Money('50', 'EUR'))
    """

    name = "net_new_mrr"

    def __init__(self, period: Window, *, where: Where | None = None) -> None:
        self._window(period, where)

    def result(self) -> KpiResult:
        """Net new MRR (``net_new_mrr``) with the bridge as components."""
        figures = self._bridge()
        money = {
            k: self._money(figures[k])
            for k in (
                "start_mrr",
                "new",
                "reactivation",
                "expansion",
                "contraction",
                "churn",
                "end_mrr",
            )
        }
        counts = {
            k: figures[k]
            for k in (
                "new_customers",
                "reactivated_customers",
                "expanded_customers",
                "contracted_customers",
                "churned_customers",
            )
        }
        return KpiResult(
            self.name,
            self._money(figures["end_mrr"] - figures["start_mrr"]),
            "money",
            components={**money, **counts, "currency": self._currency()},
            period=self.period,
        )


class QuickRatio(_RevenueKpi):
    """(new + reactivation + expansion) / (contraction + churn) over the period.

    Undefined when nothing was lost (the denominator is 0).
    """

    name = "quick_ratio"

    def __init__(self, period: Window, *, where: Where | None = None) -> None:
        self._window(period, where)

    def result(self) -> KpiResult:
        """Growth MRR over lost MRR."""
        f = self._bridge()
        gained = f["new"] + f["reactivation"] + f["expansion"]
        lost = f["contraction"] + f["churn"]
        return quotient(
            self.name,
            gained,
            lost,
            unit="multiple",
            reason="no MRR was lost to contraction or churn",
            currency=self._currency(),
            period=self.period,
        )


class CustomerRetention(_RevenueKpi):
    """Customer (logo) retention over the period.

    Args:
        period: The window.
        method: ``"cohort"`` (default): customers active at start and at end /
            active at start. ``"classic"``: (E − N) / S with E active at end,
            N new during the period, S active at start; it is biased by
            reactivations and by customers who joined and left in the period.
        where: Only records satisfying this condition or segment.
    """

    name = "customer_retention"

    def __init__(
        self,
        period: Window,
        *,
        method: Literal["cohort", "classic"] = "cohort",
        where: Where | None = None,
    ) -> None:
        check_one_of(method, "method", ("cohort", "classic"))
        self._window(period, where, method=method)

    def result(self) -> KpiResult:
        """The retention rate with S, E, N and the retained count."""
        f = self._bridge()
        components = {
            k: f[k] for k in ("active_start", "active_end", "retained", "joined")
        }
        numerator = (
            f["retained"]
            if self._options["method"] == "cohort"
            else f["active_end"] - f["joined"]
        )
        return quotient(
            self.name
            if self._options["method"] == "cohort"
            else "customer_retention_classic",
            numerator,
            f["active_start"],
            reason="no customers were active at the start of the period",
            components={**components, "method": self._options["method"]},
            period=self.period,
        )


class LogoChurn(_RevenueKpi):
    """Customers active at the start and not at the end / active at the start."""

    name = "logo_churn"

    def __init__(self, period: Window, *, where: Where | None = None) -> None:
        self._window(period, where)

    def result(self) -> KpiResult:
        """The churn rate; joined-and-churned customers are a component only."""
        f = self._bridge()
        return quotient(
            self.name,
            f["churned_customers"],
            f["active_start"],
            reason="no customers were active at the start of the period",
            components={"joined_and_churned": f["joined_and_churned"]},
            period=self.period,
        )


class RevenueChurn(_RevenueKpi):
    """Revenue churn over the MRR at the start of the period.

    * ``gross``: churned and contracted MRR;
    * ``net``: the same less the expansion of the customers active at the
      start, so that net revenue churn is exactly 1 − NRR over the same
      window (it is negative when the base grew);
    * ``net_with_reactivation``: also less the MRR of customers who came
      back (they were not in the starting base, so this figure is not
      1 − NRR).
    """

    name = "revenue_churn"

    def __init__(
        self,
        period: Window,
        *,
        kind: Literal["gross", "net", "net_with_reactivation"] = "gross",
        where: Where | None = None,
    ) -> None:
        check_one_of(kind, "kind", ("gross", "net", "net_with_reactivation"))
        self._window(period, where, kind=kind)

    def result(self) -> KpiResult:
        """The churned MRR over the starting MRR."""
        f = self._bridge()
        lost = f["churn"] + f["contraction"]
        kind = self._options["kind"]
        if kind != "gross":
            lost -= f["expansion"]
        if kind == "net_with_reactivation":
            lost -= f["reactivation"]
        name = {"net_with_reactivation": "net_revenue_churn_with_reactivation"}.get(
            kind, f"{kind}_revenue_churn"
        )
        return quotient(
            name,
            lost,
            f["start_mrr"],
            reason="no MRR at the start of the period",
            currency=self._currency(),
            period=self.period,
        )


def _retention_window(
    period: Window | None, as_of: datetime | None, months: int
) -> Window:
    if period is not None:
        return _window_required(period)
    end = check_instant(as_of, "as_of")
    if end is None:
        raise DataError("period", None, "a period, or an as_of to end the window at")
    if isinstance(months, bool) or not isinstance(months, int) or months < 1:
        raise DataError("months", months, "a positive number of months")
    return Interval(add_calendar(end, months=-months), end)


class NetRevenueRetention(_RevenueKpi):
    """NRR: the MRR that the customers active at the start still pay at the end.

    Σ MRR_end / Σ MRR_start over customers active at the start. Give a
    ``period``, or ``as_of`` and ``months`` (default 12) for a trailing window
    (a given ``period`` wins over ``as_of``).
    """

    name = "net_revenue_retention"

    def __init__(
        self,
        period: Window | None = None,
        *,
        as_of: datetime | None = None,
        months: int = 12,
        where: Where | None = None,
    ) -> None:
        window = _retention_window(period, as_of, months)
        self._window(period, where, window=window, as_of=as_of, months=months)

    def result(self) -> KpiResult:
        """Σ MRR at the end over Σ MRR at the start of the starting cohort."""
        f = self._bridge()
        kept = f["start_mrr"] + f["expansion"] - f["contraction"] - f["churn"]
        return quotient(
            self.name,
            kept,
            f["start_mrr"],
            reason="no customers were active at the start of the period",
            currency=self._currency(),
            components={"customers": f["active_start"]},
            period=self.period,
        )


class GrossRevenueRetention(NetRevenueRetention):
    """GRR: like NRR, but each customer counts at most their starting MRR (≤ 1)."""

    name = "gross_revenue_retention"

    def result(self) -> KpiResult:
        """Σ min(MRR_end, MRR_start) over Σ MRR_start."""
        f = self._bridge()
        return quotient(
            self.name,
            f["kept"],
            f["start_mrr"],
            reason="no customers were active at the start of the period",
            currency=self._currency(),
            components={"customers": f["active_start"]},
            period=self.period,
        )


class _InstantKpi(Kpi):
    anchors = ()
    _facts: CustomerFacts

    def __init__(self, *, as_of: datetime, where: Where | None = None) -> None:
        at = check_instant(as_of, "as_of")
        if at is None:
            raise DataError("as_of", as_of, "the instant to measure at")
        self._setup({"as_of": at, "where": where}, CustomerFacts((at,)))


class Mrr(_InstantKpi):
    """Total MRR at an instant, with the number of active customers."""

    name = "mrr"

    def result(self) -> KpiResult:
        """MRR as Money; undefined when no subscription was seen at all."""
        at = self._options["as_of"]
        total, active = self._facts.at(at)
        currency = self._facts.currency()
        if currency is None:
            return undefined(self.name, "money", "no subscriptions", as_of=at)
        return KpiResult(
            self.name,
            Money(total, currency),
            "money",
            components={"customers": active},
            as_of=at,
        )


class Arpa(_InstantKpi):
    """Average revenue per account: MRR / active customers at the instant."""

    name = "arpa"

    def result(self) -> KpiResult:
        """MRR over active customers; undefined with none active."""
        at = self._options["as_of"]
        total, active = self._facts.at(at)
        currency = self._facts.currency()
        if not active or currency is None:
            return undefined(
                self.name,
                "money",
                "no customers are active at the instant",
                numerator=total,
                denominator=active,
                as_of=at,
            )
        return KpiResult(
            self.name,
            Money(divide(total, active), currency),
            "money",
            numerator=Money(total, currency),
            denominator=active,
            as_of=at,
        )


class NewCustomers(_RevenueKpi):
    """Customers whose first payment ever falls in the period.

    Args:
        period: The window.
        channels: Optional acquisition channel per customer id; the result
            then counts new customers by channel (``None`` for unknown).
        where: Only records satisfying this condition or segment.
    """

    name = "new_customers"

    def __init__(
        self,
        period: Window,
        *,
        channels: Mapping[Any, str] | None = None,
        where: Where | None = None,
    ) -> None:
        if channels is not None and not isinstance(channels, Mapping):
            raise DataTypeError(
                "channels", channels, "a mapping of customer id to channel"
            )
        self._window(period, where, channels=channels)

    def result(self) -> KpiResult:
        """The count as a Decimal, with ``by_channel`` when channels are known."""
        start, end = self._start, self._end
        joined = [
            customer
            for customer, (paid, _f, _v) in self._facts.customers.items()
            if paid is not None and start <= paid < end
        ]
        channels = self._options["channels"]
        by_channel: dict[str | None, int] = {}
        if channels is not None:
            for customer in joined:
                channel = channels.get(customer)
                by_channel[channel] = by_channel.get(channel, 0) + 1
        return KpiResult(
            self.name,
            Decimal(len(joined)),
            "count",
            components={
                "by_channel": dict(sorted(by_channel.items(), key=lambda i: str(i[0])))
            },
            period=self.period,
        )


# ---------------------------------------------------------------------------
# One-call functions
# ---------------------------------------------------------------------------
def mrr(
    subscriptions: Iterable[Any],
    *,
    as_of: datetime,
    where: Where | None = None,
    per: GroupKey | None = None,
) -> Any:
    """[`Mrr`][crmcore.kpis.Mrr] over any iterable of subscriptions."""
    return run_kpi(Mrr(as_of=as_of, where=where), subscriptions, per)


def arpa(
    subscriptions: Iterable[Any],
    *,
    as_of: datetime,
    where: Where | None = None,
    per: GroupKey | None = None,
) -> Any:
    """[`Arpa`][crmcore.kpis.Arpa] over any iterable of subscriptions."""
    return run_kpi(Arpa(as_of=as_of, where=where), subscriptions, per)


def mrr_movements(
    subscriptions: Iterable[Any],
    period: Window,
    *,
    where: Where | None = None,
    per: GroupKey | None = None,
) -> Any:
    """[`MrrMovements`][crmcore.kpis.MrrMovements] over any subscriptions."""
    return run_kpi(MrrMovements(period, where=where), subscriptions, per)


def quick_ratio(
    subscriptions: Iterable[Any],
    period: Window,
    *,
    where: Where | None = None,
    per: GroupKey | None = None,
) -> Any:
    """[`QuickRatio`][crmcore.kpis.QuickRatio] over any iterable of subscriptions."""
    return run_kpi(QuickRatio(period, where=where), subscriptions, per)


def customer_retention(
    subscriptions: Iterable[Any],
    period: Window,
    *,
    method: Literal["cohort", "classic"] = "cohort",
    where: Where | None = None,
    per: GroupKey | None = None,
) -> Any:
    """[`CustomerRetention`][crmcore.kpis.CustomerRetention] over subscriptions."""
    return run_kpi(
        CustomerRetention(period, method=method, where=where), subscriptions, per
    )


def logo_churn(
    subscriptions: Iterable[Any],
    period: Window,
    *,
    where: Where | None = None,
    per: GroupKey | None = None,
) -> Any:
    """[`LogoChurn`][crmcore.kpis.LogoChurn] over any iterable of subscriptions."""
    return run_kpi(LogoChurn(period, where=where), subscriptions, per)


def revenue_churn(
    subscriptions: Iterable[Any],
    period: Window,
    *,
    kind: Literal["gross", "net", "net_with_reactivation"] = "gross",
    where: Where | None = None,
    per: GroupKey | None = None,
) -> Any:
    """[`RevenueChurn`][crmcore.kpis.RevenueChurn] over subscriptions."""
    return run_kpi(RevenueChurn(period, kind=kind, where=where), subscriptions, per)


def net_revenue_retention(
    subscriptions: Iterable[Any],
    period: Window | None = None,
    *,
    as_of: datetime | None = None,
    months: int = 12,
    where: Where | None = None,
    per: GroupKey | None = None,
) -> Any:
    """[`NetRevenueRetention`][crmcore.kpis.NetRevenueRetention] over subscriptions."""
    kpi = NetRevenueRetention(period, as_of=as_of, months=months, where=where)
    return run_kpi(kpi, subscriptions, per)


def gross_revenue_retention(
    subscriptions: Iterable[Any],
    period: Window | None = None,
    *,
    as_of: datetime | None = None,
    months: int = 12,
    where: Where | None = None,
    per: GroupKey | None = None,
) -> Any:
    """[`GrossRevenueRetention`][crmcore.kpis.GrossRevenueRetention] over any subscriptions."""  # noqa: E501
    kpi = GrossRevenueRetention(period, as_of=as_of, months=months, where=where)
    return run_kpi(kpi, subscriptions, per)


def new_customers(
    subscriptions: Iterable[Any],
    period: Window,
    *,
    channels: Mapping[Any, str] | None = None,
    where: Where | None = None,
    per: GroupKey | None = None,
) -> Any:
    """[`NewCustomers`][crmcore.kpis.NewCustomers] over subscriptions."""
    kpi = NewCustomers(period, channels=channels, where=where)
    return run_kpi(kpi, subscriptions, per)
