"""Every public value type with a hypothesis strategy, shared by the tests."""

from hypothesis import strategies as st

from crmcore.business_time import BusinessCalendar
from crmcore.calendar import Interval, Period, PeriodUnit
from crmcore.handoffs import HandoffContract, SlaPolicies, SlaPolicy
from crmcore.money import Money
from crmcore.ownership import OwnershipMap
from crmcore.pipelines import Pipeline
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
from crmcore.segments import IcpModel, Segment, Tiering
from crmcore.testing import (
    accounts,
    activities,
    business_calendars,
    contacts,
    handoff_contracts,
    icp_models,
    intervals,
    leads,
    money,
    opportunities,
    ownership_maps,
    period_units,
    periods,
    pipelines,
    routers,
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
]
