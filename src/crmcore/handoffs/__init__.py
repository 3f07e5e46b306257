"""Handoff contracts between teams, and SLAs in business time.

Two modules, imported from here:

* ``sla``: SLA policies (first-response and resolution targets chosen by
  conditions, pauses, an at-risk threshold) and their clocks, read from a
  record's timeline of status events;
* ``contracts``: handoff contracts (required context as exit criteria, the
  fields that travel, the receiving team's acceptance target, escalation),
  the handoff check and the acceptance clock.

Business time comes from [`crmcore.business_time`][crmcore.business_time];
handoff KPIs (attainment, time to accept, breaches) are accumulators in
[`crmcore.kpis`][crmcore.kpis] like every KPI.
"""

from crmcore.handoffs.contracts import (
    HandoffContract,
    HandoffDecision,
    HandoffOutcome,
    acceptance,
    check_handoff,
    handoff_outcome,
    handoff_times,
)
from crmcore.handoffs.sla import (
    MAX_TARGET,
    ClockMode,
    ClockState,
    SlaClock,
    SlaPolicies,
    SlaPolicy,
    SlaStatus,
    measure_clock,
    sla_status,
    threshold,
)

__all__ = [
    "MAX_TARGET",
    "ClockMode",
    "ClockState",
    "HandoffContract",
    "HandoffDecision",
    "HandoffOutcome",
    "SlaClock",
    "SlaPolicies",
    "SlaPolicy",
    "SlaStatus",
    "acceptance",
    "check_handoff",
    "handoff_outcome",
    "handoff_times",
    "measure_clock",
    "sla_status",
    "threshold",
]
