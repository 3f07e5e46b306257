"""Failure-pattern checks over a playbook: a registry of kinds, each explained."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, ClassVar, Final, Protocol, runtime_checkable

import attrs

from crmcore import validators as _v
from crmcore.errors import DataTypeError
from crmcore.kpis import REPORT_KPIS
from crmcore.ownership import Asset, ownership_gaps
from crmcore.playbook.value import Playbook
from crmcore.registry import Registry
from crmcore.strategy import STRATEGY_QUESTIONS, Finding

__all__ = [
    "CHECKS",
    "CheckReport",
    "ConflictingDefinitions",
    "DataWithoutOwner",
    "HandoffWithoutContext",
    "InitiativeWithoutOwner",
    "KpiWithoutDecision",
    "MigrationWithoutStrategy",
    "OwnershipGaps",
    "PlaybookCheck",
    "ReportingOnly",
    "StageWithoutCriteria",
    "StrategyGaps",
    "UnusedField",
    "VagueGoal",
    "check_playbook",
]


@runtime_checkable
class PlaybookCheck(Protocol):
    """What a check kind does: find one failure pattern in a playbook.

    A check is an attrs class with a ``kind`` name, a ``pattern`` (the
    failure it guards against, in words) and a ``run`` method that yields a
    [`Finding`][crmcore.strategy.Finding] per problem, each with the path of
    the part concerned and a fix.
    """

    kind: ClassVar[str]
    pattern: ClassVar[str]

    def run(self, playbook: Playbook) -> Iterable[Finding]:
        """Every finding of this check, in the playbook's order."""
        ...  # pragma: no cover - a protocol


CHECKS: Final = Registry(
    "playbook check",
    group="crmcore.checks",
    protocol=PlaybookCheck,
    methods=(("run",),),
    needs="a run(playbook) method",
)
"""The registry of playbook checks: the built-ins and every registered one."""

_KNOWN_KPIS: Final = frozenset(key for keys in REPORT_KPIS.values() for key in keys)


def _finding(check: PlaybookCheck, path: str, message: str, fix: str) -> Finding:
    return Finding(check.kind, path, message, fix)


@CHECKS.register
@attrs.frozen
class StrategyGaps:
    """The canvas answers the five questions with parts that exist."""

    kind: ClassVar[str] = "strategy"
    pattern: ClassVar[str] = (
        "A tool without a strategy: questions unanswered, a statement missing, "
        "answers naming parts that do not exist."
    )

    def run(self, playbook: Playbook) -> Iterator[Finding]:
        """The canvas's findings, at their paths under ``$.strategy``."""
        for found in playbook.strategy.findings(playbook.parts()):
            yield attrs.evolve(
                found,
                check=f"strategy:{found.check}",
                path="$.strategy" + found.path[1:],
            )


@CHECKS.register
@attrs.frozen
class UnusedField:
    """Every custom field is read by a segment, rule, handoff, model or spec."""

    kind: ClassVar[str] = "unused_field"
    pattern: ClassVar[str] = "Every team request becomes a field or workflow."

    def run(self, playbook: Playbook) -> Iterator[Finding]:
        """A finding for each declared field nothing reads."""
        used = set(playbook.used_fields())
        for index, spec in enumerate(playbook.fields):
            if spec.path in used:
                continue
            asked = f", asked for by {spec.requested_by}" if spec.requested_by else ""
            yield _finding(
                self,
                f"$.fields[{index}]",
                f"the field {spec.path!r} of {spec.records}{asked} is used by no "
                "segment, stage, handoff, scoring model, routing rule or data spec",
                "use it in a decision or remove it",
            )


@CHECKS.register
@attrs.frozen
class KpiWithoutDecision:
    """Every KPI has an owner and a goal; every goal is reviewed."""

    kind: ClassVar[str] = "kpi_without_decision"
    pattern: ClassVar[str] = (
        "Dashboards exist for reporting but not for decisions: a KPI without "
        "a goal, an owner or a review cadence."
    )

    def run(self, playbook: Playbook) -> Iterator[Finding]:
        """Findings for unowned and goal-less KPIs and for unreviewed goals."""
        goals = {goal.metric for goal in playbook.goals}
        reviewed = {review.metric for review in playbook.kpis}
        for index, review in enumerate(playbook.kpis):
            path = f"$.kpis[{index}]"
            if review.owner is None:
                yield _finding(
                    self,
                    path,
                    f"{review.metric} has no owner to act on it",
                    "name the team or role that runs its review",
                )
            if review.metric not in goals:
                yield _finding(
                    self,
                    path,
                    f"{review.metric} is reported but has no goal",
                    "set a goal (baseline, target, deadline) or stop reporting it",
                )
        for index, goal in enumerate(playbook.goals):
            if goal.metric not in reviewed:
                yield _finding(
                    self,
                    f"$.goals[{index}]",
                    f"the goal for {goal.metric} is reviewed by nobody at any cadence",
                    f"add a KPI review of {goal.metric} with an owner",
                )


@CHECKS.register
@attrs.frozen
class VagueGoal:
    """Goals are specific (a KPI crmcore measures), measurable and time-bound.

    A [`Goal`][crmcore.kpis.Goal] always has a baseline, a target and a
    deadline, so what is left to check is that its metric is one a report
    can measure, and that the metrics the strategy wants to improve have a
    goal at all.
    """

    kind: ClassVar[str] = "vague_goal"
    pattern: ClassVar[str] = (
        'Unclear goals: "improve conversion" with no target, deadline or '
        "measurable metric."
    )

    def run(self, playbook: Playbook) -> Iterator[Finding]:
        """Goals on metrics nothing measures; strategy metrics without a goal."""
        goals = {goal.metric for goal in playbook.goals}
        for index, goal in enumerate(playbook.goals):
            if goal.metric not in _KNOWN_KPIS:
                yield _finding(
                    self,
                    f"$.goals[{index}].metric",
                    f"{goal.metric!r} is not a KPI crmcore measures, so the goal "
                    "cannot be tracked",
                    f"use one of {', '.join(sorted(_KNOWN_KPIS))}",
                )
        for index, asset in enumerate(playbook.strategy.metrics):
            if asset.kind == "kpi" and asset.key not in goals:
                yield _finding(
                    self,
                    f"$.strategy.metrics[{index}]",
                    f"the strategy wants to improve {asset.key} but sets no goal "
                    "for it",
                    "add a goal with a baseline, a target and a deadline",
                )


@CHECKS.register
@attrs.frozen
class HandoffWithoutContext:
    """Every handoff says what must be true and what context travels."""

    kind: ClassVar[str] = "handoff_without_context"
    pattern: ClassVar[str] = (
        "Handoffs become inconsistent and customers repeat themselves: a "
        "handoff with no required context."
    )

    def run(self, playbook: Playbook) -> Iterator[Finding]:
        """A finding for each contract with no requirements or no carried fields."""
        for index, contract in enumerate(playbook.handoffs):
            missing = [
                what
                for what, present in (
                    ("requirements", contract.requires),
                    ("carried context", contract.carries),
                )
                if not present
            ]
            if missing:
                yield _finding(
                    self,
                    f"$.handoffs[{index}]",
                    f"the handoff {contract.key} ({contract.from_team} to "
                    f"{contract.to_team}) has no {' and no '.join(missing)}",
                    "list what must be true before it and the fields that travel",
                )


@CHECKS.register
@attrs.frozen
class ConflictingDefinitions:
    """Teams define each lifecycle term the same way."""

    kind: ClassVar[str] = "conflicting_definitions"
    pattern: ClassVar[str] = (
        "No shared definitions across teams: sales and marketing mean "
        "different things by a lead."
    )

    def run(self, playbook: Playbook) -> Iterator[Finding]:
        """A finding for each definition that differs from the term's first."""
        first: dict[str, tuple[int, Any]] = {}
        for index, definition in enumerate(playbook.definitions):
            seen = first.setdefault(definition.term, (index, definition))
            if seen[1].condition != definition.condition:
                other = seen[1]
                yield _finding(
                    self,
                    f"$.definitions[{index}]",
                    f"{definition.team} defines {definition.term!r} as "
                    f"{definition.condition}, {other.team} as {other.condition} "
                    f"($.definitions[{seen[0]}])",
                    f"agree on one definition of {definition.term!r} for every team",
                )


@CHECKS.register
@attrs.frozen
class DataWithoutOwner:
    """Required data has one owner who holds the role, and a refresh cadence.

    The spec's ``owner`` and the ownership map's accountable role for the
    spec (``data_spec:<key>``) must agree when both are given.
    """

    kind: ClassVar[str] = "data_without_owner"
    pattern: ClassVar[str] = (
        "Poor data quality: required data without an owner or a refresh "
        "cadence (a CRM strategy is a data strategy first)."
    )

    def run(self, playbook: Playbook) -> Iterator[Finding]:
        """Findings for data specs without owner, cadence or checks."""
        ownership = playbook.ownership
        for index, spec in enumerate(playbook.data):
            path = f"$.data[{index}]"
            if spec.owner is None:
                yield _finding(
                    self,
                    path,
                    f"the data {spec.key} has no owner",
                    "name the role that owns it (usually the data steward)",
                )
            elif ownership is not None and not ownership.holders(spec.owner):
                yield _finding(
                    self,
                    f"{path}.owner",
                    f"the data {spec.key} is owned by {spec.owner}, which no team "
                    "holds",
                    f"give the {spec.owner} role to a team",
                )
            if spec.owner is not None and ownership is not None:
                mapped = ownership.accountable(Asset("data_spec", spec.key))
                if mapped and spec.owner not in mapped:
                    yield _finding(
                        self,
                        f"{path}.owner",
                        f"the data {spec.key} names {spec.owner} as its owner, the "
                        f"ownership map {', '.join(mapped)}",
                        "make the spec and the map name one owner",
                    )
            if spec.refresh_every is None:
                yield _finding(
                    self,
                    path,
                    f"the data {spec.key} has no refresh cadence",
                    "say which field records the last update and how recent it "
                    "must be (refreshed, refresh_every)",
                )
            if not spec.required and not spec.rules:
                yield _finding(
                    self,
                    path,
                    f"the data {spec.key} requires no field and checks no rule",
                    "list the fields decisions need",
                )


_OWNED: Final = ("pipeline", "handoff", "kpi", "data_spec")


@CHECKS.register
@attrs.frozen
class OwnershipGaps:
    """Every role is held, every part answered for, and the CRM is operated.

    The map is checked over the playbook's pipelines, handoffs, KPIs and data
    specs (see [`ownership_gaps`][crmcore.ownership.ownership_gaps]).
    """

    kind: ClassVar[str] = "ownership"
    pattern: ClassVar[str] = (
        "Tool administration exists, but operating ownership does not."
    )

    def run(self, playbook: Playbook) -> Iterator[Finding]:
        """The ownership gaps, or one finding when there is no map."""
        if playbook.ownership is None:
            yield _finding(
                self,
                "$.ownership",
                "the playbook has no ownership map",
                "say which team holds the executive sponsor, CRM owner, data "
                "steward, process owner and tool admin roles",
            )
            return
        assets = [a for a in playbook.parts() if a.kind in _OWNED]
        for gap in ownership_gaps(playbook.ownership, assets).gaps:
            path = "$.ownership" + gap.path[1:]
            yield Finding(f"ownership:{gap.code}", path, gap.message, _fix(gap.code))


def _fix(code: str) -> str:
    return {
        "no_accountable": "make one role accountable for it",
        "many_accountable": "keep one accountable role",
        "role_unheld": "give the role to a team",
        "stage_owner_unheld": "give the stage's role to a team",
        "admin_without_operators": "give the CRM owner and process owner roles "
        "to the teams that run the process",
    }.get(code, "")


@CHECKS.register
@attrs.frozen
class MigrationWithoutStrategy:
    """A tool migration serves a defined strategy, alongside process work."""

    kind: ClassVar[str] = "migration_without_strategy"
    pattern: ClassVar[str] = "A tool migration is mistaken for a strategy change."

    def run(self, playbook: Playbook) -> Iterator[Finding]:
        """Findings for migrations planned without a strategy or other work."""
        matrix = playbook.initiatives
        if matrix is None:
            return
        migrations = [
            (index, i) for index, i in enumerate(matrix.initiatives) if i.migration
        ]
        if not migrations:
            return
        canvas = playbook.strategy
        unanswered = [q.key for q in STRATEGY_QUESTIONS if not canvas.answers(q.key)]
        others = len(matrix.initiatives) - len(migrations)
        for index, initiative in migrations:
            path = f"$.initiatives.initiatives[{index}]"
            if canvas.statement is None or unanswered:
                what = ", ".join(unanswered) or "the statement"
                yield _finding(
                    self,
                    path,
                    f"{initiative.name} moves the CRM to another tool, but the "
                    f"strategy it should serve is not defined ({what})",
                    "define the strategy first: a new tool inherits an unclear "
                    "process and bad data",
                )
            if not others:
                yield _finding(
                    self,
                    path,
                    f"{initiative.name} is the only kind of initiative: no process "
                    "or data work comes with it",
                    "plan the process and data changes the migration is for",
                )


@CHECKS.register
@attrs.frozen
class ReportingOnly:
    """The CRM is a working system: stages with criteria, handoffs or routing."""

    kind: ClassVar[str] = "reporting_only"
    pattern: ClassVar[str] = (
        "Treating the CRM as a reporting tool, not a working system."
    )

    def run(self, playbook: Playbook) -> Iterator[Finding]:
        """A finding when there are KPIs but nothing the daily work runs on."""
        if not (playbook.kpis or playbook.goals):
            return
        works = (
            playbook.handoffs
            or playbook.routing is not None
            or any(
                stage.exit_criteria
                for pipeline in playbook.pipelines
                for stage in pipeline.stages
            )
        )
        if not works:
            yield _finding(
                self,
                "$",
                "the playbook measures KPIs but defines no stage exit criteria, "
                "handoffs or routing: the CRM only reports",
                "define what each stage requires and how work is handed off",
            )


@CHECKS.register
@attrs.frozen
class StageWithoutCriteria:
    """Every open stage is a milestone with exit criteria, not a label."""

    kind: ClassVar[str] = "stage_without_criteria"
    pattern: ClassVar[str] = (
        '"Qualified" is a label; "discovery call completed and needs '
        'confirmed" is a stage: an open stage without exit criteria.'
    )

    def run(self, playbook: Playbook) -> Iterator[Finding]:
        """A finding for each open stage with no exit criteria."""
        for p, pipeline in enumerate(playbook.pipelines):
            for s, stage in enumerate(pipeline.stages):
                if stage.kind == "open" and not stage.exit_criteria:
                    yield _finding(
                        self,
                        f"$.pipelines[{p}].stages[{s}]",
                        f"the stage {stage.key} of {pipeline.key} has no exit "
                        "criteria: it is a label, not a milestone",
                        "say what must be true to leave it",
                    )


@CHECKS.register
@attrs.frozen
class InitiativeWithoutOwner:
    """Every initiative is owned by a team or a role of the ownership map."""

    kind: ClassVar[str] = "initiative_without_owner"
    pattern: ClassVar[str] = "Initiatives nobody owns do not happen."

    def run(self, playbook: Playbook) -> Iterator[Finding]:
        """Findings for initiatives without an owner, or with an unknown one."""
        if playbook.initiatives is None:
            return
        parts = set(playbook.parts())
        for index, initiative in enumerate(playbook.initiatives.initiatives):
            path = f"$.initiatives.initiatives[{index}].owner"
            owner = initiative.owner
            if owner is None:
                yield _finding(
                    self, path, f"{initiative.name} has no owner", "name its owner"
                )
            elif playbook.ownership is not None and not (
                {Asset("team", owner), Asset("role", owner)} & parts
            ):
                yield _finding(
                    self,
                    path,
                    f"{initiative.name} is owned by {owner!r}, which is neither a "
                    "team nor a role of the ownership map",
                    "name a team or a role of the map",
                )


@attrs.frozen
class CheckReport:
    """Every finding of the checks run over a playbook.

    Attributes:
        findings: The findings, check by check in the order they ran.
        checks: The kinds of the checks that ran.
    """

    findings: tuple[Finding, ...]
    checks: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """Whether no check found anything."""
        return not self.findings

    def by_check(self) -> dict[str, tuple[Finding, ...]]:
        """The findings grouped by the check that found them."""
        grouped: dict[str, list[Finding]] = {}
        for finding in self.findings:
            grouped.setdefault(finding.check, []).append(finding)
        return {check: tuple(items) for check, items in grouped.items()}

    def __str__(self) -> str:
        if self.ok:
            return f"no findings ({len(self.checks)} checks)"
        lines = [f"{len(self.findings)} findings ({len(self.checks)} checks):"]
        lines.extend(f"  [{f.check}] {f}" for f in self.findings)
        return "\n".join(lines)


def check_playbook(
    playbook: Playbook, checks: Sequence[PlaybookCheck] | None = None
) -> CheckReport:
    """Run every registered check (or ``checks``) over a playbook.

    Raises:
        DataTypeError: When ``playbook`` is not a Playbook, or a check is not
            a registered check kind.

    Examples:
        >>> report = check_playbook(Playbook("Acme"))
        >>> report.ok, len(report.checks)
        (False, 12)
        >>> for check, found in report.by_check().items():
        ...     print(check, len(found))
        strategy:unanswered_question 5
        strategy:no_statement 1
        ownership 1
    """
    if not isinstance(playbook, Playbook):
        raise DataTypeError("playbook", playbook, "a Playbook")
    if checks is None:
        chosen = [cls() for cls in CHECKS.kinds().values()]
    else:
        chosen = list(_v.list_of(checks, "checks", "a list of playbook checks"))
        for index, check in enumerate(chosen):
            if not CHECKS.holds(check):
                raise DataTypeError(
                    f"checks[{index}]", check, "a registered playbook check"
                )
    findings: list[Finding] = []
    for check in chosen:
        findings.extend(check.run(playbook))
    return CheckReport(tuple(findings), tuple(check.kind for check in chosen))
