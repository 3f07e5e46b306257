"""A lead's journey from marketing to sales to success, checked at every handoff.

Run with ``python examples/handoff_chain.py``.

1. Marketing qualifies a lead; the router picks the sales rep (and says why);
   the handoff contract checks that sales gets the context it needs.
2. Sales wins the deal; the contract into success checks that the
   commitments made to the customer travel with it.
3. Each receiving team's acceptance clock runs in its own business hours;
   the handoff KPIs and the ownership report close the loop.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs

from crmcore.business_time import BusinessCalendar
from crmcore.conditions import field
from crmcore.handoffs import HandoffContract, acceptance, check_handoff
from crmcore.kpis import handoff_attainment, time_to_accept
from crmcore.ownership import (
    STANDARD_TEAMS,
    OwnershipMap,
    Responsibility,
    assets_of,
    ownership_gaps,
)
from crmcore.pipelines import MustHold, RequiredActivity, RequiredFields
from crmcore.routing import Person, RoundRobin, Router, RoutingRule, route
from crmcore.serialization import from_json, to_json

BERLIN = BusinessCalendar("Europe/Berlin", hours=["09:00-12:30", "13:30-18:00"])
NEW_YORK = BusinessCalendar("America/New_York", hours=["08:00-17:00"])

TO_SALES = HandoffContract(
    "mql_to_sales",
    "marketing",
    "sales",
    "sql",
    requires=[
        RequiredFields(["company", "employees", "use_case"]),
        MustHold(field("employees") >= 20, message="sales takes teams of 20 or more"),
        RequiredActivity("demo_request", since="30d"),
    ],
    carries=["use_case", "source"],
    accept_within=timedelta(hours=2),
    calendar=BERLIN,
    escalate_to="sales_manager",
)
TO_SUCCESS = HandoffContract(
    "won_to_success",
    "sales",
    "success",
    "closed_won",
    requires=[RequiredFields(["commitments", "champion", "go_live"])],
    carries=["commitments", "champion", "go_live"],
    accept_within=timedelta(hours=8),
    calendar=NEW_YORK,
    escalate_to="cs_lead",
)
ROUTER = Router(
    [RoutingRule("by_language", RoundRobin(), match=["language"], prefer=["region"])],
    [
        Person("ines", team="sales", skills=["de", "en", "emea"], calendar=BERLIN),
        Person("jonas", team="sales", skills=["de", "emea"], calendar=BERLIN),
        Person("kim", team="sales", skills=["en", "amer"], calendar=NEW_YORK),
    ],
)


def main() -> None:
    monday_10 = datetime(2026, 3, 2, 9, tzinfo=UTC)  # 10:00 in Berlin
    lead = {
        "id": "lead-42",
        "company": "Nordlicht GmbH",
        "employees": 12,
        "language": "de",
        "region": "emea",
        "source": "webinar",
    }
    activities = [{"kind": "demo_request", "at": monday_10 - timedelta(days=3)}]

    # 1. Marketing hands the lead to sales.
    decision = check_handoff(TO_SALES, lead, as_of=monday_10, activities=activities)
    print(decision)
    lead.update(employees=45, use_case="forecasting across 3 subsidiaries")
    decision = check_handoff(TO_SALES, lead, as_of=monday_10, activities=activities)
    print(decision)
    print("context for sales:", dict(decision.context))
    assignment = route(ROUTER, lead, as_of=monday_10)
    print(assignment)

    # 2. Sales wins the deal and hands the customer to success.
    deal = {"id": "deal-7", "champion": "Dr. Hahn", "go_live": "2026-05-01"}
    won_at = datetime(2026, 3, 20, 16, tzinfo=UTC)
    print(check_handoff(TO_SUCCESS, deal, as_of=won_at))
    deal["commitments"] = "German onboarding; SSO before go-live"
    print(check_handoff(TO_SUCCESS, deal, as_of=won_at))

    # 3. The receiving teams' clocks, in their own hours.
    handoffs = [
        {
            "contract": "mql_to_sales",
            "handed_at": monday_10,
            "accepted_at": monday_10 + timedelta(minutes=50),
        },
        {
            "contract": "won_to_success",
            "handed_at": won_at,
            "accepted_at": None,
        },
    ]
    as_of = datetime(2026, 3, 24, 15, tzinfo=UTC)
    for handoff in handoffs:
        contract = TO_SALES if handoff["contract"] == "mql_to_sales" else TO_SUCCESS
        print(acceptance(contract, handoff, as_of=as_of))
    contracts = [TO_SALES, TO_SUCCESS]
    print(handoff_attainment(handoffs, contracts, as_of=as_of))
    print(time_to_accept(handoffs, contracts, as_of=as_of))

    # Who owns all this? Two gaps: nobody answers for the contract into
    # success, and nobody is the data steward.
    teams = {team.key: team for team in STANDARD_TEAMS}
    ownership = OwnershipMap(
        [
            teams["marketing"],
            attrs.evolve(teams["sales"], roles=["process_owner"]),
            attrs.evolve(
                teams["operations"],
                roles=["crm_owner", "tool_admin", "executive_sponsor"],
            ),
        ],
        [
            Responsibility("handoff:mql_to_sales", "process_owner"),
            *(
                Responsibility(str(asset), "crm_owner")
                for asset in assets_of(TO_SALES, TO_SUCCESS)
                if asset.kind == "field"
            ),
        ],
    )
    print(ownership_gaps(ownership, assets_of(TO_SALES, TO_SUCCESS)))

    # Every definition is data: store it as JSON, load it back.
    assert from_json(to_json(TO_SALES), HandoffContract) == TO_SALES
    assert from_json(to_json(ROUTER), Router) == ROUTER


if __name__ == "__main__":
    main()
