"""crmcore: CRM strategy as typed values and pure functions.

The names below are the public API. Light modules (errors, money, calendar,
records) are imported eagerly; heavier ones (serialization, sample data) load
on first use, so ``import crmcore`` stays fast.

Examples:
    >>> import crmcore
    >>> crmcore.sum_money([crmcore.Money("1.10", "EUR"), crmcore.Money("2.20", "EUR")])
    Money('3.30', 'EUR')
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from crmcore._version import __version__
from crmcore.calendar import (
    DAY,
    MONTH,
    QUARTER,
    WEEK,
    YEAR,
    Interval,
    Period,
    PeriodUnit,
    add_calendar,
    fiscal_quarter,
    fiscal_year,
    period_of,
    periods_between,
    require_aware,
)
from crmcore.errors import (
    CrmcoreError,
    CurrencyMismatchError,
    DataError,
    DataTypeError,
    DefinitionError,
    NaiveDatetimeError,
    Problem,
    UnknownKindError,
)
from crmcore.money import Money, sum_money
from crmcore.records import (
    MISSING,
    Account,
    Activity,
    ActivityLike,
    Columns,
    Contact,
    FrozenMap,
    Lead,
    LeadLike,
    Opportunity,
    OpportunityLike,
    Outcome,
    StageChange,
    StageChangeLike,
    Subscription,
    SubscriptionLike,
    field_getter,
    get_field,
)

if TYPE_CHECKING:
    from crmcore.business_time import BusinessCalendar
    from crmcore.conditions import (
        Condition,
        Duration,
        Explanation,
        all_of,
        any_of,
        at_least,
        compile_condition,
        explain,
        field,
        matches,
        not_,
        parse_condition,
        register_condition,
        to_text,
    )
    from crmcore.handoffs import (
        HandoffContract,
        SlaPolicies,
        SlaPolicy,
        check_handoff,
        sla_status,
    )
    from crmcore.ownership import OwnershipMap, assets_of, ownership_gaps
    from crmcore.pipelines import (
        Pipeline,
        StageDecision,
        StageDefinition,
        StageMoveError,
        TransitionPolicy,
    )
    from crmcore.playbook import Playbook, check_playbook, load_playbook
    from crmcore.quality import DataSpec, data_trust, find_duplicates
    from crmcore.rfm import btyd_summary, calibration_holdout, rfm_scores, rfm_segments
    from crmcore.routing import Person, Router, RoutingRule, route, route_batch
    from crmcore.sample import SampleData, generate_sample
    from crmcore.scoring import (
        EventRule,
        GradingProfile,
        NaiveBayes,
        Rule,
        RuleGroup,
        ScoringModel,
        evaluate_model,
    )
    from crmcore.segments import (
        IcpCriterion,
        IcpModel,
        IcpTier,
        Segment,
        SegmentCounter,
        Tier,
        Tiering,
    )
    from crmcore.serialization import from_json, structure, to_json, unstructure
    from crmcore.stage_analytics import StageAnalytics
    from crmcore.strategy import PriorityMatrix, StrategyCanvas

__all__ = [
    "DAY",
    "MISSING",
    "MONTH",
    "QUARTER",
    "WEEK",
    "YEAR",
    "Account",
    "Activity",
    "ActivityLike",
    "BusinessCalendar",
    "Columns",
    "Condition",
    "Contact",
    "CrmcoreError",
    "CurrencyMismatchError",
    "DataError",
    "DataSpec",
    "DataTypeError",
    "DefinitionError",
    "Duration",
    "EventRule",
    "Explanation",
    "FrozenMap",
    "GradingProfile",
    "HandoffContract",
    "IcpCriterion",
    "IcpModel",
    "IcpTier",
    "Interval",
    "Lead",
    "LeadLike",
    "Money",
    "NaiveBayes",
    "NaiveDatetimeError",
    "Opportunity",
    "OpportunityLike",
    "Outcome",
    "OwnershipMap",
    "Period",
    "PeriodUnit",
    "Person",
    "Pipeline",
    "Playbook",
    "PriorityMatrix",
    "Problem",
    "Router",
    "RoutingRule",
    "Rule",
    "RuleGroup",
    "SampleData",
    "ScoringModel",
    "Segment",
    "SegmentCounter",
    "SlaPolicies",
    "SlaPolicy",
    "StageAnalytics",
    "StageChange",
    "StageChangeLike",
    "StageDecision",
    "StageDefinition",
    "StageMoveError",
    "StrategyCanvas",
    "Subscription",
    "SubscriptionLike",
    "Tier",
    "Tiering",
    "TransitionPolicy",
    "UnknownKindError",
    "__version__",
    "add_calendar",
    "all_of",
    "any_of",
    "assets_of",
    "at_least",
    "btyd_summary",
    "calibration_holdout",
    "check_handoff",
    "check_playbook",
    "compile_condition",
    "data_trust",
    "evaluate_model",
    "explain",
    "field",
    "field_getter",
    "find_duplicates",
    "fiscal_quarter",
    "fiscal_year",
    "from_json",
    "generate_sample",
    "get_field",
    "load_playbook",
    "matches",
    "not_",
    "ownership_gaps",
    "parse_condition",
    "period_of",
    "periods_between",
    "register_condition",
    "require_aware",
    "rfm_scores",
    "rfm_segments",
    "route",
    "route_batch",
    "sla_status",
    "structure",
    "sum_money",
    "to_json",
    "to_text",
    "unstructure",
]

# Public names loaded on first access, mapped to the module defining them.
_LAZY = {
    # stage_analytics() stays in its module: the name is the submodule's.
    "StageAnalytics": "crmcore.stage_analytics",
    "BusinessCalendar": "crmcore.business_time",
    **dict.fromkeys(
        ["OwnershipMap", "assets_of", "ownership_gaps"], "crmcore.ownership"
    ),
    **dict.fromkeys(
        ["Person", "Router", "RoutingRule", "route", "route_batch"], "crmcore.routing"
    ),
    **dict.fromkeys(
        ["HandoffContract", "SlaPolicies", "SlaPolicy", "check_handoff", "sla_status"],
        "crmcore.handoffs",
    ),
    **dict.fromkeys(
        [
            "Pipeline",
            "StageDecision",
            "StageDefinition",
            "StageMoveError",
            "TransitionPolicy",
        ],
        "crmcore.pipelines",
    ),
    **dict.fromkeys(
        [
            "IcpCriterion",
            "IcpModel",
            "IcpTier",
            "Segment",
            "SegmentCounter",
            "Tier",
            "Tiering",
        ],
        "crmcore.segments",
    ),
    **dict.fromkeys(
        ["btyd_summary", "calibration_holdout", "rfm_scores", "rfm_segments"],
        "crmcore.rfm",
    ),
    **dict.fromkeys(
        [
            "Condition",
            "Duration",
            "Explanation",
            "all_of",
            "any_of",
            "at_least",
            "compile_condition",
            "explain",
            "field",
            "matches",
            "not_",
            "parse_condition",
            "register_condition",
            "to_text",
        ],
        "crmcore.conditions",
    ),
    **dict.fromkeys(
        [
            "EventRule",
            "GradingProfile",
            "NaiveBayes",
            "Rule",
            "RuleGroup",
            "ScoringModel",
            "evaluate_model",
        ],
        "crmcore.scoring",
    ),
    "SampleData": "crmcore.sample",
    "generate_sample": "crmcore.sample",
    "from_json": "crmcore.serialization",
    "structure": "crmcore.serialization",
    "to_json": "crmcore.serialization",
    "unstructure": "crmcore.serialization",
    **dict.fromkeys(
        ["Playbook", "check_playbook", "load_playbook"], "crmcore.playbook"
    ),
    **dict.fromkeys(["DataSpec", "data_trust", "find_duplicates"], "crmcore.quality"),
    **dict.fromkeys(["PriorityMatrix", "StrategyCanvas"], "crmcore.strategy"),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'crmcore' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
