"""The playbook of a B2B SaaS company, built in code, checked, and written as JSON.

Run with ``python examples/saas_playbook.py`` to build and check it, or with
``python examples/saas_playbook.py --write examples/playbook.json`` to
write the JSON file that ``crmcore check`` and ``crmcore report`` read
(a test keeps the two the same).

The company sells to mid-market and enterprise accounts. Its strategy
statement: standardize the MQL-to-sales handoff for large accounts at
conversion, improving lead conversion with trustworthy lead source data.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from crmcore.conditions import field
from crmcore.kpis import Goal, KpiReview
from crmcore.lifecycle import intervention_moments
from crmcore.ownership import OwnershipMap, Responsibility, Team
from crmcore.playbook import Definition, FieldSpec, Playbook, check_playbook
from crmcore.quality import DataRule, DataSpec
from crmcore.sample import (
    sample_contracts,
    sample_pipeline,
    sample_router,
    sample_scoring_model,
    sample_sla_policies,
)
from crmcore.segments import b2b_segments
from crmcore.strategy import StrategyCanvas, StrategyStatement, crm_initiatives

START = datetime(2025, 7, 1, tzinfo=UTC)
DEADLINE = datetime(2026, 7, 1, tzinfo=UTC)
MQL = (field("employees") >= 10) & field("source").exists()


def build() -> Playbook:
    """The company's whole CRM strategy as one value."""
    pipeline = sample_pipeline()
    handoffs = sample_contracts()
    ownership = OwnershipMap(
        [
            Team("leadership", name="Leadership", roles=["executive_sponsor"]),
            Team("marketing", name="Marketing"),
            Team("sales", name="Sales", roles=["process_owner"]),
            Team("success", name="Customer success"),
            Team(
                "revops",
                name="Revenue operations",
                roles=["crm_owner", "data_steward", "tool_admin"],
            ),
        ],
        [
            Responsibility(f"pipeline:{pipeline.key}", "crm_owner"),
            *(Responsibility(f"handoff:{h.key}", "process_owner") for h in handoffs),
            Responsibility("kpi:lead_conversion", "crm_owner"),
            Responsibility("kpi:win_rate", "process_owner"),
            Responsibility("kpi:net_revenue_retention", "executive_sponsor"),
            Responsibility("data_spec:lead_source_data", "data_steward"),
            Responsibility("data_spec:account_data", "data_steward"),
        ],
    )
    lead_data = DataSpec(
        "lead_source_data",
        "leads",
        name="lead source data",
        required=["source", "industry", "country", "employees"],
        rules=[DataRule("company_size", field("employees") >= 1)],
        sources=[
            "organic",
            "paid_search",
            "outbound",
            "webinar",
            "event",
            "referral",
            "partner",
        ],
        refreshed="created_at",
        refresh_every="1y",
        owner="data_steward",
        description="Where leads come from decides where the budget goes.",
    )
    account_data = DataSpec(
        "account_data",
        "accounts",
        name="account data",
        required=["name", "industry", "employees", "country", "owner"],
        refreshed="created_at",
        refresh_every="3y",
        owner="data_steward",
    )
    strategy = StrategyCanvas(
        customers=["segment:large_account", "segment:multi_stakeholder"],
        moments=["moment:conversion", "moment:risk"],
        owners=["team:marketing", "team:sales", "handoff:mql_to_sales"],
        metrics=["kpi:lead_conversion", "kpi:win_rate", "kpi:net_revenue_retention"],
        data=["data_spec:lead_source_data", "data_spec:account_data"],
        statement=StrategyStatement(
            "handoff:mql_to_sales",
            "segment:large_account",
            "moment:conversion",
            "kpi:lead_conversion",
            "data_spec:lead_source_data",
        ),
    )
    return Playbook(
        "Northwind Cloud",
        description="The CRM playbook of a B2B SaaS company.",
        strategy=strategy,
        segments=b2b_segments(),
        moments=intervention_moments(),
        pipelines=[pipeline],
        definitions=[
            Definition("mql", "marketing", MQL, description="ten people, a source"),
            Definition("mql", "sales", MQL),
        ],
        ownership=ownership,
        handoffs=handoffs,
        sla=sample_sla_policies(),
        routing=sample_router(),
        scoring=[sample_scoring_model()],
        kpis=[
            KpiReview("lead_conversion", owner="marketing"),
            KpiReview("win_rate", owner="sales"),
            KpiReview("net_revenue_retention", "strategic", owner="leadership"),
        ],
        goals=[
            Goal("lead_conversion", Decimal("0.18"), Decimal("0.25"), START, DEADLINE),
            Goal("win_rate", Decimal("0.20"), Decimal("0.26"), START, DEADLINE),
            Goal(
                "net_revenue_retention",
                Decimal("1.00"),
                Decimal("1.08"),
                START,
                DEADLINE,
            ),
        ],
        data=[lead_data, account_data],
        fields=[
            FieldSpec(
                "fields.commitments",
                "opportunities",
                requested_by="success",
                description="what sales promised, for onboarding",
            )
        ],
        initiatives=crm_initiatives(),
    )


playbook = build()
report = check_playbook(playbook)
print(playbook.statement())
print(report)
for name, impact, difficulty, phase in playbook.initiatives.plan().table():  # type: ignore[union-attr]
    print(f"  {phase:<20} {name} (impact {impact}, difficulty {difficulty})")
assert report.ok, report

if sys.argv[1:2] == ["--write"]:
    Path(sys.argv[2]).write_text(playbook.to_json() + "\n", encoding="utf-8")
    print(f"wrote {sys.argv[2]}")
