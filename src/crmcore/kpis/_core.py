"""The shared machinery of the KPI catalogue: results, accumulators, grouping.

Every KPI in crmcore is an *accumulator*: an object with ``add`` (one record),
``update`` (many), ``merge`` (two partial accumulators, returning a new one),
``empty`` (a fresh accumulator with the same options: the identity of
``merge``) and ``result``. Accumulators keep additive *facts* (counts, exact
sums, lists of durations) and compute the KPI only in ``result``, so rates
are never averaged and any partition of the input, merged, gives exactly the
single-pass result.
"""

from __future__ import annotations

import copy
import html
from bisect import bisect_right
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import islice, repeat
from typing import (
    Any,
    ClassVar,
    Final,
    Protocol,
    Self,
    TypeAlias,
    TypeVar,
    final,
)

import attrs

from crmcore.access import (
    ATTRIBUTE,
    MODES,
    Columns,
    from_micros,
    iterate,
    to_micros,
)
from crmcore.calendar import (
    Interval,
    Period,
    PeriodUnit,
    period_of,
    period_unit,
    require_aware,
    resolve_zone,
)
from crmcore.conditions import (
    CONDITION_KINDS,
    Condition,
    compile_condition,
    condition_fields,
)
from crmcore.errors import (
    CrmcoreError,
    CurrencyMismatchError,
    DataError,
    DataTypeError,
)
from crmcore.money import Money, check_range, divide, exact_arithmetic
from crmcore.records import MISSING, FrozenMap, field_getter, get_field, parse_path
from crmcore.validators import check_fraction

__all__ = [
    "KPI_LABELS",
    "Accumulator",
    "GroupKey",
    "Grouped",
    "GroupedResult",
    "HasCondition",
    "KpiLabel",
    "KpiResult",
    "PeriodKey",
    "Where",
    "Window",
    "by_period",
    "kpi_label",
]

Window: TypeAlias = Period | Interval
"""A KPI's time window: a calendar [`Period`][crmcore.calendar.Period] or any
half-open [`Interval`][crmcore.calendar.Interval]."""

R_co = TypeVar("R_co", covariant=True)

# Ratios and averages keep 28 significant digits, whatever the caller's
# decimal context is: results never depend on global state.
_ZERO: Final = Decimal(0)
_ONE: Final = Decimal(1)


class Accumulator(Protocol[R_co]):
    """What every KPI accumulator does; write your own to join the catalogue.

    The laws (property-tested for every accumulator crmcore ships):

    * ``a.merge(b).merge(c)`` equals ``a.merge(b.merge(c))``;
    * ``a.empty().merge(a)`` and ``a.merge(a.empty())`` give ``a``'s result;
    * any partition of the records, accumulated separately and merged, gives
      exactly the result of one pass; the order of records does not matter.
    """

    def add(self, record: Any) -> None:
        """Count one record."""
        ...

    def update(self, records: Iterable[Any]) -> Self:
        """Count every record of an iterable (consumed once); return ``self``."""
        ...

    def merge(self, other: Self) -> Self:
        """A new accumulator holding both; neither input changes."""
        ...

    def empty(self) -> Self:
        """A new, empty accumulator with the same options."""
        ...

    def result(self) -> R_co:
        """The KPI over everything counted so far."""
        ...


# ---------------------------------------------------------------------------
# Labels: what each KPI is called and means, for people
# ---------------------------------------------------------------------------
@final
@attrs.frozen
class KpiLabel:
    """How a KPI is shown to people: a label and a one-line definition.

    Attributes:
        label: The name a finance team reads (``"Net revenue retention"``).
        definition: One line saying what is divided by what, over which base.
    """

    label: str
    definition: str


def _labels(**entries: tuple[str, str]) -> FrozenMap:
    return FrozenMap({key: KpiLabel(*entry) for key, entry in entries.items()})


KPI_LABELS: Final[Mapping[str, KpiLabel]] = _labels(
    win_rate=("Win rate", "Deals won over deals closed (won or lost), by count."),
    win_rate_by_value=("Win rate by value", "Amount won over amount closed."),
    average_deal_size=("Average deal size", "Amount won over deals won."),
    sales_cycle=(
        "Sales cycle",
        "Mean days from creation to close of the deals won (median and p90 too).",
    ),
    open_pipeline=("Open pipeline", "Amount of the deals open at the instant."),
    weighted_pipeline=(
        "Weighted pipeline",
        "Open amount times each deal's win probability (its own, else its stage's).",
    ),
    pipeline_velocity=(
        "Pipeline velocity",
        "Open deals x win rate x average deal size / sales cycle: revenue per day.",
    ),
    lead_conversion=(
        "Lead conversion",
        "Leads created in the period that converted (within the window), over "
        "leads created.",
    ),
    lead_conversion_period=(
        "Lead conversion in the period",
        "Leads converted in the period over leads created in the period.",
    ),
    mrr=("MRR", "Monthly recurring revenue of the subscriptions active at the end."),
    arpa=("ARPA", "MRR over the accounts paying at the end."),
    net_new_mrr=(
        "Net new MRR",
        "MRR at the end less MRR at the start: new + reactivation + expansion "
        "- contraction - churn.",
    ),
    quick_ratio=(
        "Quick ratio",
        "New, reactivated and expansion MRR over contracted and churned MRR.",
    ),
    new_customers=("New customers", "Customers whose first payment is in the period."),
    customer_retention=(
        "Customer retention",
        "Customers active at the start still active at the end, over those at "
        "the start.",
    ),
    logo_churn=(
        "Logo churn",
        "Customers active at the start who left, over those at the start.",
    ),
    monthly_logo_churn=("Logo churn, last month", "Logo churn over the last month."),
    gross_revenue_churn=(
        "Gross revenue churn",
        "Churned and contracted MRR over the MRR at the start.",
    ),
    net_revenue_churn=(
        "Net revenue churn",
        "Churned and contracted MRR less expansion, over the MRR at the start: "
        "1 - NRR.",
    ),
    net_revenue_churn_with_reactivation=(
        "Net revenue churn with reactivation",
        "Net revenue churn less the MRR of returning customers (not 1 - NRR).",
    ),
    net_revenue_retention=(
        "Net revenue retention",
        "MRR the customers active at the start pay at the end, over their MRR "
        "at the start.",
    ),
    gross_revenue_retention=(
        "Gross revenue retention",
        "Net revenue retention without expansion (at most 100 %).",
    ),
    marketing_spend=("Marketing spend", "Acquisition spend in the period."),
    cac=("CAC", "Acquisition spend over new customers."),
    paid_cac=("Paid CAC", "Spend on paid channels over the new customers they won."),
    cac_payback=(
        "CAC payback",
        "Months of gross margin per new customer's MRR to earn back the CAC.",
    ),
    ltv=(
        "Lifetime value",
        "ARPA x gross margin / monthly logo churn: margin over a customer's life.",
    ),
    discounted_ltv=(
        "Discounted lifetime value",
        "Lifetime value with each month's margin discounted.",
    ),
    ltv_to_cac=("LTV : CAC", "Lifetime value over acquisition cost."),
    cohort_retention=(
        "Cohort retention",
        "Customers (and MRR) of each start cohort still active k periods later.",
    ),
    handoff_attainment=(
        "Handoff SLA attainment",
        "Handoffs accepted within their SLA over handoffs due.",
    ),
    time_to_accept=(
        "Time to accept",
        "Business hours from handoff to acceptance (median and p90).",
    ),
    handoff_breaches=("Handoff breaches", "Handoffs past their SLA, by stage of it."),
)
"""Every KPI of the catalogue (and every key of the KPI report) by name: its
label and one-line definition, used by the report, the demo and notebooks."""


def kpi_label(name: str) -> KpiLabel:
    """The label of a KPI by name; a KPI outside the catalogue gets its name.

    Examples:
        >>> kpi_label("net_revenue_retention").label
        'Net revenue retention'
        >>> kpi_label("my_vendor_kpi")
        KpiLabel(label='My vendor kpi', definition='')
    """
    if not isinstance(name, str):
        raise DataTypeError("name", name, "a KPI name (str)")
    found = KPI_LABELS.get(name)
    if found is None:
        return KpiLabel(name.replace("_", " ").capitalize(), "")
    return found


# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------
Number: TypeAlias = Decimal | Money | int
_UNITS: Final = frozenset(
    {
        "ratio",
        "money",
        "money_per_day",
        "days",
        "hours",
        "months",
        "count",
        "multiple",
    }
)


def _plain(value: object) -> object:
    """A value as it goes into a row: Money becomes its amount, periods labels."""
    if isinstance(value, Money):
        return value.amount
    if isinstance(value, Period):
        return value.label
    if isinstance(value, Interval):
        return f"{value.start.isoformat()}/{value.end.isoformat()}"
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _label(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:,.4f}".rstrip("0").rstrip(".") if value % 1 else f"{value:,}"
    if isinstance(value, Money):
        return f"{_label(value.amount)} {value.currency}"
    plain = _plain(value)
    return str(plain)


def html_table(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A small, escaped HTML table for notebooks."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_label(v))}</td>" for v in row) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _unit(_i: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value not in _UNITS:
        raise DataError(attribute.name, value, f"one of {', '.join(sorted(_UNITS))}")


@final
@attrs.frozen
class KpiResult:
    """One KPI value with everything needed to check it.

    Attributes:
        kpi: The KPI's name, e.g. ``"win_rate"``.
        value: The value: a ``Decimal`` (ratios, days, months, multiples) or
            [`Money`][crmcore.money.Money]; ``None`` when undefined.
        unit: ``ratio``, ``money``, ``money_per_day``, ``days``, ``hours``,
            ``months``, ``count`` or ``multiple``.
        numerator: What was divided, when the KPI is a quotient.
        denominator: What it was divided by.
        components: Every other figure the value was built from, by name.
        period: The window the KPI describes, if any.
        as_of: The instant the KPI describes, if any.
        reason: Why the value is undefined (``None`` when it is defined).
    """

    kpi: str
    value: Decimal | Money | None
    unit: str = attrs.field(validator=_unit)
    numerator: Number | None = None
    denominator: Number | None = None
    components: Mapping[str, Any] = attrs.field(factory=FrozenMap, converter=FrozenMap)
    period: Window | None = None
    as_of: datetime | None = None
    reason: str | None = None

    def __attrs_post_init__(self) -> None:
        if (self.value is None) == (self.reason is None):
            raise DataError(
                "reason",
                self.reason,
                "a reason exactly when the value is None",
            )

    @property
    def defined(self) -> bool:
        """Whether the KPI has a value."""
        return self.value is not None

    @property
    def label(self) -> str:
        """The KPI's human label ([`KPI_LABELS`][crmcore.kpis.KPI_LABELS])."""
        return kpi_label(self.kpi).label

    @property
    def definition(self) -> str:
        """The KPI's one-line definition (empty outside the catalogue)."""
        return kpi_label(self.kpi).definition

    @property
    def currency(self) -> str | None:
        """The currency of the money involved, if any."""
        for part in (self.value, self.numerator, self.denominator):
            if isinstance(part, Money):
                return part.currency
        currency = self.components.get("currency")
        return currency if isinstance(currency, str) else None

    def to_dict(self) -> dict[str, Any]:
        """One flat, plain row: ``pandas.DataFrame([r.to_dict() for r in ...])``.

        Money becomes its ``Decimal`` amount (the currency is its own column),
        periods become their labels; components are prefixed columns.
        """
        row: dict[str, Any] = {
            "kpi": self.kpi,
            "value": _plain(self.value),
            "unit": self.unit,
            "currency": self.currency,
            "numerator": _plain(self.numerator),
            "denominator": _plain(self.denominator),
            "period": _plain(self.period),
            "as_of": self.as_of,
            "reason": self.reason,
        }
        for name, value in self.components.items():
            row[name] = _plain(value)
        return row

    def __str__(self) -> str:
        where = f" {_plain(self.period)}" if self.period is not None else ""
        if self.value is None:
            return f"{self.kpi}{where}: undefined ({self.reason})"
        shown = (
            f"{self.value * 100:.2f} %"
            if self.unit == "ratio" and isinstance(self.value, Decimal)
            else _label(self.value)
        )
        return f"{self.kpi}{where}: {shown}"

    def _repr_html_(self) -> str:
        row = {"label": self.label, "definition": self.definition, **self.to_dict()}
        return html_table(["", ""], [(k, v) for k, v in row.items() if v])


def undefined(kpi: str, unit: str, reason: str, **details: Any) -> KpiResult:
    """An undefined result with its reason."""
    return KpiResult(kpi, None, unit, reason=reason, **details)


def quotient(
    kpi: str,
    numerator: Decimal | int,
    denominator: Decimal | int,
    *,
    reason: str,
    unit: str = "ratio",
    currency: str | None = None,
    components: Mapping[str, Any] | None = None,
    period: Window | None = None,
    as_of: datetime | None = None,
) -> KpiResult:
    """A ratio of two additive figures, undefined (with ``reason``) over zero.

    The one way every rate of crmcore is built from its counts (the KPIs,
    the data-trust checks): the result carries its numerator and
    denominator, and says why it is undefined when the denominator is zero.
    With a ``currency``, numerator and denominator are money amounts.

    Raises:
        DataTypeError: For a figure that is not an int or a finite
            ``Decimal``, or a name or reason that is not a text.

    Examples:
        >>> quotient("win_rate", 3, 4, reason="no closed deals").value
        Decimal('0.75')
        >>> quotient("win_rate", 0, 0, reason="no closed deals").reason
        'no closed deals'
    """
    for label, text in (("kpi", kpi), ("reason", reason)):
        if not isinstance(text, str) or not text.strip():
            raise DataTypeError(label, text, "a non-empty text")
    for label, figure in (("numerator", numerator), ("denominator", denominator)):
        if not (
            (type(figure) is int)
            or (isinstance(figure, Decimal) and figure.is_finite())
        ):
            raise DataTypeError(label, figure, "an int or a finite Decimal")
        check_range(Decimal(figure), label)
    if as_of is not None:
        require_aware(as_of, "as_of")
    details: dict[str, Any] = {"period": check_window(period), "as_of": as_of}
    if components is not None:
        if not isinstance(components, Mapping):
            raise DataTypeError("components", components, "a mapping of name to figure")
        details["components"] = components
    num: Number = numerator if currency is None else Money(numerator, currency)
    den: Number = denominator if currency is None else Money(denominator, currency)
    if denominator == 0:
        return KpiResult(
            kpi, None, unit, numerator=num, denominator=den, reason=reason, **details
        )
    return KpiResult(
        kpi,
        divide(numerator, denominator),
        unit,
        numerator=num,
        denominator=den,
        **details,
    )


# ---------------------------------------------------------------------------
# Options shared by every KPI
# ---------------------------------------------------------------------------
def fraction(value: object, field: str, *, upper: Decimal | None = _ONE) -> Decimal:
    """A number (or a KPI result's value) between 0 and ``upper``, exactly."""
    if isinstance(value, KpiResult):
        value = value.value
    return check_fraction(value, field, upper=upper)


def check_window(value: object, field: str = "period") -> Window | None:
    """Validate an optional window argument."""
    if value is None or isinstance(value, (Period, Interval)):
        return value
    raise DataTypeError(field, value, "a Period, an Interval or None")


def check_instant(value: object, field: str) -> datetime | None:
    """Validate an optional aware instant."""
    if value is None:
        return None
    return require_aware(value, field)


def one_currency(currencies: Iterable[str], field: str) -> str | None:
    """The single currency of some sums, or a CurrencyMismatchError naming both."""
    found = sorted(currencies)
    if len(found) > 1:
        raise CurrencyMismatchError(field, found[0], found[1])
    return found[0] if found else None


# ---------------------------------------------------------------------------
# Reading records fast, whatever their shape
# ---------------------------------------------------------------------------
INFINITY: Final = Decimal("Infinity")
# Window sentinels: every aware datetime lies between them, and comparing a
# naive one with them raises TypeError (which the hot loops rely on).
EARLIEST: Final = datetime.min.replace(tzinfo=UTC)
LATEST: Final = datetime.max.replace(tzinfo=UTC)


def exact(value: object) -> Decimal:
    """An int (not a bool) or Decimal subclass as a Decimal, else ``Invalid``.

    The hot loops test ``type(amount) is Decimal`` first and call this for
    anything else; their checked path then explains the refusal.
    """
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise Invalid
    return Decimal(value)


class Invalid(Exception):  # noqa: N818 - a signal, not an error users see
    """Raised in a fast loop for a record it will not handle.

    The loop then asks its checked path, which raises the crmcore error that
    names the field, the value and what was expected.
    """


def record_label(record: object) -> str:
    """A short name for a record in error messages: its id when it has one."""
    for name in ("id", "customer_id", "record_id"):
        value = get_field(record, name)
        if value is not MISSING:
            return f"{name}={value!r}"
    return f"{type(record).__name__} record"


def check_aware(value: object, field: str, record: object) -> datetime:
    """An aware datetime, or a crmcore error naming the field and the record."""
    return require_aware(value, f"{field} ({record_label(record)})")


def check_amount(value: object, field: str, record: object) -> Decimal:
    """A non-negative exact amount (Decimal or int), or a crmcore error."""
    where = f"{field} ({record_label(record)})"
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        hint = (
            "floats are not exact; convert with Decimal(str(x))"
            if isinstance(value, float)
            else None
        )
        raise DataTypeError(where, value, "a Decimal or int amount", hint=hint)
    if not Decimal(value).is_finite() or value < 0:
        raise DataError(where, value, "a finite, non-negative amount")
    return check_range(Decimal(value), where)


# ---------------------------------------------------------------------------
# The KPI base class
# ---------------------------------------------------------------------------
class Facts(Protocol):
    """The additive state behind one or more KPIs.

    One facts object can serve several KPIs (the report gathers its deal
    facts once for win rate, deal size, cycle and both pipelines): a KPI reads
    facts through its ``result_from`` when they ``cover`` its own.
    """

    def update(self, records: Iterable[Any]) -> None:
        """Count records (already filtered by the KPI's ``where``)."""
        ...

    def merged(self, other: Any) -> Any:
        """A new facts object holding both."""
        ...

    def cleared(self) -> Any:
        """An empty copy with the same options."""
        ...

    def covers(self, other: Any) -> bool:
        """Whether these facts hold everything ``other`` (same type) would."""
        ...


class HasCondition(Protocol):
    """Anything with a ``condition``: a [`Segment`][crmcore.segments.Segment]."""

    @property
    def condition(self) -> Condition:
        """Who is in."""
        ...


Where: TypeAlias = "Condition | HasCondition"
"""What ``where=`` accepts: a condition, or a segment (anything with a
``condition``); the KPI then counts only the records it holds for."""


def _compile_where(options: Mapping[str, Any]) -> Callable[[Any], bool] | None:
    """The compiled ``where`` filter of a KPI's options (``None``: keep all)."""
    where = options.get("where")
    if where is None:
        return None
    condition: Condition = where
    if not CONDITION_KINDS.holds(where):
        condition = getattr(where, "condition", None)  # type: ignore[assignment]
        if not CONDITION_KINDS.holds(condition):
            raise DataTypeError("where", where, "a condition, a Segment or None")
    as_of = options.get("as_of")
    period = options.get("period")
    if as_of is None and period is not None:
        as_of = period.end
    return compile_condition(condition).bind(as_of)


class Kpi:
    """Base of the catalogue's accumulators: options, a filter and facts.

    Subclasses set ``name`` and ``anchors`` (the date fields that place a
    record in a period, for [`by_period`][crmcore.kpis.by_period]), build
    their facts in ``__init__`` and compute ``result`` from them.
    """

    name: ClassVar[str] = ""
    anchors: tuple[str, ...] = ()
    _facts: Any
    _options: dict[str, Any]
    _keep: Callable[[Any], bool] | None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Run every subclass's ``result`` in crmcore's own decimal context."""
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("result")
        if own is not None:
            setattr(cls, "result", exact_arithmetic()(own))  # noqa: B010 - typed as defined

    def _setup(self, options: dict[str, Any], facts: Any) -> None:
        self._options = options
        self._facts = facts
        self._keep = _compile_where(options)

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without the compiled filter; loading compiles it again.

        Accumulators travel between processes (Dask, Spark, multiprocessing)
        as long as their options pickle.
        """
        state = dict(self.__dict__)
        state.pop("_keep", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._keep = _compile_where(self._options)

    @property
    def fields(self) -> frozenset[str] | None:
        """The top-level record fields this KPI reads; ``None``: any of them.

        Readers of wide data (``crmcore.frames``) convert only these
        columns; the result is the same as over every column.
        """
        own: frozenset[str] | None = getattr(self._facts, "fields", None)
        if own is None:
            return None
        where = self._options.get("where")
        if where is None:
            return own
        condition = where if CONDITION_KINDS.holds(where) else where.condition
        return own | {
            path.split(".")[0].split("[")[0] for path in condition_fields(condition)
        }

    @property
    def options(self) -> Mapping[str, Any]:
        """The options this accumulator was built with."""
        return FrozenMap(self._options)

    @property
    def facts(self) -> Facts:
        """The additive state counted so far (read it; never change it)."""
        facts: Facts = self._facts
        return facts

    def result_from(self, facts: Facts) -> Any:
        """This KPI's result over facts another accumulator gathered.

        One pass can then serve several KPIs: the facts must be of this KPI's
        type and ``cover`` its options (the same window, exclusions...). Not
        for a KPI with ``where`` (facts carry no filter). This accumulator
        does not change.

        Raises:
            DataTypeError: When the facts are of another type.
            DataError: When they do not cover this KPI's options, or the KPI
                has a ``where``.

        Examples:
            >>> from crmcore.kpis import SalesCycle, WinRate
            >>> cycle = SalesCycle()
            >>> WinRate().result_from(cycle.facts).reason
            'no deals closed in the period'
            >>> cycle.result_from(WinRate().facts)  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            ...
            crmcore.errors.DataError: facts: expected facts that cover SalesCycle(basis='won', exclude_reasons=frozenset()), got <...DealFacts object at ...> (DealFacts)
        """  # noqa: E501
        mine = self._facts
        if type(facts) is not type(mine):
            raise DataTypeError("facts", facts, f"{type(mine).__name__} facts")
        if self._options.get("where") is not None:
            raise DataError(
                "facts", facts, "a KPI without where (facts carry no filter)"
            )
        if not facts.covers(mine):
            raise DataError("facts", facts, f"facts that cover {self!r}")
        view = copy.copy(self)
        view._facts = facts
        return view.result()

    @property
    def period(self) -> Window | None:
        """The window the KPI describes, if any."""
        period: Window | None = self._options.get("period")
        return period

    def add(self, record: Any) -> None:
        """Count one record (skipped when it fails ``where``)."""
        self.update((record,))

    def update(self, records: Iterable[Any]) -> Self:
        """Count every record of an iterable, consumed once; return ``self``."""
        keep = self._keep
        with exact_arithmetic():
            if type(records) is Columns:
                if keep is not None:
                    records = records.take(
                        [index for index, row in enumerate(records) if keep(row)]
                    )
                columnar = getattr(self._facts, "update_columns", None)
                if columnar is not None:
                    columnar(records)
                    return self
            rows = iterate(records)
            self._facts.update(rows if keep is None else filter(keep, rows))
        return self

    def merge(self, other: Self) -> Self:
        """A new accumulator holding both; neither input changes.

        Raises:
            DataError: When ``other`` is another KPI or has other options.
        """
        if type(other) is not type(self) or other._options != self._options:
            raise DataError(
                "other",
                other,
                f"a {type(self).__name__} accumulator with the same options",
            )
        merged = copy.copy(self)
        merged._facts = self._facts.merged(other._facts)
        return merged

    def empty(self) -> Self:
        """A new, empty accumulator with the same options."""
        fresh = copy.copy(self)
        fresh._facts = self._facts.cleared()
        return fresh

    def for_period(self, period: Window) -> Self:
        """An empty accumulator with the same options over another period.

        Raises:
            DataError: For a KPI that describes an instant, not a period.
        """
        if "period" not in self._options:
            raise DataError(
                "period", period, f"no period: {type(self).__name__} has as_of"
            )
        return type(self)(**{**self._options, "period": period})

    def result(self) -> Any:  # pragma: no cover - every subclass overrides it
        """The KPI over everything counted so far."""
        raise NotImplementedError

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{k}={_plain(v)!r}" for k, v in self._options.items() if v is not None
        )
        return f"{type(self).__name__}({shown})"


# ---------------------------------------------------------------------------
# Grouping
# ---------------------------------------------------------------------------
@final
@attrs.frozen
class PeriodKey:
    """Group by calendar period; made by [`by_period`][crmcore.kpis.by_period].

    Attributes:
        unit: The period unit.
        tz: The IANA zone whose calendar defines the periods.
        field: The date field that places a record; ``None`` uses the KPI's
            own anchors (``closed_at`` for win rate, ``created_at`` for lead
            cohorts...).
    """

    unit: PeriodUnit | str = "month"
    tz: str = "UTC"
    field: str | None = None


def by_period(
    unit: PeriodUnit | str = "month", *, tz: str = "UTC", field: str | None = None
) -> PeriodKey:
    """Group a KPI by calendar (or fiscal) period.

    Each group is the KPI over that period: a record goes to the period of
    each of the KPI's anchor dates (a lead converted in March but created in
    February counts in both for period conversion). Records without the date
    go to the group ``None``; nothing is dropped.

    Examples:
        >>> by_period("quarter").unit
        'quarter'
    """
    period_unit(unit)
    resolve_zone(tz)
    if field is not None:
        parse_path(field)
    return PeriodKey(unit, tz, field)


GroupKey: TypeAlias = PeriodKey | str | Callable[[Any], Hashable] | Sequence[Any] | Any
"""What ``per=`` accepts: a [`by_period`][crmcore.kpis.by_period] key, a field
path, a [`Tiering`][crmcore.segments.Tiering], a list of
[`Segment`][crmcore.segments.Segment]s or a function of the record."""


def _period_keys(
    key: PeriodKey, anchors: tuple[str, ...]
) -> Callable[[Any], tuple[Hashable, ...]]:
    paths = (key.field,) if key.field is not None else anchors
    if not paths:
        raise DataError(
            "per",
            key,
            "a KPI with a date to group by (this one describes instants; "
            "compute it per period instead)",
        )
    place = _Periods(key.unit, key.tz, micros=False).place
    getters = [(field_getter(p), p) for p in paths]

    def keys(record: Any) -> tuple[Hashable, ...]:
        if len(getters) == 1:
            get, path = getters[0]
            return (place(get(record), path),)
        return _distinct(tuple(place(get(record), path) for get, path in getters))

    return keys


class _Periods:
    """The periods of instants, found once each and kept sorted.

    A sorted list of the periods found so far, bisected in C, answers every
    instant after the first of its period, in any order. With ``micros``
    the instants are integer microseconds since the epoch. Each period has
    a serial number (its position in ``found``), a cheap dictionary key.
    """

    __slots__ = ("ends", "found", "micros", "serials", "starts", "tz", "unit")

    def __init__(self, unit: PeriodUnit | str, tz: str, *, micros: bool) -> None:
        self.unit = unit
        self.tz = tz
        self.micros = micros
        self.starts: list[Any] = []
        self.ends: list[Any] = []
        self.serials: list[int] = []
        self.found: list[Period | None] = [None]  # serial 0: no instant

    def serial(self, instant: object, path: str) -> int:
        """The serial of the period of an instant (0 for a missing one)."""
        if instant is None or instant is MISSING:
            return 0
        starts = self.starts
        try:
            position = bisect_right(starts, instant) - 1
            if position >= 0 and instant < self.ends[position]:
                return self.serials[position]
        except TypeError:  # naive or not an instant: explained just below
            pass
        if self.micros:
            found = period_of(from_micros(instant), self.unit, tz=self.tz)  # type: ignore[arg-type]
        else:
            if type(instant) is not datetime or instant.tzinfo is None:
                require_aware(instant, path)
            found = period_of(instant, self.unit, tz=self.tz)  # type: ignore[arg-type]
        start: Any = found.start
        end: Any = found.end
        if self.micros:
            start, end = to_micros(start), to_micros(end)
        position = bisect_right(starts, start)
        starts.insert(position, start)
        self.ends.insert(position, end)
        self.serials.insert(position, len(self.found))
        self.found.append(found)
        return len(self.found) - 1

    def place(self, instant: object, path: str) -> Hashable:
        """The period of an instant (of the field ``path``); ``None`` if missing."""
        return self.found[self.serial(instant, path)]


def _placer(
    unit: PeriodUnit | str, tz: str, *, micros: bool = False
) -> Callable[[object, str], Hashable]:
    """The period of an instant (of the field ``path``), from the periods seen."""
    return _Periods(unit, tz, micros=micros).place


def _period_buckets(
    chunk: list[Any], name: str, periods: _Periods, get: Callable[[object], object]
) -> dict[Any, list[Any]]:
    """Records bucketed by the period of their top-level field ``name``.

    The loop of ``_buckets`` with the key read and placed inline: a dict's
    key or a plain object's attribute (``get`` reads any other record), the
    period found by bisecting the periods seen, each bucket keyed by the
    period's serial. The buckets come in the order their keys first appear.
    """
    by_serial: dict[int, list[Any]] = {}
    starts, ends, serials = periods.starts, periods.ends, periods.serials
    place = periods.serial
    modes = MODES
    attribute = ATTRIBUTE
    for record in chunk:
        kind = type(record)
        if kind is dict:
            value = record.get(name)
        elif modes.get(kind) == attribute:
            value = getattr(record, name, None)
        else:
            value = get(record)
        if value is None:
            found = 0
        else:
            try:
                position = bisect_right(starts, value) - 1
                found = (
                    serials[position]
                    if position >= 0 and value < ends[position]
                    else place(value, name)
                )
            except TypeError:  # naive or not an instant: placed or explained
                found = place(value, name)
        bucket = by_serial.get(found)
        if bucket is None:
            bucket = by_serial[found] = []
        bucket.append(record)
    return {periods.found[serial]: bucket for serial, bucket in by_serial.items()}


def _unhashable(key: object, path: str = "per") -> DataTypeError:
    """The error for a group key that cannot be a key (a list...)."""
    return DataTypeError(path, key, "a hashable group key (a string, a number...)")


# Values a record's field may hold that are group keys as they are (anything
# else is read through the record reader, which refuses what is not data).
_PLAIN_KEYS: Final = frozenset(
    {str, int, bool, float, Decimal, type(None), datetime, date}
)


def _field_buckets(
    chunk: list[Any], name: str, get: Callable[[object], object]
) -> dict[Any, list[Any]]:
    """Records bucketed by the value of their top-level field ``name``.

    The loop of ``_buckets`` with the key read inline from a dict or a plain
    object; a value of any other kind, and any other record, goes through
    the record reader ``get`` (``MISSING`` is the group ``None``).
    """
    buckets: dict[Any, list[Any]] = {}
    modes = MODES
    attribute = ATTRIBUTE
    plain = _PLAIN_KEYS
    for record in chunk:
        kind = type(record)
        if kind is dict:
            value = record.get(name)
        elif modes.get(kind) == attribute:
            value = getattr(record, name, None)
        else:
            value = MISSING
        if type(value) not in plain:
            value = get(record)
            if value is MISSING:
                value = None
        try:
            bucket = buckets.get(value)
        except TypeError:
            raise _unhashable(value, "per") from None
        if bucket is None:
            bucket = buckets[value] = []
        bucket.append(record)
    return buckets


def _inline_keys(per: object, anchors: tuple[str, ...]) -> tuple[Any, ...] | None:
    """What an inline bucketing loop needs for a key over one top-level field.

    ``(name, getter)`` for a field key (``_field_buckets``), ``(name,
    periods, getter)`` for a period key (``_period_buckets``), ``None`` for
    any other key (the key function places those records).
    """
    if isinstance(per, str) and per.isidentifier():
        return per, field_getter(per)
    if not isinstance(per, PeriodKey):
        return None
    paths = (per.field,) if per.field is not None else anchors
    if len(paths) != 1 or not paths[0].isidentifier():
        return None
    return paths[0], _Periods(per.unit, per.tz, micros=False), field_getter(paths[0])


def _batch_keys(
    per: object, anchors: tuple[str, ...], batch: Columns, keys: Callable[[Any], Any]
) -> Iterable[tuple[Hashable, ...]]:
    """The group keys of every row of a batch, read column by column.

    Period keys over instant columns and field keys over a column of the
    batch are computed per column; any other key reads the rows.
    """
    if isinstance(per, PeriodKey):
        paths = (per.field,) if per.field is not None else anchors
        if paths and all(path in batch for path in paths):
            placed: list[Iterable[Hashable]] = []
            for path in paths:
                place = _placer(per.unit, per.tz, micros=path in batch.micros)
                placed.append(map(place, batch[path], repeat(path)))
            if len(placed) == 1:
                return zip(placed[0])
            return (_distinct(found) for found in zip(*placed, strict=True))
    elif isinstance(per, str) and per in batch:
        return zip(None if v is MISSING else v for v in batch[per])
    return map(keys, batch)


def _distinct(found: tuple[Hashable, ...]) -> tuple[Hashable, ...]:
    """A record's distinct period keys (``None`` only when it has no other)."""
    unique = dict.fromkeys(found)
    if len(unique) > 1:
        unique.pop(None, None)
    return tuple(unique)


def _key_function(per: object, anchors: tuple[str, ...]) -> Callable[[Any], Any]:
    """Normalize ``per`` into a function returning a tuple of group keys."""
    if isinstance(per, PeriodKey):
        return _period_keys(per, anchors)
    if isinstance(per, str):
        parse_path(per)
        read = field_getter(per)  # compiled once, not per record

        def by_field(record: Any) -> tuple[Hashable, ...]:
            value = read(record)
            return (None if value is MISSING else value,)

        return by_field
    assign = getattr(per, "assign", None)
    if assign is not None and callable(assign):  # a Tiering

        def by_tier(record: Any) -> tuple[Hashable, ...]:
            return (assign(record),)

        return by_tier
    if isinstance(per, Sequence) and all(
        callable(getattr(s, "matches", None)) for s in per
    ):
        if not per:
            raise DataError("per", per, "at least one segment")
        # Compiled once: grouping evaluates closures, never condition trees.
        tests = tuple((s.name, compile_condition(s.condition).bind(None)) for s in per)

        def by_segments(record: Any) -> tuple[Hashable, ...]:
            names = tuple(name for name, test in tests if test(record))
            return names or (None,)

        return by_segments
    if callable(per):

        def by_function(record: Any) -> tuple[Hashable, ...]:
            try:
                return (per(record),)
            except CrmcoreError:
                raise
            except Exception as error:
                # The caller's function failed on this record: say where.
                raise DataError(
                    "per",
                    record,
                    f"a record the key function {per!r} accepts "
                    f"({type(error).__name__}: {error})",
                ) from error

        return by_function
    raise DataTypeError(
        "per",
        per,
        "a by_period(...) key, a field path, a Tiering, a list of Segments "
        "or a function of the record",
    )


def _sort_key(key: object) -> tuple[Any, ...]:
    if key is None:
        return (1, "", "")
    if isinstance(key, Period):
        return (0, "period", key.start)
    return (0, type(key).__name__, key)


@final
@attrs.frozen
class GroupedResult:
    """A KPI per group: a read-only mapping from group key to result.

    Attributes:
        groups: The results by key, sorted by key (``None``, the group of
            records without a key, last).
    """

    groups: Mapping[Any, Any]

    def __getitem__(self, key: object) -> Any:
        try:
            return self.groups[key]
        except KeyError:
            shown = ", ".join(repr(_plain(k)) for k in self.groups)
            raise DataError("group", key, f"one of {shown}") from None

    def __iter__(self) -> Iterator[Any]:
        return iter(self.groups)

    def __len__(self) -> int:
        return len(self.groups)

    def items(self) -> Iterable[tuple[Any, Any]]:
        """The ``(key, result)`` pairs in key order."""
        return self.groups.items()

    def to_rows(self) -> list[dict[str, Any]]:
        """One plain row per group (and per row of a table result)."""
        rows: list[dict[str, Any]] = []
        for key, result in self.groups.items():
            label = _plain(key)
            inner = (
                result.to_rows() if hasattr(result, "to_rows") else [result.to_dict()]
            )
            rows.extend({"group": label, **row} for row in inner)
        return rows

    def _repr_html_(self) -> str:
        rows = self.to_rows()
        columns = list(dict.fromkeys(c for row in rows for c in row))
        return html_table(columns, ([row.get(c) for c in columns] for row in rows))


_GROUP_CHUNK: Final = 8192


def _buckets(
    items: Iterable[Any], keys: Iterable[tuple[Hashable, ...]]
) -> dict[Any, list[Any]]:
    """Each group key with the items that have it, in their order."""
    buckets: dict[Any, list[Any]] = {}
    for item, found in zip(items, keys, strict=True):
        for key in found:
            try:
                bucket = buckets.get(key)
            except TypeError:
                raise _unhashable(key, "per") from None
            if bucket is None:
                bucket = buckets[key] = []
            bucket.append(item)
    return buckets


class Grouped:
    """Any accumulator, once per group, in one pass: itself an accumulator.

    Build it with [`grouped`][crmcore.kpis.grouped].
    """

    def __init__(self, template: Accumulator[Any], per: GroupKey) -> None:
        for method in ("add", "update", "merge", "empty", "result"):
            if not callable(getattr(template, method, None)):
                raise DataTypeError("kpi", template, "a KPI accumulator")
        self._template = template.empty()
        self._per = per
        anchors = getattr(template, "anchors", ())
        self._keys = _key_function(per, anchors)
        self._inline = _inline_keys(per, anchors)
        self._groups: dict[Any, Any] = {}
        self._fused = self._one_pass()

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without the key function; loading builds it again from ``per``.

        A grouped accumulator pickles when its KPI and its ``per`` do (a field
        path, a period key, a Tiering, segments or a module-level function).
        """
        state = dict(self.__dict__)
        del state["_keys"]
        del state["_inline"]
        del state["_fused"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        anchors = getattr(self._template, "anchors", ())
        self._keys = _key_function(self._per, anchors)
        self._inline = _inline_keys(self._per, anchors)
        self._fused = self._one_pass()

    def _group(self, key: Any) -> Any:
        """A new, empty accumulator for a group seen for the first time."""
        acc = self._fresh(key)
        self._groups[key] = acc
        return acc

    def _fresh(self, key: Any) -> Any:
        """An empty accumulator for the group ``key`` (not kept)."""
        template = self._template
        # A KPI over a period describes each period group; a KPI at an
        # instant (open pipeline, MRR) counts each group's records as it is.
        options = getattr(template, "options", None)
        if (
            isinstance(key, Period)
            and isinstance(options, Mapping)
            and "period" in options
            and hasattr(template, "for_period")
        ):
            return template.for_period(key)
        return template.empty()

    def add(self, record: Any) -> None:
        """Count one record in each of its groups."""
        self.update((record,))

    def update(self, records: Iterable[Any]) -> Self:
        """Count every record of an iterable; return ``self``.

        Raises:
            DataTypeError: For a group key that cannot be a key (a list...).
        """
        keys = self._keys
        if type(records) is Columns:
            self._update_batch(records)
            return self
        iterator = iterate(records)
        inline = self._inline
        if self._fused and inline is not None:
            # The KPI's own loop, once over all records, with each group's state.
            name, *reading = inline
            periods, get = reading if len(reading) == 2 else (None, *reading)
            facts: Any = getattr(self._template, "_facts", None)
            with exact_arithmetic():
                facts.update_groups(
                    iterator,
                    name,
                    periods,
                    get,
                    lambda key: self._accumulator(key)._facts,
                )
            return self
        # A chunk at a time: each group's records go through the KPI's own
        # loop together (its update), in the order they came.
        while chunk := list(islice(iterator, _GROUP_CHUNK)):
            if inline is None:
                buckets = _buckets(chunk, map(keys, chunk))
            elif len(inline) == 2:
                buckets = _field_buckets(chunk, *inline)
            else:
                buckets = _period_buckets(chunk, *inline)
            for key, bucket in buckets.items():
                self._feed(key, bucket)
        return self

    def _one_pass(self) -> bool:
        """Whether the KPI's facts count the groups in one pass.

        A catalogue KPI without ``where`` whose facts have a one-pass grouped
        loop (the deal facts), grouped by a key read inline, each group's
        facts differing from the template's in their window only (a KPI
        may take another option from its period).
        """
        template = self._template
        if (
            self._inline is None
            or not isinstance(template, Kpi)
            or template._keep is not None
            or not callable(getattr(template._facts, "update_groups", None))
        ):
            return False
        if isinstance(self._per, PeriodKey):
            probe = period_of(datetime(2000, 1, 1, tzinfo=UTC), self._per.unit)
            facts = self._fresh(probe)._facts
            return bool(facts.options() == template._facts.options())
        return True

    def update_group(self, key: Any, records: Iterable[Any]) -> Self:
        """Count records the caller has already placed in the group ``key``.

        For grouping done outside crmcore with the same keys (the frame
        libraries' group-by in [`crmcore.frames`][crmcore.frames]): the
        records go to that group's accumulator as they are, so the result is
        the one ``update`` gives when every record's key is ``key``.

        Raises:
            DataTypeError: For a key that cannot be a key (a list...).
        """
        try:
            hash(key)
        except TypeError:
            raise _unhashable(key, "key") from None
        self._feed(key, records)
        return self

    def _feed(self, key: Any, records: Iterable[Any]) -> None:
        """Count records in the group ``key`` (made when first seen)."""
        self._accumulator(key).update(records)

    def _accumulator(self, key: Any) -> Any:
        """The accumulator of the group ``key``, made empty when first seen."""
        acc = self._groups.get(key)
        if acc is None:
            acc = self._group(key)
        return acc

    @property
    def fields(self) -> frozenset[str] | None:
        """The top-level fields the KPI and the group key read (``None``: any)."""
        inner: frozenset[str] | None = getattr(self._template, "fields", None)
        per = self._per
        if inner is None:
            return None
        if isinstance(per, PeriodKey):
            paths: tuple[str, ...] = (
                (per.field,)
                if per.field is not None
                else getattr(self._template, "anchors", ())
            )
        elif isinstance(per, str):
            paths = (per,)
        else:
            return None  # a function, a tiering or segments may read anything
        return inner | {path.split(".")[0] for path in paths}

    def _update_batch(self, batch: Columns) -> None:
        """Count a batch of columns: its rows' keys, then one batch per group."""
        anchors = getattr(self._template, "anchors", ())
        found = _batch_keys(self._per, anchors, batch, self._keys)
        for key, indices in _buckets(range(len(batch)), found).items():
            self._feed(key, batch.take(indices))

    def merge(self, other: Self) -> Self:
        """A new grouped accumulator holding both."""
        if not isinstance(other, Grouped) or other._per != self._per:
            raise DataError("other", other, "a Grouped accumulator with the same key")
        merged = self.empty()
        merged._template = self._template.merge(other._template)
        for key in {*self._groups, *other._groups}:
            mine, theirs = self._groups.get(key), other._groups.get(key)
            if mine is None:
                assert theirs is not None  # the key came from one of the two
                merged._groups[key] = theirs.merge(theirs.empty())  # a copy
            elif theirs is None:
                merged._groups[key] = mine.merge(mine.empty())
            else:
                merged._groups[key] = mine.merge(theirs)
        return merged

    def empty(self) -> Self:
        """A new, empty grouped accumulator with the same KPI and key."""
        fresh = copy.copy(self)
        fresh._template = self._template.empty()
        fresh._groups = {}
        return fresh

    def result(self) -> GroupedResult:
        """The KPI's result for every group seen, in key order."""
        try:
            ordered = sorted(self._groups, key=_sort_key)
        except TypeError:
            ordered = sorted(self._groups, key=repr)
        return GroupedResult({key: self._groups[key].result() for key in ordered})


def grouped(
    kpi: Accumulator[Any], records: Iterable[Any], per: GroupKey
) -> GroupedResult:
    """Compute a KPI per group in one pass.

    Args:
        kpi: An accumulator, e.g. ``WinRate()``; it serves as a template
            (it is not changed).
        records: Any iterable.
        per: [`by_period`][crmcore.kpis.by_period], a field path
            (``"owner"``, ``"fields.region"``), a
            [`Tiering`][crmcore.segments.Tiering], a list of
            [`Segment`][crmcore.segments.Segment]s (a record counts in every
            segment it matches) or a function of the record.

    Examples:
        >>> from datetime import datetime, timezone
        >>> from crmcore.kpis import WinRate
        >>> t = datetime(2026, 3, 1, tzinfo=timezone.utc)
        >>> deals = [dict(outcome=o, owner=who, created_at=t, closed_at=t, amount=1,
        ...               currency="EUR")
        ...          for o, who in [("won", "ana"), ("lost", "ana"), ("won", "bo")]]
        >>> table = grouped(WinRate(), deals, per="owner")
        >>> [str(r.value) for r in table.groups.values()]
        ['0.5', '1']
    """
    return Grouped(kpi, per).update(records).result()


def run_kpi(kpi: Accumulator[Any], records: Iterable[Any], per: GroupKey | None) -> Any:
    """The body of every one-call function: the KPI, or the KPI per group."""
    if per is None:
        return kpi.update(records).result()
    return grouped(kpi, records, per)
