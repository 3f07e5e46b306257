"""What a playbook's numbers say on the data: KPIs, goals, data trust, SLAs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

import attrs

from crmcore.access import iterate
from crmcore.calendar import Interval, add_calendar, require_aware
from crmcore.errors import DataError, DataTypeError
from crmcore.kpis import (
    REPORT_KPIS,
    GoalStatus,
    KpiReport,
    KpiResult,
    goal_status,
    handoff_attainment,
    kpi_report,
)
from crmcore.money import Money
from crmcore.playbook.value import Playbook
from crmcore.quality import TrustReport, data_trust
from crmcore.serialization import unstructure

__all__ = ["DATA_SETS", "PlaybookReport", "playbook_report"]

DATA_SETS: Final = (
    "opportunities",
    "leads",
    "subscriptions",
    "marketing_spend",
    "handoffs",
)
"""The data sets the KPIs and SLAs read, by the names of ``crmcore sample``'s files.

Data specs read the data set their ``records`` name (any name).
"""

_KPI_SETS: Final = {
    "sales": "opportunities",
    "leads": "leads",
    "revenue": "subscriptions",
    "economics": "marketing_spend",
}


@attrs.frozen
class PlaybookReport:
    """A playbook's figures over one window of data.

    Attributes:
        playbook: The playbook's name.
        as_of: The instant the figures describe.
        period: The window KPIs, goals and SLAs are measured over.
        kpis: The KPIs the playbook reviews or has goals for, by name (every
            report KPI when it names none), from the data sets given.
        goals: Each goal's status at ``as_of`` (from the KPI of its metric).
        trust: Each data spec's checks over its data set.
        handoffs: SLA attainment per handoff contract.
        missing: What could not be computed, and why (a data set not given,
            a metric no report computes).
    """

    playbook: str
    as_of: datetime
    period: Interval
    kpis: Mapping[str, KpiResult]
    goals: tuple[GoalStatus, ...]
    trust: tuple[TrustReport, ...]
    handoffs: Mapping[str, KpiResult]
    missing: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data: one row per figure."""
        return {
            "playbook": self.playbook,
            "as_of": self.as_of.isoformat(),
            "period": [self.period.start.isoformat(), self.period.end.isoformat()],
            "kpis": [unstructure(result.to_dict()) for result in self.kpis.values()],
            "goals": [unstructure(status.to_dict()) for status in self.goals],
            "trust": [
                {
                    "spec": report.spec,
                    "records": report.records,
                    "count": report.count,
                    "trusted": report.trusted,
                    "score": unstructure(report.score.value),
                    "checks": [unstructure(row) for row in report.rows()],
                }
                for report in self.trust
            ],
            "handoffs": [
                {"contract": key, **unstructure(result.to_dict())}
                for key, result in self.handoffs.items()
            ],
            "missing": list(self.missing),
        }

    def __str__(self) -> str:
        lines = [
            f"{self.playbook}: {self.period.start.date()} to {self.period.end.date()}"
        ]
        if self.kpis:
            lines += ["", "KPIs"]
            lines += [f"  {key:<28} {_shown(r)}" for key, r in self.kpis.items()]
        if self.goals:
            lines += ["", "Goals"]
            for status in self.goals:
                current = "-" if status.current is None else _number(status.current)
                lines.append(
                    f"  {status.goal.metric:<28} {status.status:<10} now {current}, "
                    f"target {_number(status.goal.target)} by "
                    f"{status.goal.deadline.date()}"
                )
        if self.trust:
            lines += ["", "Data trust"]
            for report in self.trust:
                lines += ["  " + line for line in str(report).splitlines()]
        if self.handoffs:
            lines += ["", "Handoff SLAs"]
            lines += [f"  {key:<28} {_shown(r)}" for key, r in self.handoffs.items()]
        if self.missing:
            lines += ["", "Not computed"]
            lines += [f"  {reason}" for reason in self.missing]
        return "\n".join(lines)


def _number(value: Decimal) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".") if value % 1 else f"{value:,}"


def _shown(result: KpiResult) -> str:
    value = result.value
    if value is None:
        return f"- ({result.reason})"
    if isinstance(value, Money):
        return f"{value.amount:,.2f} {value.currency}"
    if result.unit == "ratio":
        return f"{value * 100:.1f}%"
    return f"{_number(value)} {result.unit}"


def playbook_report(
    playbook: Playbook,
    data: Mapping[str, Iterable[Any]],
    *,
    as_of: datetime,
    period: Interval | None = None,
) -> PlaybookReport:
    """The figures a playbook names, over data sets given by name.

    Args:
        playbook: The playbook.
        data: Data sets by name: ``opportunities``, ``leads``,
            ``subscriptions``, ``marketing_spend``, ``handoffs`` (see
            [`DATA_SETS`][crmcore.playbook.DATA_SETS]) and whatever the data
            specs' ``records`` name. Each is read once into memory, since
            several figures read it.
        as_of: The instant to report at.
        period: The window to measure (the twelve months up to ``as_of`` by
            default).

    Raises:
        DataTypeError: For a playbook that is not one, or data that is not
            a mapping of names to iterables of records.
    """
    if not isinstance(playbook, Playbook):
        raise DataTypeError("playbook", playbook, "a Playbook")
    require_aware(as_of, "as_of")
    if not isinstance(data, Mapping):
        raise DataTypeError("data", data, "a mapping of data-set name to records")
    window = (
        Interval(add_calendar(as_of, months=-12), as_of) if period is None else period
    )
    if not isinstance(window, Interval):
        raise DataTypeError("period", period, "an Interval or None")
    if window.end > as_of:
        raise DataError(
            "period",
            window,
            f"a window ending at or before as_of ({as_of.isoformat()})",
        )
    rows = {name: list(iterate(records, name)) for name, records in data.items()}
    missing: list[str] = []
    kpis = _kpis(playbook, rows, window, as_of, missing)
    goals = []
    for goal in playbook.goals:
        result = kpis.get(goal.metric)
        observations: list[tuple[datetime, Decimal]] = []
        if result is None:
            missing.append(f"goal {goal.metric}: no KPI of that name was computed")
        elif isinstance(result.value, Money):
            # A money goal is in the KPI's currency: its amount is the figure.
            observations = [(as_of, result.value.amount)]
        elif result.value is not None:
            observations = [(as_of, result.value)]
        goals.append(goal_status(goal, observations, as_of=as_of))
    trust = []
    for spec in playbook.data:
        if spec.records not in rows:
            missing.append(f"data {spec.key}: no {spec.records!r} data set was given")
            continue
        trust.append(data_trust(spec, rows[spec.records], as_of=as_of))
    handoffs: Mapping[str, KpiResult] = {}
    if playbook.handoffs:
        if "handoffs" in rows:
            grouped = handoff_attainment(
                rows["handoffs"], playbook.handoffs, window, as_of=as_of, per="contract"
            )
            handoffs = {
                contract.key: grouped.groups.get(contract.key)
                or KpiResult(
                    "handoff_attainment",
                    None,
                    "ratio",
                    period=window,
                    as_of=as_of,
                    reason=f"no handoffs of {contract.key} in the window",
                )
                for contract in playbook.handoffs
            }
        else:
            missing.append("handoff SLAs: no 'handoffs' data set was given")
    return PlaybookReport(
        playbook.name,
        as_of,
        window,
        kpis,
        tuple(goals),
        tuple(trust),
        handoffs,
        tuple(missing),
    )


def _kpis(
    playbook: Playbook,
    rows: Mapping[str, list[Any]],
    window: Interval,
    as_of: datetime,
    missing: list[str],
) -> dict[str, KpiResult]:
    named = list(
        dict.fromkeys(
            [*(k.metric for k in playbook.kpis), *(g.metric for g in playbook.goals)]
        )
    )
    given = {section: rows.get(name) for section, name in _KPI_SETS.items()}
    report: KpiReport | None = None
    if any(value is not None for value in given.values()):
        report = kpi_report(
            window,
            deals=given["sales"],
            leads=given["leads"],
            subscriptions=given["revenue"],
            spend=given["economics"] if given["revenue"] is not None else None,
            as_of=as_of,
            pipeline=playbook.pipelines[0] if playbook.pipelines else None,
        )
    wanted = named or [key for keys in REPORT_KPIS.values() for key in keys]
    found: dict[str, KpiResult] = {}
    for metric in wanted:
        if report is not None and metric in report:
            found[metric] = report[metric]
        elif named:
            section = next(
                (s for s, keys in REPORT_KPIS.items() if metric in keys), None
            )
            if section is None:
                missing.append(f"KPI {metric}: not a KPI the report computes")
            elif metric == "paid_cac":
                missing.append(
                    "KPI paid_cac: needs the paid channels, which a playbook "
                    "report does not take (use kpi_report)"
                )
            else:
                needs = [_KPI_SETS[section]]
                if section == "economics":
                    needs = ["subscriptions", "marketing_spend"]
                absent = [name for name in needs if name not in rows]
                missing.append(
                    f"KPI {metric}: needs the "
                    + " and ".join(repr(name) for name in absent or needs)
                    + " data set"
                    + ("s" if len(absent or needs) > 1 else "")
                )
    return found
