"""Cohort retention tables, logo and revenue, from subscriptions.

Customers are grouped by the period of their *first payment* (their cohort).
Cell (cohort, k) looks at the end of period ``cohort + k`` (k = 0 is the end
of the cohort's own period):

* **logo**: customers of the cohort active then / cohort size;
* **revenue**: their MRR then / their starting MRR (the MRR at each
  customer's first payment), so expansion can take it above 1.

Cells that end after ``as_of`` are not observed yet and are ``None``, never
0. The average row is weighted: Σ retained / Σ cohort size over the cohorts
observed at k (0 % cohorts included), never a mean of percentages.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, Literal

import attrs

from crmcore.calendar import Period, PeriodUnit, period_of, require_aware
from crmcore.errors import DataError
from crmcore.kpis._core import GroupKey, Kpi, Where, html_table, run_kpi
from crmcore.kpis.revenue import CustomerFacts
from crmcore.money import divide

__all__ = ["CohortRetention", "CohortRow", "CohortTable", "cohort_retention"]

_ZERO: Final = Decimal(0)


@attrs.frozen
class CohortRow:
    """One cohort of a [`CohortTable`][crmcore.kpis.CohortTable].

    Attributes:
        cohort: The period of the cohort's first payments.
        customers: Cohort size.
        starting_mrr: Σ MRR at each customer's first payment (in the table's
            currency).
        retained: Customers still active at the end of period k, per k
            observed so far.
        mrr: Their MRR then, per k.
    """

    cohort: Period
    customers: int
    starting_mrr: Decimal
    retained: tuple[int, ...]
    mrr: tuple[Decimal, ...]

    def logo(self, k: int) -> Decimal | None:
        """Logo retention at k (``None`` when not observed or the cohort is empty)."""
        if k >= len(self.retained) or not self.customers:
            return None
        return divide(self.retained[k], self.customers)

    def revenue(self, k: int) -> Decimal | None:
        """Revenue retention at k (``None`` when not observed or no starting MRR)."""
        if k >= len(self.mrr) or not self.starting_mrr:
            return None
        return divide(self.mrr[k], self.starting_mrr)


@attrs.frozen
class CohortTable:
    """Retention by cohort and age: the result of a cohort retention KPI.

    Attributes:
        unit: The period unit of cohorts and ages.
        as_of: The instant of the last observation.
        currency: The currency of the MRR (``None`` with no data).
        rows: One row per cohort, oldest first.
        before_start: Customers whose first payment precedes the first cohort.
    """

    unit: PeriodUnit
    as_of: datetime
    currency: str | None
    rows: tuple[CohortRow, ...]
    before_start: int

    @property
    def ages(self) -> int:
        """The number of k columns (the oldest cohort's observations)."""
        return max((len(row.retained) for row in self.rows), default=0)

    def average(
        self, basis: Literal["logo", "revenue"] = "logo"
    ) -> tuple[Decimal | None, ...]:
        """Weighted average per k over the cohorts observed at k."""
        averages: list[Decimal | None] = []
        for k in range(self.ages):
            observed = [row for row in self.rows if k < len(row.retained)]
            if basis == "logo":
                num: Decimal = sum((Decimal(r.retained[k]) for r in observed), _ZERO)
                den: Decimal = sum((Decimal(r.customers) for r in observed), _ZERO)
            elif basis == "revenue":
                num = sum((r.mrr[k] for r in observed), _ZERO)
                den = sum((r.starting_mrr for r in observed), _ZERO)
            else:
                raise DataError("basis", basis, "'logo' or 'revenue'")
            averages.append(divide(num, den) if den else None)
        return tuple(averages)

    def matrix(
        self, basis: Literal["logo", "revenue"] = "logo"
    ) -> list[list[Decimal | None]]:
        """Rows of rates, one list per cohort, padded with ``None``: for heatmaps."""
        if basis not in ("logo", "revenue"):
            raise DataError("basis", basis, "'logo' or 'revenue'")
        cell = CohortRow.logo if basis == "logo" else CohortRow.revenue
        return [[cell(row, k) for k in range(self.ages)] for row in self.rows]

    def to_rows(self) -> list[dict[str, Any]]:
        """Long format, one row per observed (cohort, k): for ``pandas.DataFrame``."""
        return [
            {
                "cohort": row.cohort.label,
                "k": k,
                "customers": row.customers,
                "retained": row.retained[k],
                "logo_retention": row.logo(k),
                "starting_mrr": row.starting_mrr,
                "mrr": row.mrr[k],
                "revenue_retention": row.revenue(k),
                "currency": self.currency,
            }
            for row in self.rows
            for k in range(len(row.retained))
        ]

    def _repr_html_(self) -> str:
        columns = ["cohort", "customers", *(str(k) for k in range(self.ages))]
        body = [
            [row.cohort.label, row.customers, *(_percent(v) for v in rates)]
            for row, rates in zip(self.rows, self.matrix(), strict=True)
        ]
        body.append(
            [
                "average",
                sum(r.customers for r in self.rows),
                *map(_percent, self.average()),
            ]
        )
        return html_table(columns, body)


def _percent(value: Decimal | None) -> str:
    return "" if value is None else f"{value * 100:.1f} %"


class CohortRetention(Kpi):
    """Accumulate subscriptions into a cohort retention table.

    Args:
        start: The first cohort is the period containing this instant.
        as_of: The last observation; cohorts start before it.
        unit: Period unit of cohorts and ages (``"month"`` by default).
        tz: Zone of the calendar.
        where: Only records satisfying this condition or segment.

    Examples:
        >>> from datetime import datetime, timezone
        >>> from crmcore.money import Money
        >>> from crmcore.records import Subscription
        >>> def day(m, d):
        ...     return datetime(2026, m, d, tzinfo=timezone.utc)
        >>> subs = [Subscription("a", Money(10, "EUR"), day(1, 5)),
        ...         Subscription("b", Money(10, "EUR"), day(1, 9), end=day(2, 10))]
        >>> kpi = CohortRetention(start=day(1, 1), as_of=day(4, 1))
        >>> table = kpi.update(subs).result()
        >>> [str(v) for v in table.matrix()[0]]
        ['1', '0.5', '0.5']
    """

    name = "cohort_retention"
    anchors = ()
    _facts: CustomerFacts

    def __init__(
        self,
        *,
        start: datetime,
        as_of: datetime,
        unit: PeriodUnit | str = "month",
        tz: str = "UTC",
        where: Where | None = None,
    ) -> None:
        require_aware(start, "start")
        require_aware(as_of, "as_of")
        if as_of <= start:
            raise DataError(
                "as_of", as_of, f"an instant after start ({start.isoformat()})"
            )
        first = period_of(start, unit, tz=tz)
        cohorts = [first]
        while cohorts[-1].end < as_of:
            cohorts.append(cohorts[-1].next())
        self._cohorts = tuple(cohorts)
        instants = [first.start, *(p.end for p in cohorts if p.end <= as_of)]
        self._setup(
            {"start": start, "as_of": as_of, "unit": unit, "tz": tz, "where": where},
            CustomerFacts(instants),
        )

    def result(self) -> CohortTable:
        """The table."""
        facts = self._facts
        cohorts = self._cohorts
        first_start = cohorts[0].start
        as_of: datetime = self._options["as_of"]
        starts = [p.start for p in cohorts]
        sizes = [0] * len(cohorts)
        starting = [_ZERO] * len(cohorts)
        retained: list[list[int]] = []
        mrr: list[list[Decimal]] = []
        # Cohorts are consecutive: those whose period has ended are a prefix,
        # and cohort i has been observed at the end of each ended one from i.
        ended = bisect_right([p.end for p in cohorts], as_of)
        for index in range(len(cohorts)):
            observed = max(0, ended - index)
            retained.append([0] * observed)
            mrr.append([_ZERO] * observed)
        before = 0
        # instants[0] is the first cohort's start; instants[1 + j] the end of
        # cohort period j.
        for paid, first_mrr, values in facts.customers.values():
            if paid is None or paid >= as_of:
                continue
            if paid < first_start:
                before += 1
                continue
            c = bisect_right(starts, paid) - 1
            sizes[c] += 1
            starting[c] += first_mrr
            counts, amounts = retained[c], mrr[c]
            for k in range(len(counts)):
                value = values[1 + c + k]
                if value:
                    counts[k] += 1
                    amounts[k] += value
        rows = tuple(
            CohortRow(cohort, sizes[i], starting[i], tuple(retained[i]), tuple(mrr[i]))
            for i, cohort in enumerate(cohorts)
        )
        return CohortTable(cohorts[0].unit, as_of, facts.currency(), rows, before)


def cohort_retention(
    subscriptions: Iterable[Any],
    *,
    start: datetime,
    as_of: datetime,
    unit: PeriodUnit | str = "month",
    tz: str = "UTC",
    where: Where | None = None,
    per: GroupKey | None = None,
) -> Any:
    """[`CohortRetention`][crmcore.kpis.CohortRetention] over any iterable.

    Returns a [`CohortTable`][crmcore.kpis.CohortTable], or a
    [`GroupedResult`][crmcore.kpis.GroupedResult] of tables with ``per``.
    """
    kpi = CohortRetention(start=start, as_of=as_of, unit=unit, tz=tz, where=where)
    return run_kpi(kpi, subscriptions, per)
