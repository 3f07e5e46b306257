"""RFM: customer-base summaries (BTYD), RFM scores and named RFM segments.

Two related tools for "which customers do we need to understand better":

* [`btyd_summary`][crmcore.rfm.btyd_summary] and
  [`calibration_holdout`][crmcore.rfm.calibration_holdout] turn a transaction
  log into the frequency / recency / T / monetary-value table that
  buy-till-you-die models (BG/NBD, Pareto/NBD, Gamma-Gamma) are fitted on,
  with exactly the definitions of lifetimes and pymc-marketing;
* [`rfm_scores`][crmcore.rfm.rfm_scores] grades each customer 1-5 on recency,
  frequency and money, and [`rfm_segments`][crmcore.rfm.rfm_segments] names
  the cells (champions, at risk, hibernating...) with ordinary conditions.

Transactions are any records with a customer, an aware instant and (optionally)
an amount; the field paths are arguments, so dict rows, ORM objects and
crmcore's own records all work. Amounts are exact (``Decimal``, ``int``,
numeric strings or [`Money`][crmcore.money.Money] of one currency; never
floats), and so are the results.

**The BTYD definitions**, to the digit:

1. Each purchase instant is truncated to its period (``unit`` = day or ISO
   week, in the calendar of ``tz``); purchases in the same period merge into
   one, their amounts summed.
2. The observation end is truncated the same way; purchases in a *later*
   period are dropped (a purchase later on the observation end's own day
   still counts, as in lifetimes).
3. ``frequency`` = distinct purchase periods − 1 (the first purchase is not a
   repeat); ``recency`` = last period − first period; ``T`` = observation-end
   period − first period; recency and T are in units of ``unit`` divided by
   ``multiplier`` (lifetimes' ``freq_multiplier``, pymc-marketing's
   ``time_scaler``).
4. ``monetary_value`` = mean of the per-period sums over the *repeat*
   periods (0 when there are none).
5. ``include_first=True`` counts the first purchase too: frequency is then the
   number of periods and the mean covers every period (for RFM segmentation).

The holdout split follows pymc-marketing's ``rfm_train_test_split``, which
fixes two quirks of lifetimes' ``calibration_and_holdout_data``: the
multiplier applies to the calibration part too, and the holdout monetary
value is a mean of per-period sums, like the calibration one.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Final, Literal

import attrs

from crmcore.access import iterate
from crmcore.calendar import (
    MICROSECOND,
    days_from_microseconds,
    require_aware,
    resolve_zone,
)
from crmcore.conditions import field
from crmcore.errors import (
    CurrencyMismatchError,
    DataError,
    DataTypeError,
    NaiveDatetimeError,
)
from crmcore.money import Money, check_range, divide, exact_arithmetic, to_decimal
from crmcore.records import MISSING, FieldPath, field_getter
from crmcore.segments import Tier, Tiering
from crmcore.validators import check_one_of

__all__ = [
    "CalibrationHoldout",
    "CustomerSummary",
    "RfmScore",
    "btyd_summary",
    "calibration_holdout",
    "rfm_scores",
    "rfm_segments",
]

Unit = Literal["day", "week"]
_UNIT_DAYS: Final = {"day": 1, "week": 7}
_ZERO: Final = Decimal(0)


@attrs.frozen
class CustomerSummary:
    """One customer's row of the BTYD summary.

    Attributes:
        customer: The customer id.
        frequency: Repeat purchase periods (all periods with ``include_first``).
        recency: Last minus first purchase period, in units / multiplier.
        T: Observation-end period minus first purchase period, same units.
        monetary_value: Mean per-period spend over the counted periods
            (``None`` when no amount field was given).
    """

    customer: object
    frequency: int
    recency: Decimal
    T: Decimal
    monetary_value: Decimal | None


@attrs.frozen
class CalibrationHoldout:
    """One customer's calibration summary and what happened in the holdout.

    Attributes:
        customer: The customer id.
        frequency_cal: Repeat periods up to the calibration end.
        recency_cal: Recency in the calibration window.
        T_cal: Calibration-end period minus first period.
        monetary_value_cal: Mean per-period spend (calibration).
        frequency_holdout: Distinct purchase periods in the holdout window.
        monetary_value_holdout: Mean per-period spend in the holdout (0 if none).
        duration_holdout: Holdout length: observation-end period minus
            calibration-end period, in units / multiplier.
    """

    customer: object
    frequency_cal: int
    recency_cal: Decimal
    T_cal: Decimal
    monetary_value_cal: Decimal | None
    frequency_holdout: int
    monetary_value_holdout: Decimal | None
    duration_holdout: Decimal


def _check_unit(unit: object) -> int:
    return _UNIT_DAYS[check_one_of(unit, "unit", ("day", "week"))]


def _check_multiplier(multiplier: object) -> Decimal:
    number = to_decimal(multiplier, "multiplier")
    if number <= 0:
        raise DataError("multiplier", multiplier, "a positive number")
    return number


def _day_index(tz: str) -> Callable[[datetime], int]:
    """Instant -> proleptic ordinal of its local calendar day in ``tz``."""
    zone = resolve_zone(tz)
    epoch = date(1970, 1, 1).toordinal()
    if zone is UTC:

        def utc_day(at: datetime) -> int:
            if at.tzinfo is UTC:
                return at.toordinal()  # already on the UTC calendar
            # Integer arithmetic on the POSIX timestamp: no zone conversion.
            return epoch + int(at.timestamp() // 86_400)

        return utc_day
    return lambda at: at.astimezone(zone).toordinal()


def _period_index(tz: str, days: int) -> Callable[[datetime], int]:
    day_index = _day_index(tz)
    if days == 1:
        return day_index
    # ISO weeks start on Monday; date.fromordinal(1) (0001-01-01) is a Monday.
    return lambda at: (day_index(at) - 1) // 7


class _Amounts:
    """Reads amounts exactly and checks that all money is in one currency."""

    def __init__(self, path: FieldPath | None) -> None:
        self.get = None if path is None else field_getter(path)
        self.label = (
            "" if path is None else (path if isinstance(path, str) else ".".join(path))
        )
        self.currency: str | None = None

    def read(self, record: object) -> Decimal:
        """The amount, finite and non-negative.

        Its range is checked where it is summed: crmcore's exact context
        traps any sum an out-of-range amount would blow up, and
        ``out_of_range`` names the amount then.
        """
        assert self.get is not None
        value = self.get(record)
        if type(value) is Decimal and value.is_finite() and not value.is_signed():
            return value  # the common case, in three C calls
        return self._checked(value)

    def out_of_range(self, value: Decimal) -> DataError:
        """The error for an amount whose sum the exact context refused."""
        try:
            check_range(value, self.label)
        except DataError as error:
            return error
        raise AssertionError(value)  # pragma: no cover - only out-of-range values trap

    def _checked(self, value: object) -> Decimal:
        if type(value) is Decimal:
            amount = value
            if not value.is_finite():
                check_range(value, self.label)  # raises: a finite number
        elif isinstance(value, Money):
            if self.currency is None:
                self.currency = value.currency
            elif value.currency != self.currency:
                raise CurrencyMismatchError(self.label, self.currency, value.currency)
            amount = value.amount
        elif value is MISSING or value is None:
            raise DataError(self.label, value, "an amount on every transaction")
        else:
            amount = to_decimal(value, self.label)
        if amount < 0:
            raise DataError(
                self.label,
                value,
                "a non-negative amount (net refunds against their purchase first)",
            )
        return amount


def _collect(
    transactions: Iterable[Any],
    *,
    customer: FieldPath,
    at: FieldPath,
    amount: FieldPath | None,
    period: Callable[[datetime], int],
    route: Callable[[datetime, int], int] | None = None,
    last_period: int | None = None,
    parts: int = 1,
) -> list[dict[object, dict[int, Decimal]]]:
    """Per customer, the sum of amounts per period, in one pass.

    ``route(instant, period)`` sends each purchase to part 0..``parts``-1, or
    drops it with -1; without ``route`` everything up to ``last_period`` goes
    to part 0. Without an amount field every period sums to 0.
    """
    get_customer, get_at = field_getter(customer), field_getter(at)
    at_label = at if isinstance(at, str) else ".".join(at)
    customer_label = customer if isinstance(customer, str) else ".".join(customer)
    amounts = _Amounts(amount)
    read_amount = amounts.read if amount is not None else None
    result: list[dict[object, dict[int, Decimal]]] = [{} for _ in range(parts)]
    for record in iterate(transactions, "transactions"):
        instant: Any = get_at(record)
        if type(instant) is not datetime or instant.tzinfo is None:
            if isinstance(instant, datetime) and instant.tzinfo is None:
                raise NaiveDatetimeError(at_label, instant)
            require_aware(instant, at_label)
        index = period(instant)
        if route is None:
            if index > last_period:  # type: ignore[operator]
                continue
            target = 0
        else:
            target = route(instant, index)
            if target < 0:
                continue
        key = get_customer(record)
        if key is MISSING or key is None:
            raise DataError(customer_label, key, "a customer on every transaction")
        per_customer = result[target]
        periods = per_customer.get(key)
        if periods is None:
            periods = per_customer[key] = {}
        value = _ZERO if read_amount is None else read_amount(record)
        try:
            periods[index] = periods.get(index, _ZERO) + value
        except decimal.DecimalException:
            raise amounts.out_of_range(value) from None
    return result


def _in_units(periods: int, scale: Decimal) -> Decimal:
    """A count of periods in units of ``scale`` periods (exact when whole)."""
    return Decimal(periods) if scale == 1 else divide(periods, scale)


def _summary_row(
    key: object,
    periods: Mapping[int, Decimal],
    end_index: int,
    *,
    scale: Decimal,
    include_first: bool,
    with_amounts: bool,
) -> CustomerSummary:
    ordered = sorted(periods)
    first, last = ordered[0], ordered[-1]
    counted = ordered if include_first else ordered[1:]
    frequency = len(counted)
    monetary: Decimal | None = None
    if with_amounts:
        monetary = (
            divide(sum((periods[p] for p in counted), _ZERO), frequency)
            if frequency
            else _ZERO
        )
    return CustomerSummary(
        customer=key,
        frequency=frequency,
        recency=_in_units(last - first, scale),
        T=_in_units(end_index - first, scale),
        monetary_value=monetary,
    )


@exact_arithmetic()
def btyd_summary(
    transactions: Iterable[Any],
    *,
    observation_end: datetime,
    customer: FieldPath = "customer_id",
    at: FieldPath = "at",
    amount: FieldPath | None = None,
    unit: Unit = "day",
    multiplier: int | Decimal = 1,
    include_first: bool = False,
    tz: str = "UTC",
) -> dict[object, CustomerSummary]:
    """The frequency / recency / T / monetary-value summary of a transaction log.

    See the module docs for the exact definitions (those of lifetimes'
    ``summary_data_from_transaction_data`` and pymc-marketing's ``rfm_summary``).

    Args:
        transactions: Any iterable of records (streamed once).
        observation_end: End of the observation window (aware).
        customer: Field path of the customer id.
        at: Field path of the purchase instant (aware datetimes).
        amount: Field path of the amount; ``None`` leaves ``monetary_value``
            out (``None`` in the rows).
        unit: ``"day"`` or ``"week"`` (ISO weeks, Monday first).
        multiplier: Divide recency and T by this (e.g. 7 with days = weeks
            as a fraction).
        include_first: Count the first purchase (RFM use) instead of only
            repeats (BTYD use).
        tz: IANA zone whose calendar defines the periods.

    Returns:
        Customer id → [`CustomerSummary`][crmcore.rfm.CustomerSummary], in
        first-seen order.

    Raises:
        NaiveDatetimeError: For a naive ``observation_end`` or purchase instant.
        DataError: For a missing customer or amount, or bad arguments.
        CurrencyMismatchError: When money amounts mix currencies.

    Examples:
        >>> from datetime import datetime, timezone
        >>> def t(day, amount):
        ...     return {"customer_id": "c1", "amount": amount,
        ...             "at": datetime(2026, 1, day, 12, tzinfo=timezone.utc)}
        >>> log = [t(1, 10), t(1, 5), t(5, 20), t(10, 30)]
        >>> row = btyd_summary(log, amount="amount",
        ...     observation_end=datetime(2026, 1, 31, tzinfo=timezone.utc))["c1"]
        >>> row.frequency, row.recency, row.T, row.monetary_value
        (2, Decimal('9'), Decimal('30'), Decimal('25'))
    """
    days = _check_unit(unit)
    scale = _check_multiplier(multiplier)
    require_aware(observation_end, "observation_end")
    period = _period_index(tz, days)
    end_index = period(observation_end)
    (per_customer,) = _collect(
        transactions,
        customer=customer,
        at=at,
        amount=amount,
        period=period,
        last_period=end_index,
    )
    return {
        key: _summary_row(
            key,
            periods,
            end_index,
            scale=scale,
            include_first=include_first,
            with_amounts=amount is not None,
        )
        for key, periods in per_customer.items()
    }


@exact_arithmetic()
def calibration_holdout(
    transactions: Iterable[Any],
    *,
    calibration_end: datetime,
    observation_end: datetime,
    customer: FieldPath = "customer_id",
    at: FieldPath = "at",
    amount: FieldPath | None = None,
    unit: Unit = "day",
    multiplier: int | Decimal = 1,
    include_first: bool = False,
    tz: str = "UTC",
) -> dict[object, CalibrationHoldout]:
    """Split a transaction log at ``calibration_end`` for fitting and checking a model.

    The calibration part is the [`btyd_summary`][crmcore.rfm.btyd_summary] of
    purchases at or before ``calibration_end`` (with ``calibration_end`` as the
    observation end). The holdout counts, per customer, the distinct purchase
    periods strictly after ``calibration_end`` and at or before
    ``observation_end``, and their mean per-period spend. Customers whose
    first purchase is in the holdout are not in the result (a model cannot be
    fitted for them); customers without holdout purchases get zeros.

    Raises:
        DataError: When ``observation_end`` is before ``calibration_end``, or
            no purchase is at or before ``calibration_end``.
    """
    days = _check_unit(unit)
    scale = _check_multiplier(multiplier)
    require_aware(calibration_end, "calibration_end")
    require_aware(observation_end, "observation_end")
    if observation_end < calibration_end:
        raise DataError(
            "observation_end",
            observation_end,
            f"an instant at or after calibration_end ({calibration_end.isoformat()})",
        )
    period = _period_index(tz, days)
    cal_index, end_index = period(calibration_end), period(observation_end)

    def route(instant: datetime, _index: int) -> int:
        if instant <= calibration_end:
            return 0
        return 1 if instant <= observation_end else -1

    calibration, holdout = _collect(
        transactions,
        customer=customer,
        at=at,
        amount=amount,
        period=period,
        route=route,
        parts=2,
    )
    if not calibration:
        raise DataError(
            "transactions",
            "<no purchase in the calibration window>",
            f"at least one purchase at or before {calibration_end.isoformat()}",
        )
    duration = divide(end_index - cal_index, scale)
    result = {}
    for key, periods in calibration.items():
        row = _summary_row(
            key,
            periods,
            cal_index,
            scale=scale,
            include_first=include_first,
            with_amounts=amount is not None,
        )
        later = holdout.get(key, {})
        monetary: Decimal | None = None
        if amount is not None:
            monetary = (
                divide(sum(later.values(), _ZERO), len(later)) if later else _ZERO
            )
        result[key] = CalibrationHoldout(
            customer=key,
            frequency_cal=row.frequency,
            recency_cal=row.recency,
            T_cal=row.T,
            monetary_value_cal=row.monetary_value,
            frequency_holdout=len(later),
            monetary_value_holdout=monetary,
            duration_holdout=duration,
        )
    return result


# ---------------------------------------------------------------------------
# RFM scores and segments
# ---------------------------------------------------------------------------
@attrs.frozen
class RfmScore:
    """One customer's recency, frequency and monetary values and their 1-5 scores.

    Attributes:
        customer: The customer id.
        recency_days: Days from the last purchase to ``as_of`` (fractional).
        frequency: Number of purchases (transactions, not periods).
        monetary: Total spend.
        r: Recency score, 1 (longest ago) to ``bins`` (most recent).
        f: Frequency score, 1 (fewest) to ``bins`` (most).
        m: Monetary score, 1 (least) to ``bins`` (most).
    """

    customer: object
    recency_days: Decimal
    frequency: int
    monetary: Decimal
    r: int
    f: int
    m: int

    @property
    def cell(self) -> str:
        """The RFM cell, e.g. ``"545"``."""
        return f"{self.r}{self.f}{self.m}"


def _scores(values: dict[object, int | Decimal], bins: int) -> dict[object, int]:
    """Mid-rank percentile scores, 1..bins, higher value -> higher score.

    A value's percentile is (number below + half the number equal) / n; its
    score is 1 + floor(bins × percentile), at most ``bins``. Ties share a
    score; if every value is equal, all get the middle score. Integer
    arithmetic, so no rounding can break a tie.
    """
    n = len(values)
    ordered = sorted(values.values())
    by_value: dict[int | Decimal, int] = {}
    below = 0
    for position, value in enumerate(ordered):
        if position + 1 < n and ordered[position + 1] == value:
            continue
        equal = position + 1 - below
        by_value[value] = min(bins, 1 + (bins * (2 * below + equal)) // (2 * n))
        below = position + 1
    return {key: by_value[value] for key, value in values.items()}


@exact_arithmetic()
def rfm_scores(
    transactions: Iterable[Any],
    *,
    as_of: datetime,
    customer: FieldPath = "customer_id",
    at: FieldPath = "at",
    amount: FieldPath = "amount",
    bins: int = 5,
) -> dict[object, RfmScore]:
    """Recency, frequency and monetary scores (1 to ``bins``) for each customer.

    Purchases after ``as_of`` are ignored. Recency is the time from the last
    purchase to ``as_of`` (lower is better); frequency the number of
    purchases; monetary the total spend. Each is scored by its mid-rank
    percentile among all customers (see ``_scores``): ties share a score.

    Raises:
        DataError: When no purchase is at or before ``as_of``, or ``bins`` < 2.

    Examples:
        >>> from datetime import datetime, timezone
        >>> def t(who, day, amount):
        ...     return {"customer_id": who, "amount": amount,
        ...             "at": datetime(2026, 1, day, tzinfo=timezone.utc)}
        >>> log = [t("a", 1, 10), t("a", 20, 30), t("b", 5, 5), t("c", 28, 200)]
        >>> scores = rfm_scores(log, as_of=datetime(2026, 2, 1, tzinfo=timezone.utc))
        >>> [(k, s.cell) for k, s in scores.items()]
        [('a', '353'), ('b', '121'), ('c', '525')]
    """
    if type(bins) is not int or bins < 2:
        raise DataError("bins", bins, "an int of at least 2")
    require_aware(as_of, "as_of")
    get_customer, get_at = field_getter(customer), field_getter(at)
    at_label = at if isinstance(at, str) else ".".join(at)
    customer_label = customer if isinstance(customer, str) else ".".join(customer)
    if amount is None:
        raise DataTypeError(
            "amount", amount, "the field path of each purchase's amount"
        )
    amounts = _Amounts(amount)
    last: dict[object, datetime] = {}
    count: dict[object, int] = {}
    total: dict[object, Decimal] = {}
    for record in iterate(transactions, "transactions"):
        instant: Any = get_at(record)
        if isinstance(instant, datetime) and instant.tzinfo is None:
            raise NaiveDatetimeError(at_label, instant)
        require_aware(instant, at_label)
        if instant > as_of:
            continue
        key = get_customer(record)
        if key is MISSING or key is None:
            raise DataError(customer_label, key, "a customer on every transaction")
        value = amounts.read(record)
        if key in last:
            count[key] += 1
            try:
                total[key] += value
            except decimal.DecimalException:
                raise amounts.out_of_range(value) from None
            last[key] = max(last[key], instant)
        else:
            try:
                # Added to zero so that the exact context checks its range.
                last[key], count[key], total[key] = instant, 1, value + _ZERO
            except decimal.DecimalException:
                raise amounts.out_of_range(value) from None
    if not last:
        raise DataError(
            "transactions",
            "<no purchase>",
            f"at least one purchase at or before {as_of}",
        )
    # Microseconds since the last purchase, as integers: exact ranks.
    age = {key: (as_of - when) // MICROSECOND for key, when in last.items()}
    r = _scores({key: -value for key, value in age.items()}, bins)
    f = _scores(dict(count), bins)
    m = _scores(dict(total), bins)
    return {
        key: RfmScore(
            customer=key,
            recency_days=days_from_microseconds(age[key]),
            frequency=count[key],
            monetary=total[key],
            r=r[key],
            f=f[key],
            m=m[key],
        )
        for key in last
    }


def rfm_segments() -> Tiering:
    """Named RFM segments over the ``r``, ``f`` and ``m`` scores; first match wins.

    Copy and edit: they are ordinary conditions. Every one of the 125 cells
    gets exactly one of: champions, loyal, cant_lose_them, at_risk,
    potential_loyalists, new_customers, promising, need_attention,
    about_to_sleep, hibernating, lost.

    Examples:
        >>> rfm_segments().assign({"r": 5, "f": 5, "m": 5})
        'champions'
        >>> rfm_segments().assign({"r": 1, "f": 5, "m": 5})
        'cant_lose_them'
    """
    r, f, m = field("r"), field("f"), field("m")
    return Tiering(
        "rfm",
        (
            Tier(
                "champions",
                (r >= 4) & (f >= 4) & (m >= 4),
                description="Bought recently, often, and spend the most.",
            ),
            Tier(
                "loyal", (r >= 3) & (f >= 4), description="Buy often and not long ago."
            ),
            Tier(
                "cant_lose_them",
                (r <= 2) & (f >= 4) & (m >= 4),
                description="Were among the best; gone quiet.",
            ),
            Tier(
                "at_risk",
                (r <= 2) & (f >= 3),
                description="Bought often, but long ago.",
            ),
            Tier(
                "potential_loyalists",
                (r >= 4) & (f >= 2),
                description="Recent, with a few purchases.",
            ),
            Tier(
                "new_customers",
                (r >= 4) & (f == 1),
                description="Recent first purchase.",
            ),
            Tier(
                "promising",
                (r == 3) & (f <= 2),
                description="Fairly recent, few purchases.",
            ),
            Tier(
                "need_attention",
                (r == 3) & (f == 3),
                description="Average recency and frequency.",
            ),
            Tier(
                "about_to_sleep",
                (r == 2) & (f <= 2),
                description="Fading: few purchases, a while ago.",
            ),
            Tier(
                "hibernating",
                (r == 1) & (f == 2),
                description="Long ago, few purchases.",
            ),
            Tier("lost", (r == 1) & (f == 1), description="Long ago, once."),
        ),
        default="unclassified",
    )
