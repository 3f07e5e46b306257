"""Handoff KPIs: SLA attainment, time to accept and breaches, in business time.

Each reads handoff records (any object or mapping) with three fields: the
``contract`` key, ``handed_at`` and ``accepted_at`` (``None`` or absent
until the receiving team accepts). The contracts (a
[`HandoffContract`][crmcore.handoffs.HandoffContract] each) give the
acceptance target and the receiving team's calendar, so every duration is
business time of the team that owns the clock.

A handoff is **met** when it was accepted by its deadline, **late** when it
was accepted after it, **overdue** when it is still open after its deadline
as of ``as_of``, and **pending** otherwise. Attainment is met / (met + late +
overdue): pending handoffs have not been decided yet. Time to accept counts
accepted handoffs (median, with mean and nearest-rank p90, in business
hours). The three share one pass of facts.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from crmcore import validators as _v
from crmcore.access import field_getter
from crmcore.errors import DataError, DataTypeError
from crmcore.handoffs import HandoffContract, handoff_outcome, handoff_times
from crmcore.kpis._core import (
    EARLIEST,
    LATEST,
    GroupKey,
    Kpi,
    KpiResult,
    Where,
    Window,
    check_instant,
    check_window,
    grouped,
    quotient,
    record_label,
    undefined,
)
from crmcore.kpis._deal_facts import cycle_stats
from crmcore.money import divide

__all__ = [
    "HandoffAttainment",
    "HandoffBreaches",
    "TimeToAccept",
    "handoff_attainment",
    "handoff_breaches",
    "time_to_accept",
]

_US: Final = timedelta(microseconds=1)
_US_PER_HOUR: Final = Decimal(3_600_000_000)
_read_contract = field_getter("contract")


def _contracts(values: object) -> dict[str, HandoffContract]:
    if isinstance(values, HandoffContract):
        values = (values,)
    values = _v.list_of(values, "contracts", "a HandoffContract or a list of them")
    for index, contract in enumerate(values):
        if not isinstance(contract, HandoffContract):
            raise DataTypeError(f"contracts[{index}]", contract, "a HandoffContract")
    by_key: dict[str, HandoffContract] = _v.unique_keys(values, "contracts", "contract")
    if not by_key:
        raise DataError("contracts", (), "at least one HandoffContract")
    return by_key


class HandoffFacts:
    """Counts and acceptance times behind the handoff KPIs, gathered in one pass."""

    __slots__ = (
        "accept_times",
        "as_of",
        "breaches_by_team",
        "contracts",
        "late",
        "met",
        "overdue",
        "pending",
        "window",
    )

    def __init__(
        self,
        contracts: dict[str, HandoffContract],
        window: tuple[datetime, datetime] | None,
        as_of: datetime | None,
    ) -> None:
        self.contracts = contracts
        self.window = window
        self.as_of = as_of
        self.met = self.late = self.overdue = self.pending = 0
        self.accept_times: array[int] = array("q")
        self.breaches_by_team: Counter[str] = Counter()

    def update(self, records: Iterable[Any]) -> None:
        """Judge each handoff against its contract's deadline."""
        start, end = self.window if self.window is not None else (EARLIEST, LATEST)
        as_of = self.as_of
        contracts = self.contracts
        for record in records:
            key = _read_contract(record)
            contract = contracts.get(key) if isinstance(key, str) else None
            if contract is None:
                raise DataError(
                    f"contract ({record_label(record)})",
                    key,
                    f"one of the contracts {', '.join(sorted(contracts))}",
                )
            handed, accepted = handoff_times(record, label=f" ({record_label(record)})")
            if not start <= handed < end or (as_of is not None and handed > as_of):
                continue  # outside the window, or not handed over yet
            outcome, spent = handoff_outcome(contract, handed, accepted, as_of=as_of)
            if spent is not None:
                self.accept_times.append(spent // _US)
            if outcome == "met":
                self.met += 1
            elif outcome == "pending":
                self.pending += 1
            else:
                if outcome == "late":
                    self.late += 1
                else:
                    self.overdue += 1
                self.breaches_by_team[contract.to_team] += 1

    def covers(self, other: HandoffFacts) -> bool:
        """Whether these facts hold everything ``other`` would (same options)."""
        return (self.contracts, self.window, self.as_of) == (
            other.contracts,
            other.window,
            other.as_of,
        )

    def cleared(self) -> HandoffFacts:
        """An empty copy with the same options."""
        return HandoffFacts(self.contracts, self.window, self.as_of)

    def merged(self, other: HandoffFacts) -> HandoffFacts:
        """A new facts object holding both."""
        merged = self.cleared()
        for name in ("met", "late", "overdue", "pending"):
            setattr(merged, name, getattr(self, name) + getattr(other, name))
        merged.accept_times = self.accept_times + other.accept_times
        merged.breaches_by_team = self.breaches_by_team + other.breaches_by_team
        return merged


class _HandoffKpi(Kpi):
    anchors = ("handed_at",)

    def __init__(
        self,
        contracts: HandoffContract | Iterable[HandoffContract],
        period: Window | None = None,
        *,
        as_of: datetime | None = None,
        where: Where | None = None,
    ) -> None:
        by_key = _contracts(contracts)
        span = check_window(period)
        at = check_instant(as_of, "as_of")
        self._setup(
            {
                "contracts": tuple(by_key.values()),
                "period": period,
                "as_of": at,
                "where": where,
            },
            HandoffFacts(by_key, None if span is None else (span.start, span.end), at),
        )

    def _counts(self) -> dict[str, Any]:
        facts: HandoffFacts = self._facts
        return {
            "met": facts.met,
            "late": facts.late,
            "overdue": facts.overdue,
            "pending": facts.pending,
        }


class HandoffAttainment(_HandoffKpi):
    """The share of decided handoffs accepted by their deadline.

    Args:
        contracts: The contracts the handoffs follow (one or a list).
        period: Handoffs handed over in this window (``None``: all).
        as_of: Open handoffs past their deadline at this instant are
            overdue; acceptances after it do not count yet. ``None``: only
            accepted handoffs are decided.
        where: Only records satisfying this condition or segment.

    Components: ``met``, ``late``, ``overdue`` and ``pending``.

    Examples:
        >>> from datetime import datetime, timedelta, timezone
        >>> from crmcore.business_time import BusinessCalendar
        >>> to_sales = HandoffContract("mql", "marketing", "sales", "sql",
        ...     accept_within=timedelta(hours=4),
        ...     calendar=BusinessCalendar(hours=["09:00-17:00"]))
        >>> t = datetime(2026, 3, 2, 15, tzinfo=timezone.utc)  # Monday 15:00
        >>> rows = [{"contract": "mql", "handed_at": t,
        ...          "accepted_at": t + timedelta(hours=h)} for h in (1, 20, 21)]
        >>> rate = HandoffAttainment(to_sales).update(rows).result()
        >>> rate.numerator, rate.denominator  # the deadline is Tue 11:00
        (2, 3)
    """

    name = "handoff_attainment"

    def result(self) -> KpiResult:
        """Met over met, late and overdue, with the counts."""
        facts: HandoffFacts = self._facts
        decided = facts.met + facts.late + facts.overdue
        return quotient(
            self.name,
            facts.met,
            decided,
            reason="no handoff decided in the period",
            components=self._counts(),
            period=self.period,
            as_of=self._options["as_of"],
        )


class TimeToAccept(_HandoffKpi):
    """Business hours from handover to acceptance: the median, with mean and p90.

    Args:
        contracts: The contracts the handoffs follow (one or a list).
        period: Handoffs handed over in this window (``None``: all).
        as_of: Acceptances after this instant do not count yet.
        where: Only records satisfying this condition or segment.

    Components: ``accepted``, ``mean_hours`` and ``p90_hours`` (nearest
    rank), with the counts of attainment.
    """

    name = "time_to_accept"

    def result(self) -> KpiResult:
        """The median business hours to accept."""
        facts: HandoffFacts = self._facts
        values = facts.accept_times
        components: dict[str, Any] = {"accepted": len(values), **self._counts()}
        if not values:
            return undefined(
                self.name,
                "hours",
                "no handoff accepted in the period",
                components={**components, "mean_hours": None, "p90_hours": None},
                period=self.period,
                as_of=self._options["as_of"],
            )
        mean, median, p90 = cycle_stats(values, unit=_hours)
        return KpiResult(
            self.name,
            median,
            "hours",
            components={**components, "mean_hours": mean, "p90_hours": p90},
            period=self.period,
            as_of=self._options["as_of"],
        )


class HandoffBreaches(_HandoffKpi):
    """The number of handoffs accepted late or overdue, by receiving team.

    Args:
        contracts: The contracts the handoffs follow (one or a list).
        period: Handoffs handed over in this window (``None``: all).
        as_of: Open handoffs past their deadline at this instant are overdue.
        where: Only records satisfying this condition or segment.

    Components: ``late``, ``overdue`` and ``by_team`` (breaches per
    receiving team, every team of the contracts listed).
    """

    name = "handoff_breaches"

    def result(self) -> KpiResult:
        """Late plus overdue handoffs."""
        facts: HandoffFacts = self._facts
        teams = sorted({c.to_team for c in facts.contracts.values()})
        return KpiResult(
            self.name,
            Decimal(facts.late + facts.overdue),
            "count",
            components={
                "late": facts.late,
                "overdue": facts.overdue,
                "by_team": {team: facts.breaches_by_team[team] for team in teams},
            },
            period=self.period,
            as_of=self._options["as_of"],
        )


def _hours(microseconds: int | Decimal) -> Decimal:
    """Microseconds as hours (28 digits)."""
    return divide(Decimal(microseconds), _US_PER_HOUR)


def handoff_attainment(
    handoffs: Iterable[Any],
    contracts: HandoffContract | Iterable[HandoffContract],
    period: Window | None = None,
    *,
    as_of: datetime | None = None,
    where: Where | None = None,
    per: GroupKey | None = None,
) -> Any:
    """[`HandoffAttainment`][crmcore.kpis.HandoffAttainment] over any iterable of handoffs."""  # noqa: E501
    kpi = HandoffAttainment(contracts, period, as_of=as_of, where=where)
    return kpi.update(handoffs).result() if per is None else grouped(kpi, handoffs, per)


def time_to_accept(
    handoffs: Iterable[Any],
    contracts: HandoffContract | Iterable[HandoffContract],
    period: Window | None = None,
    *,
    as_of: datetime | None = None,
    where: Where | None = None,
    per: GroupKey | None = None,
) -> Any:
    """[`TimeToAccept`][crmcore.kpis.TimeToAccept] over any iterable of handoffs."""
    kpi = TimeToAccept(contracts, period, as_of=as_of, where=where)
    return kpi.update(handoffs).result() if per is None else grouped(kpi, handoffs, per)


def handoff_breaches(
    handoffs: Iterable[Any],
    contracts: HandoffContract | Iterable[HandoffContract],
    period: Window | None = None,
    *,
    as_of: datetime | None = None,
    where: Where | None = None,
    per: GroupKey | None = None,
) -> Any:
    """[`HandoffBreaches`][crmcore.kpis.HandoffBreaches] over any iterable of handoffs."""  # noqa: E501
    kpi = HandoffBreaches(contracts, period, as_of=as_of, where=where)
    return kpi.update(handoffs).result() if per is None else grouped(kpi, handoffs, per)
