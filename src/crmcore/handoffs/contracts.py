"""Handoff contracts: what must travel from one team to the next, and how fast.

A [`HandoffContract`][crmcore.handoffs.HandoffContract] is the agreement at
one transition point (marketing to sales at SQL, sales to success at won):
the context that must be captured before the handoff, as exit criteria of
the rule language (required fields, conditions, logged activities,
approvals; vendors' own kinds too); the fields that travel with it (sales'
commitments to the customer); the receiving team's acceptance target in its
business time; and the role to escalate to on a breach.

[`check_handoff`][crmcore.handoffs.check_handoff] answers "may this record
be handed over now?" like a stage decision: every missing item with its
field, expected and actual value, and the fields to prompt for.
[`acceptance`][crmcore.handoffs.acceptance] measures the receiving team's
clock of one handoff.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

import attrs

from crmcore import validators as _v
from crmcore.access import MISSING, field_getter, iterate
from crmcore.business_time import BusinessCalendar
from crmcore.calendar import require_aware
from crmcore.errors import DataError, DataTypeError
from crmcore.handoffs.sla import (
    SlaClock,
    _at_risk_fraction,
    _check_target,
    measure_clock,
)
from crmcore.pipelines import (
    CRITERION_KINDS,
    NEVER_ENTERED,
    Approval,
    ExitCriterion,
    StageContext,
    UnmetCriterion,
)
from crmcore.records import FrozenMap

__all__ = [
    "HandoffContract",
    "HandoffDecision",
    "HandoffOutcome",
    "acceptance",
    "check_handoff",
    "handoff_outcome",
    "handoff_times",
]

_name = _v.name()


def _criteria(values: object) -> tuple[ExitCriterion, ...]:
    items = _v.list_of(values, "requires", "a list of exit criteria")
    for index, item in enumerate(items):
        if not CRITERION_KINDS.holds(item):
            raise DataTypeError(
                f"requires[{index}]",
                item,
                "an exit criterion (required_fields, must_hold, ...)",
            )
    return items


def _carries(values: object) -> tuple[str, ...]:
    return _v.field_paths(values, "carries")


def _check_contract(contract: object) -> HandoffContract:
    if not isinstance(contract, HandoffContract):
        raise DataTypeError("contract", contract, "a HandoffContract")
    return contract


def _at_risk(value: object) -> Decimal:
    return _at_risk_fraction(value)


def _accept_within(_i: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _check_target(value, attribute.name)


@attrs.frozen
class HandoffContract:
    """The agreement at one transition between teams.

    Attributes:
        key: The contract's name, e.g. ``"marketing_to_sales"``.
        from_team: The team handing over.
        to_team: The team receiving.
        trigger: The stage or lifecycle moment that starts the handoff
            (``"sql"``, ``"won"``).
        requires: What must be captured first: exit criteria
            (``RequiredFields``, ``MustHold``, ``RequiredActivity``,
            ``RequiredApproval`` or vendor kinds).
        carries: The fields that travel with the handoff (the receiving
            team's context, e.g. ``"commitments"``).
        accept_within: The receiving team's acceptance target in business time.
        calendar: The receiving team's calendar.
        at_risk: The share of the target after which acceptance is at risk.
        escalate_to: The role to escalate to when acceptance is late.
        name: A title for people.
    """

    key: str = attrs.field(validator=_name)
    from_team: str = attrs.field(validator=_name)
    to_team: str = attrs.field(validator=_name)
    trigger: str = attrs.field(validator=_name)
    requires: tuple[ExitCriterion, ...] = attrs.field(
        default=(), converter=_criteria, kw_only=True
    )
    carries: tuple[str, ...] = attrs.field(default=(), converter=_carries, kw_only=True)
    accept_within: timedelta = attrs.field(
        default=timedelta(hours=8), validator=_accept_within, kw_only=True
    )
    calendar: BusinessCalendar = attrs.field(
        factory=BusinessCalendar,
        validator=_v.instance_of(BusinessCalendar, "a BusinessCalendar"),
        kw_only=True,
    )
    at_risk: Decimal = attrs.field(
        default=Decimal("0.8"), converter=_at_risk, kw_only=True
    )
    escalate_to: str | None = attrs.field(
        default=None, validator=_v.optional(_name), kw_only=True
    )
    name: str = attrs.field(default="", validator=_v.text(), kw_only=True)

    def __attrs_post_init__(self) -> None:
        if self.from_team == self.to_team:
            raise DataError(
                "to_team",
                self.to_team,
                f"a team other than from_team {self.from_team!r}",
            )


@attrs.frozen
class HandoffDecision:
    """The answer to "may this record be handed over now?", with every reason.

    Attributes:
        contract: The contract's key.
        from_team: The team handing over.
        to_team: The team receiving.
        ready: Whether every requirement is met.
        unmet: Every unmet requirement (its ``stage`` is the contract's key).
        prompt_fields: The fields a user interface should ask for.
        context: The carried fields and their values (``MISSING`` when absent).
    """

    contract: str
    from_team: str
    to_team: str
    ready: bool
    unmet: tuple[UnmetCriterion, ...] = ()
    prompt_fields: tuple[str, ...] = ()
    context: Mapping[str, Any] = attrs.field(factory=FrozenMap, converter=FrozenMap)

    def __str__(self) -> str:
        verdict = "ready" if self.ready else "not ready"
        lines = [f"{self.contract} ({self.from_team} -> {self.to_team}): {verdict}"]
        lines.extend(f"  missing: {item}" for item in self.unmet)
        if self.prompt_fields:
            lines.append(f"  ask for: {', '.join(self.prompt_fields)}")
        return "\n".join(lines)


def check_handoff(
    contract: HandoffContract,
    record: object,
    *,
    as_of: datetime,
    activities: Iterable[Any] = (),
    approvals: Iterable[Approval] = (),
) -> HandoffDecision:
    """Check that ``record`` carries what the receiving team needs, with every reason.

    Args:
        contract: The handoff's contract.
        record: The lead, deal or account being handed over.
        as_of: The moment of the check (aware).
        activities: Its engagement events, for activity requirements.
        approvals: Its approvals, for approval requirements.

    Raises:
        DataTypeError: When ``contract`` is not a ``HandoffContract``.
        NaiveDatetimeError: For a naive ``as_of``.

    Examples:
        >>> from datetime import datetime, timezone
        >>> from crmcore.pipelines import RequiredFields
        >>> to_sales = HandoffContract("mql_to_sql", "marketing", "sales", "sql",
        ...     requires=[RequiredFields(["budget", "use_case"])], carries=["use_case"])
        >>> decision = check_handoff(to_sales, {"budget": 5000},
        ...                          as_of=datetime(2026, 3, 2, tzinfo=timezone.utc))
        >>> decision.ready, decision.prompt_fields
        (False, ('use_case',))
    """
    _check_contract(contract)
    now = require_aware(as_of, "as_of")
    context = StageContext(
        record,
        now,
        NEVER_ENTERED,  # a handoff has no stage: all activity counts
        tuple(iterate(activities, "activities")),
        tuple(iterate(approvals, "approvals")),
    )
    unmet: list[UnmetCriterion] = []
    for criterion in contract.requires:
        unmet.extend(criterion.check(context, contract.key))
    prompt: list[str] = []
    for item in unmet:
        if item.field is not None and item.field not in prompt:
            prompt.append(item.field)
    carried = {path: field_getter(path)(record) for path in contract.carries}
    return HandoffDecision(
        contract.key,
        contract.from_team,
        contract.to_team,
        ready=not unmet,
        unmet=tuple(unmet),
        prompt_fields=tuple(prompt),
        context=carried,
    )


HandoffOutcome = Literal["met", "late", "overdue", "pending"]
"""How a handoff stands: accepted by its deadline, accepted after it, still
open after it, or still open before it."""


def handoff_times(
    handoff: object,
    *,
    handed_field: str = "handed_at",
    accepted_field: str = "accepted_at",
    label: str = "",
) -> tuple[datetime, datetime | None]:
    """When a handoff was handed over and (``None`` until then) accepted, checked.

    Args:
        handoff: The handoff record (any object or mapping).
        handed_field: The field holding when it was handed over.
        accepted_field: The field holding when it was accepted.
        label: Added to the field in errors, e.g. ``" (handoff ho-7)"``.

    Raises:
        DataError: When it has no aware handover instant, an acceptance that
            is not an aware instant, or one before the handover.
    """
    _v.check_field_path(handed_field, "handed_field")
    _v.check_field_path(accepted_field, "accepted_field")
    if not isinstance(label, str):
        raise DataTypeError("label", label, "a string")
    handed = field_getter(handed_field)(handoff)
    if not isinstance(handed, datetime):
        raise DataError(
            handed_field + label, handed, "an aware datetime: when it was handed over"
        )
    require_aware(handed, handed_field + label)
    accepted = field_getter(accepted_field)(handoff)
    if accepted is None or accepted is MISSING:
        return handed, None
    if not isinstance(accepted, datetime):
        raise DataError(accepted_field + label, accepted, "an aware datetime or None")
    if require_aware(accepted, accepted_field + label) < handed:
        raise DataError(
            accepted_field + label, accepted, f"an instant at or after {handed_field}"
        )
    return handed, accepted


def handoff_outcome(
    contract: HandoffContract,
    handed_at: datetime,
    accepted_at: datetime | None,
    *,
    as_of: datetime | None,
) -> tuple[HandoffOutcome, timedelta | None]:
    """How one handoff stands, and its business time to acceptance once accepted.

    The judgement of [`acceptance`][crmcore.handoffs.acceptance] (a
    ``fulfilled`` clock is ``met``, a fulfilled ``breached`` one ``late``,
    an open ``breached`` one ``overdue``), without building the clock: the
    handoff KPIs use it. An acceptance after ``as_of`` has not happened yet;
    ``as_of=None`` decides accepted handoffs only.
    """
    deadline = contract.calendar.add(handed_at, contract.accept_within)
    if accepted_at is not None and (as_of is None or accepted_at <= as_of):
        spent = contract.calendar.business_time(handed_at, accepted_at)
        return ("met" if accepted_at <= deadline else "late"), spent
    if as_of is not None and as_of > deadline:
        return "overdue", None
    return "pending", None


def acceptance(
    contract: HandoffContract,
    handoff: object,
    *,
    as_of: datetime,
    handed_field: str = "handed_at",
    accepted_field: str = "accepted_at",
) -> SlaClock:
    """The receiving team's acceptance clock of one handoff, as of an instant.

    Args:
        contract: The handoff's contract (its target, calendar, escalation).
        handoff: The handoff record: when it was handed over and, once it
            was, accepted (``None`` or absent until then).
        as_of: The moment of the question (aware).
        handed_field: The field holding when it was handed over.
        accepted_field: The field holding when it was accepted.

    Raises:
        DataError: When the handoff has no handover instant, or was accepted
            before it was handed over.

    Examples:
        >>> from datetime import datetime, timedelta, timezone
        >>> to_sales = HandoffContract("mql_to_sql", "marketing", "sales", "sql",
        ...     accept_within=timedelta(hours=4), escalate_to="sales_manager")
        >>> t = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)
        >>> clock = acceptance(to_sales, {"handed_at": t}, as_of=t + timedelta(hours=5))
        >>> clock.state, clock.reasons[-1]
        ('breached', 'acceptance: escalate to sales_manager')
    """
    _check_contract(contract)
    handed, accepted = handoff_times(
        handoff, handed_field=handed_field, accepted_field=accepted_field
    )
    changes: list[tuple[datetime, Any]] = []
    if accepted is not None:
        changes.append((accepted, "stopped"))
    clock = measure_clock(
        contract.calendar,
        contract.accept_within,
        handed,
        changes,
        as_of=as_of,
        at_risk=contract.at_risk,
        name="acceptance",
    )
    if clock.breached and contract.escalate_to is not None:
        clock = attrs.evolve(
            clock,
            reasons=(*clock.reasons, f"acceptance: escalate to {contract.escalate_to}"),
        )
    return clock
