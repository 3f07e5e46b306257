"""Every public value type with a hypothesis strategy, shared by the tests."""

from hypothesis import strategies as st

from crmcore.business_time import BusinessCalendar
from crmcore.calendar import Interval, Period, PeriodUnit
from crmcore.handoffs import HandoffContract, SlaPolicies, SlaPolicy
from crmcore.money import Money
from crmcore.ownership import OwnershipMap
from crmcore.pipelines import Pipeline
from crmcore.quality import DataRule, DataSpec
from crmcore.records import (
    Account,
    Activity,
    Contact,
    Lead,
    Opportunity,
    StageChange,
    Subscription,
)
from crmcore.routing import Router
from crmcore.scoring import (
    Band,
    CompoundDecay,
    DecayWindow,
    EventRule,
    FieldValue,
    GradeCriterion,
    GradingProfile,
    HalfLife,
    Holds,
    ItemCount,
    LinearDecay,
    NaiveBayes,
    NumberBand,
    Rule,
    RuleGroup,
    ScoringModel,
)
from crmcore.segments import IcpModel, Segment, Tiering
from crmcore.strategy import PriorityMatrix
from crmcore.testing import (
    accounts,
    activities,
    business_calendars,
    contacts,
    data_specs,
    grading_profiles,
    handoff_contracts,
    icp_models,
    intervals,
    leads,
    money,
    naive_bayes_models,
    opportunities,
    ownership_maps,
    period_units,
    periods,
    pipelines,
    priority_matrices,
    routers,
    scoring_models,
    segments,
    sla_policies,
    stage_changes,
    subscriptions,
    tierings,
)


@st.composite
def sla_policy_sets(draw: st.DrawFn) -> SlaPolicies:
    """Policies with conditions and a default, every key once."""
    chosen = draw(
        st.lists(sla_policies(when=True), max_size=3, unique_by=lambda p: p.key)
    )
    taken = {policy.key for policy in chosen}
    default = draw(sla_policies(when=False).filter(lambda p: p.key not in taken))
    return SlaPolicies(chosen, default)


def _parts(cls: type) -> st.SearchStrategy[object]:
    """Rules of one kind, as the drawn models hold them."""
    return (
        scoring_models()
        .flatmap(
            lambda model: st.sampled_from(
                [rule for group in model.groups for rule in group.rules]
            )
        )
        .filter(lambda rule: type(rule) is cls)
    )


def _features(cls: type) -> st.SearchStrategy[object]:
    """Features of one kind, as the drawn naive Bayes models hold them."""
    return (
        naive_bayes_models()
        .filter(lambda model: any(type(f) is cls for f in model.features))
        .map(lambda model: next(f for f in model.features if type(f) is cls))
    )


# (type, strategy) for every value that round-trips through the converter.
ROUND_TRIPS: list[tuple[type, st.SearchStrategy[object]]] = [
    (Account, accounts()),
    (Contact, contacts()),
    (Lead, leads()),
    (Opportunity, opportunities()),
    (StageChange, stage_changes()),
    (Activity, activities()),
    (Subscription, subscriptions()),
    (Money, money()),
    (Period, periods()),
    (PeriodUnit, period_units()),
    (Interval, intervals()),
    (BusinessCalendar, business_calendars()),
    (Segment, segments()),
    (Tiering, tierings()),
    (IcpModel, icp_models()),
    (Pipeline, pipelines()),
    (SlaPolicy, sla_policies()),
    (SlaPolicies, sla_policy_sets()),
    (HandoffContract, handoff_contracts()),
    (OwnershipMap, ownership_maps()),
    (Router, routers()),
    (PriorityMatrix, priority_matrices()),
    (DataSpec, data_specs()),
    (DataRule, data_specs().filter(lambda s: s.rules).map(lambda s: s.rules[0])),
    (ScoringModel, scoring_models()),
    (GradingProfile, grading_profiles()),
    (NaiveBayes, naive_bayes_models()),
    (RuleGroup, scoring_models().map(lambda model: model.groups[0])),
    (Band, st.builds(Band, st.sampled_from(["A", "B"]), st.none() | st.integers(0, 9))),
    (Rule, _parts(Rule)),
    (EventRule, _parts(EventRule)),
    (GradeCriterion, grading_profiles().map(lambda profile: profile.criteria[0])),
    (LinearDecay, st.builds(LinearDecay, st.integers(1, 100), st.just("30d"))),
    (CompoundDecay, st.builds(CompoundDecay, st.integers(1, 100), st.just("1mo"))),
    (HalfLife, st.builds(HalfLife, st.sampled_from(["14d", "36h"]))),
    (DecayWindow, st.builds(DecayWindow, st.sampled_from(["90d", "1y"]))),
    (FieldValue, _features(FieldValue)),
    (NumberBand, _features(NumberBand)),
    (Holds, _features(Holds)),
    (ItemCount, _features(ItemCount)),
]
